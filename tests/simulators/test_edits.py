"""Scenarios read a household's routines and return edits; only the unit applies them."""

from __future__ import annotations

import copy
import random
import typing
from collections.abc import Sequence

from safehood.simulators import SCENARIOS, Community, SimulationConfig
from safehood.simulators._edits import DoorCycle, Edit, Label, Override, SilentDeathLabel, Skip
from safehood.simulators._routines import Routines
from safehood.simulators._scenarios import ScenarioInstance, scenario_edits
from safehood.simulators._timeline import TOILET
from safehood.simulators.const import HOUR_MS

_EDIT_TYPES = typing.get_args(Edit)


def _flat(edits: Sequence[Edit]) -> list[Edit]:
    """The edits, with those a door cycle's closing time decides (as if it closed at once)."""
    out: list[Edit] = []
    for edit in edits:
        out.append(edit)
        if isinstance(edit, DoorCycle) and edit.then is not None:
            out.extend(_flat(edit.then(edit.t)))
    return out


def test_every_scenario_returns_edits_and_leaves_the_routines_as_they_were() -> None:
    community = Community.generate(12, seed=5)
    config = SimulationConfig(seed=5, days=2.0)
    at = config.start_ms + 10 * HOUR_MS
    for index, (name, scenario) in enumerate(SCENARIOS.items()):
        spec = next(h for h in community.households if scenario.eligible(h))
        routines = Routines(spec, config.seed, config.start_ms, config.end_ms)
        routines.ensure(config.end_ms + HOUR_MS)
        before = copy.deepcopy((routines.timelines, routines.visits))
        resident, device = scenario.pick(spec, random.Random(index))
        inst = ScenarioInstance(name, at, household=spec.id, index=index, resident=resident,
                                device=device)

        edits = _flat(scenario_edits(routines, inst))

        assert edits and all(isinstance(edit, _EDIT_TYPES) for edit in edits), name
        assert any(isinstance(edit, Label | SilentDeathLabel | Skip) for edit in edits), name
        after = (routines.timelines, routines.visits)
        assert [t.segments for t in after[0].values()] == \
            [t.segments for t in before[0].values()], name
        assert after[1] == before[1], name


def test_night_trips_make_each_changed_night_twice_the_usual_trips_and_one_more() -> None:
    """Every night the scenario changes holds exactly twice its own trips plus one: none of
    the extra trips is lost for falling too close to another."""
    scenario = SCENARIOS["night_trips"]
    config = SimulationConfig(seed=11, days=30.0)
    community = Community.generate(12, seed=11)
    nights = 0
    for index, spec in enumerate(h for h in community.households if scenario.eligible(h)):
        routines = Routines(spec, config.seed, config.start_ms, config.end_ms)
        routines.ensure(config.end_ms + HOUR_MS)
        resident, device = scenario.pick(spec, random.Random(index))
        inst = ScenarioInstance("night_trips", config.start_ms + 10 * 24 * HOUR_MS,
                                household=spec.id, index=index, resident=resident, device=device)
        for edit in scenario_edits(routines, inst):
            if not isinstance(edit, Override):
                continue
            usual = [s for s in routines.timelines[edit.resident_id].segments
                     if edit.start <= s.start < edit.end and s.act == TOILET]
            changed = [s for s in edit.segments if s.act == TOILET]
            assert len(changed) == 2 * len(usual) + 1, (spec.id, edit.start)
            nights += 1
    assert nights >= 20
