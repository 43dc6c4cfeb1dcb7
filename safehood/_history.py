"""Weeks of simulated history written straight into a reading store, so that the wellbeing
digest has each household's own baseline from the start (the demo, the tests).

Only the readings the digest reads (motion, door and water devices) are stored, and the
detectors never see them: history raises no alerts. Households named as withdrawing live
their last two weeks withdrawn, drawn with the simulator's own habit knobs: in the first of
them they go out half as often, nap every day, get up 45 minutes later and go to bed 30
minutes earlier; in the second they stop going out, stay in bed 90 minutes longer in the
morning and an hour longer in the evening, and get up twice every night.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from collections.abc import Collection

import orjson
from tqdm import tqdm

from safehood.protocol import ContractViolation, Message, parse_message
from safehood.simulators import Community, SimulationConfig, simulate
from safehood.store import ReadingStore
from safehood.wellbeing._features import ACTIVITY_KINDS

WEEK_MS = 7 * 24 * 3600 * 1000
_BATCH = 5_000


def _withdrawn(community: Community, withdrawing: Collection[str], stage: int) -> Community:
    """The community with the ``withdrawing`` households at ``stage`` 1 (withdrawing) or 2
    (withdrawn)."""
    households = []
    for spec in community.households:
        if spec.id in withdrawing:
            residents = []
            for resident in spec.residents:
                routine = resident.routine
                outing = 0.7 if routine.outing_share is None else routine.outing_share
                routine = dataclasses.replace(
                    routine, nap_share=1.0, afternoon_outing_share=0.0,
                    wake_shift_min=routine.wake_shift_min + 45 * stage,
                    bed_shift_min=routine.bed_shift_min - 30 * stage,
                    outing_share=outing / 2 if stage == 1 else 0.0,
                    night_trip_weights=routine.night_trip_weights if stage == 1 else (0.0, 0.0, 1.0),
                )
                residents.append(dataclasses.replace(resident, routine=routine))
            spec = dataclasses.replace(spec, residents=tuple(residents))
        households.append(spec)
    return dataclasses.replace(community, households=tuple(households))


def _phases(community: Community, start_ms: int, end_ms: int,
            withdrawing: Collection[str]) -> list[tuple[Community, int, int]]:
    if not withdrawing:
        return [(community, start_ms, end_ms)]
    phases = []
    bounds = [start_ms, max(start_ms, end_ms - 2 * WEEK_MS), max(start_ms, end_ms - WEEK_MS), end_ms]
    for stage, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        if hi > lo:
            phases.append((_withdrawn(community, withdrawing, stage) if stage else community, lo, hi))
    return phases


def backfill_history(store: ReadingStore, community: Community, start_ms: int, end_ms: int, *,
                     seed: int = 0, withdrawing: Collection[str] = (),
                     progress: bool = False) -> int:
    """Simulate ``community`` from ``start_ms`` to ``end_ms`` with no incidents and write its
    motion, door and water readings to ``store``; returns how many were written.

    ``withdrawing`` names households whose residents withdraw over the last two weeks.
    Progress (a bar per simulated day) goes to stderr when ``progress`` is true.
    """
    registry = community.registry
    wanted = {d.device_id for d in registry.devices.values() if d.kind in ACTIVITY_KINDS}
    days = (end_ms - start_ms) / (WEEK_MS / 7)
    bar = tqdm(total=round(days), unit="day", desc="history", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    written = 0
    for phase, lo, hi in _phases(community, start_ms, end_ms, withdrawing):
        config = SimulationConfig(seed=seed, start_ms=lo, days=(hi - lo) / (WEEK_MS / 7),
                                  scenarios=(), rate=0.0)
        batch: list[Message] = []
        for sim in simulate(phase, config):
            if sim.topic.split("/")[-2] not in wanted:
                continue
            try:
                batch.append(parse_message(sim.topic, orjson.dumps(sim.payload), sim.publish_ms,
                                           registry))
            except ContractViolation:
                continue  # a simulated radio fault; ingest would dead-letter it
            if len(batch) >= _BATCH:
                store.write(batch)
                written += len(batch)
                batch.clear()
        store.write(batch)
        written += len(batch)
        bar.update(round((hi - lo) / (WEEK_MS / 7)))
    store.flush()
    bar.close()
    return written

