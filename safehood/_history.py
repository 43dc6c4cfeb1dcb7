"""Weeks of simulated history written straight into a reading store, so that the wellbeing
digest has each household's own baseline from the start (the demo, the tests).

Only what the digest reads is stored (events and telemetry of motion, door and water
devices), and the detectors never see it: history raises no alerts. Households named as
withdrawing live their last two weeks withdrawn, drawn with the simulator's own habit
knobs: in the first of them they go out half as often, nap every day, get up 45 minutes
later and go to bed 30 minutes earlier; in the second they stop going out and cooking,
stay in bed 90 minutes longer in the morning and an hour longer in the evening, and get up
twice every night. Households named as getting up at night get up twice every night in the
same last week, and are otherwise as usual.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Collection

import orjson

from safehood.protocol import ContractViolation, Message, parse_message
from safehood.simulators import Community, SimulationConfig, simulate
from safehood.store import ReadingStore
from safehood.wellbeing.const import ACTIVITY_KINDS, READ_CHANNELS

DAY_MS = 24 * 3600 * 1000
WEEK_MS = 7 * DAY_MS
_BATCH = 5_000
_TOPIC_RE = re.compile(rb'"topic":"[^"]*/([^/"]+)/([a-z]+)"')


def _changed(community: Community, withdrawing: Collection[str], up_at_night: Collection[str],
             stage: int) -> Community:
    """The community with the ``withdrawing`` households at ``stage`` 1 (withdrawing) or 2
    (withdrawn), and the ``up_at_night`` ones getting up twice every night at stage 2."""
    households = []
    for spec in community.households:
        if spec.id in up_at_night and stage == 2:
            residents = [dataclasses.replace(resident, routine=dataclasses.replace(
                resident.routine, night_trip_weights=(0.0, 0.0, 1.0)))
                for resident in spec.residents]
            spec = dataclasses.replace(spec, residents=tuple(residents))
        elif spec.id in withdrawing:
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
                residents.append(dataclasses.replace(resident, routine=routine,
                                                     cook=resident.cook and stage == 1))
            spec = dataclasses.replace(spec, residents=tuple(residents))
        households.append(spec)
    return dataclasses.replace(community, households=tuple(households))


def backfill_history(store: ReadingStore, community: Community, start_ms: int, end_ms: int, *,
                     seed: int = 0, withdrawing: Collection[str] = (),
                     up_at_night: Collection[str] = (),
                     withdrawal_end_ms: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> int:
    """Simulate ``community`` from ``start_ms`` to ``end_ms`` with no incidents, a week at a
    time, and write what the digest reads to ``store``; returns how many messages.

    ``withdrawing`` names households whose residents withdraw over the two weeks before
    ``withdrawal_end_ms`` (default ``end_ms``), and stay withdrawn after it; ``up_at_night``
    names households that get up twice every night in the week before it, and after it.
    ``progress(done, total)`` is called after each part.
    """
    registry = community.registry
    wanted = {d.device_id.encode() for d in registry.devices.values() if d.kind in ACTIVITY_KINDS}
    channels = {c.encode() for c in READ_CHANNELS}
    changing = bool(withdrawing or up_at_night)
    stages = {stage: _changed(community, withdrawing, up_at_night, stage)
              for stage in (1, 2)} if changing else {}
    withdrawn = (end_ms if withdrawal_end_ms is None else withdrawal_end_ms) - WEEK_MS
    cuts = set(range(start_ms, end_ms, WEEK_MS))
    if changing:
        cuts |= {t for t in (withdrawn - WEEK_MS, withdrawn) if start_ms < t < end_ms}
    bounds = [*sorted(cuts), end_ms]
    written = 0
    for done, (lo, hi) in enumerate(itertools.pairwise(bounds), 1):
        stage = 2 if lo >= withdrawn else 1 if lo >= withdrawn - WEEK_MS else 0
        config = SimulationConfig(seed=seed, start_ms=lo, days=(hi - lo) / DAY_MS, scenarios=(),
                                  rate=0.0)
        batch: list[Message] = []
        for line in simulate(stages.get(stage, community), config).lines():
            topic = _TOPIC_RE.search(line)
            if topic is None or topic.group(1) not in wanted or topic.group(2) not in channels:
                continue
            record = orjson.loads(line)
            try:
                batch.append(parse_message(record["topic"], orjson.dumps(record["payload"]),
                                           record["payload"]["ts"], registry))
            except ContractViolation:
                continue  # a simulated radio fault; ingest would dead-letter it
            if len(batch) >= _BATCH:
                store.write(batch)
                written += len(batch)
                batch.clear()
        store.write(batch)
        written += len(batch)
        if progress is not None:
            progress(done, len(bounds) - 1)
    store.flush()
    return written
