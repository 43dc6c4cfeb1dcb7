"""Running a simulation: plan the incidents, generate every unit, order the traffic.

Units (buildings' shared spaces first, then households) are generated in chunks of
consecutive units; each chunk's lines are sorted as bytes (publish time first, then content),
spilled to a run file when there are several chunks, and the runs are merged. Sorting on the
whole line makes the order total, so the result does not depend on the chunk size or on how
many worker processes generated the chunks: a seed always gives the same bytes.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from safehood.protocol import Label, parse_ts_ms, write_jsonl
from safehood.protocol.const import DEFAULT_TOPIC_PREFIX

from ._community import Community
from ._scenarios import (
    INCIDENT_SCENARIOS,
    SCENARIOS,
    ScenarioInstance,
    ScenarioQueue,
    ScenarioRequest,
    plan_scenarios,
    scenario_edits,
)
from ._transmitter import Radio
from ._units import BuildingUnit, HouseholdUnit
from .const import CHUNK_MESSAGES, DAY_MS, DEFAULT_RATE, DEFAULT_START

_MESSAGES_PER_HOUSEHOLD_DAY = 1_600  # a rough figure, only to size chunks


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What to simulate and how; the community is generated separately.

    ``start_ms`` is the event time the simulation starts at (epoch ms, a fixed date by
    default so that files never depend on the wall clock); ``days`` may be fractional.
    ``scenarios`` are the names random incidents are drawn from (by default the short
    incidents; the multi-week routine changes and the hard negatives the fall rules take for
    a fall only when named), ``rate`` how many per 100 household-days (each name at least
    once), ``requests`` incidents at chosen times.
    """

    seed: int = 0
    start_ms: int = field(default_factory=lambda: parse_ts_ms(DEFAULT_START))
    days: float = 1.0
    scenarios: tuple[str, ...] = INCIDENT_SCENARIOS
    rate: float = DEFAULT_RATE
    requests: tuple[ScenarioRequest, ...] = ()
    radio: Radio = field(default_factory=Radio)
    topic_prefix: str = DEFAULT_TOPIC_PREFIX

    def __post_init__(self) -> None:
        if not self.days > 0:
            raise ValueError("days must be greater than 0")
        if self.rate < 0:
            raise ValueError("the incident rate cannot be negative")
        unknown = [n for n in self.scenarios if n not in SCENARIOS]
        if unknown:
            raise ValueError(f"unknown scenario {', '.join(unknown)}")

    @property
    def end_ms(self) -> int:
        return self.start_ms + int(self.days * DAY_MS)


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One message of a simulation, as published: ``publish_ms`` is when it goes out (a
    duplicate or a retry goes out after the event time in its payload)."""

    publish_ms: int
    topic: str
    payload: dict[str, Any]
    retain: bool = False


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    """Counts of a finished recording (also written as ``summary.json``)."""

    households: int
    devices: int
    messages: int
    labels: int
    start_ms: int
    end_ms: int
    wall_s: float
    counts: dict[str, int]
    labels_by_type: dict[str, int]
    labels_by_scenario: dict[str, int]
    notes: tuple[str, ...]

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def households_per_s(self) -> float:
        return self.households / self.wall_s if self.wall_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "households": self.households, "devices": self.devices, "messages": self.messages,
            "labels": self.labels, "start": self.start_ms, "end": self.end_ms,
            "wall_s": round(self.wall_s, 3), "messages_per_s": round(self.messages_per_s, 1),
            "households_per_s": round(self.households_per_s, 2), "counts": self.counts,
            "labels_by_type": self.labels_by_type, "labels_by_scenario": self.labels_by_scenario,
            "notes": list(self.notes),
        }


def plan(community: Community, config: SimulationConfig) -> tuple[list[ScenarioInstance], list[str]]:
    """The incidents of ``config`` in ``community`` (see :func:`plan_scenarios`)."""
    return plan_scenarios(
        community, seed=config.seed, start_ms=config.start_ms, end_ms=config.end_ms,
        names=config.scenarios, rate=config.rate, requests=config.requests,
    )


@dataclass(slots=True)
class _ChunkResult:
    lines: list[bytes]
    labels: list[dict[str, Any]]
    stats: Counter[str]
    notes: list[str]
    units: int


def apply_due(unit: HouseholdUnit, scenarios: ScenarioQueue, b: int) -> None:
    """Apply the edits of ``unit``'s scenarios due before it generates the window ending at
    ``b``.

    Scenarios are applied a day ahead: a long segment (a night's sleep) generates its
    traffic in the window where it starts, so the scenario must already have cut it.
    """
    unit.routines.ensure(b + 2 * DAY_MS)
    for inst in scenarios.take_due(b + DAY_MS):
        unit.apply(scenario_edits(unit.routines, inst))


def _unit(community: Community, config: SimulationConfig, index: int,
          instances: dict[str, list[ScenarioInstance]]) -> BuildingUnit | HouseholdUnit:
    buildings = len(community.buildings)
    if index < buildings:
        b = community.buildings[index]
        timezone = community.households[0].timezone
        return BuildingUnit(b, config.seed, config.radio, config.topic_prefix, config.start_ms,
                            config.end_ms, timezone)
    spec = community.households[index - buildings]
    unit = HouseholdUnit(spec, config.seed, config.radio, config.topic_prefix, config.start_ms,
                         config.end_ms)
    apply_due(unit, ScenarioQueue(instances.get(spec.id, ())), config.end_ms)
    return unit


def _run_chunk(community: Community, config: SimulationConfig,
               instances: dict[str, list[ScenarioInstance]], lo: int, hi: int,
               progress: Callable[[int], object] | None = None) -> _ChunkResult:
    lines: list[bytes] = []
    labels: list[dict[str, Any]] = []
    stats: Counter[str] = Counter()
    notes: list[str] = []
    for index in range(lo, hi):
        unit = _unit(community, config, index, instances)
        unit_lines, unit_labels = unit.run(config.start_ms, config.end_ms)
        lines.extend(unit_lines)
        labels.extend(unit_labels)
        stats.update(unit.stats)
        stats["beyond_end"] += unit.leftover()
        notes.extend(unit.skipped)
        if unit.labels:
            notes.extend(f"unfinished label {label['type']} in {label.get('household')}"
                         for label in unit.labels)
        if progress is not None and isinstance(unit, HouseholdUnit):
            progress(1)
    lines.sort()
    return _ChunkResult(lines, labels, stats, notes, hi - lo)


def _group(instances: Sequence[ScenarioInstance]) -> dict[str, list[ScenarioInstance]]:
    by_household: dict[str, list[ScenarioInstance]] = {}
    for inst in instances:
        by_household.setdefault(inst.household, []).append(inst)
    return by_household


def _label_models(labels: list[dict[str, Any]]) -> list[Label]:
    models = [Label.model_validate(label) for label in labels]
    models.sort(key=lambda m: (m.start, m.type, m.household or "", m.device_id or "", m.end))
    return models


class Simulation:
    """A whole simulation generated in memory: for tests, demos and small communities.

    Iterating gives :class:`SimMessage` in publish order; :attr:`labels` holds the ground
    truth; :meth:`lines` the replay-file lines. Use :func:`write_recording` for large runs.
    """

    def __init__(self, community: Community, config: SimulationConfig) -> None:
        self.community = community
        self.config = config
        self.instances, notes = plan(community, config)
        units = len(community.buildings) + len(community.households)
        result = _run_chunk(community, config, _group(self.instances), 0, units)
        self._lines = result.lines  # publish-time prefixed
        self.labels: list[Label] = _label_models(result.labels)
        self.stats = result.stats
        self.notes: tuple[str, ...] = tuple(notes + result.notes)

    def lines(self) -> list[bytes]:
        """Replay-file lines (``{"topic", "payload"[, "retain"]}`` + newline), in order."""
        return [line[13:] for line in self._lines]

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[SimMessage]:
        for line in self._lines:
            record = orjson.loads(line[13:])
            yield SimMessage(int(line[:13]), record["topic"], record["payload"],
                             bool(record.get("retain", False)))


def simulate(community: Community, config: SimulationConfig | None = None) -> Simulation:
    """Simulate ``community`` in memory (see :class:`Simulation`)."""
    return Simulation(community, config or SimulationConfig(seed=community.seed))


# -- recordings on disk -------------------------------------------------------------------------

_CHUNK_STATE: dict[str, Any] = {}


def _init_worker(community: Community, config: SimulationConfig,
                 instances: dict[str, list[ScenarioInstance]], run_dir: str) -> None:
    _CHUNK_STATE.update(community=community, config=config, instances=instances, run_dir=run_dir)


def _chunk_to_file(number: int, lo: int, hi: int) -> tuple[int, str, int, list[dict[str, Any]],
                                                           Counter[str], list[str], int]:
    state = _CHUNK_STATE
    result = _run_chunk(state["community"], state["config"], state["instances"], lo, hi)
    path = os.path.join(state["run_dir"], f"run-{number:05d}.bin")
    with open(path, "wb") as handle:
        handle.writelines(result.lines)
    return number, path, len(result.lines), result.labels, result.stats, result.notes, result.units


def write_recording(
    out_dir: str | Path,
    community: Community,
    config: SimulationConfig,
    *,
    workers: int = 1,
    progress: bool = True,
) -> RecordingSummary:
    """Write ``registry.json``, ``traffic.jsonl``, ``labels.jsonl`` and ``summary.json``.

    ``workers`` processes generate chunks of households in parallel; the output is the same
    for any number of workers. Progress goes to stderr when ``progress`` is true.
    """
    began = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    instances, notes = plan(community, config)
    grouped = _group(instances)
    community.registry.dump(out / "registry.json")
    units = len(community.buildings) + len(community.households)
    per_chunk = max(1, int(CHUNK_MESSAGES / (_MESSAGES_PER_HOUSEHOLD_DAY * config.days)))
    bounds = [(lo, min(units, lo + per_chunk)) for lo in range(0, units, per_chunk)]
    labels: list[dict[str, Any]] = []
    stats: Counter[str] = Counter()
    traffic = out / "traffic.jsonl"
    bar = tqdm(total=len(community.households), unit="household", desc="simulate",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    households_before = len(community.buildings)
    if len(bounds) == 1:
        result = _run_chunk(community, config, grouped, 0, units, bar.update)
        bar.close()
        with open(traffic, "wb") as handle:
            handle.writelines(line[13:] for line in result.lines)
        labels, stats, notes = result.labels, result.stats, notes + result.notes
        messages = len(result.lines)
    else:
        run_dir = out / f".runs-{os.getpid()}"
        run_dir.mkdir(exist_ok=True)
        try:
            runs: dict[int, tuple[str, int]] = {}
            jobs = [(i, lo, hi) for i, (lo, hi) in enumerate(bounds)]
            if workers > 1:
                context = multiprocessing.get_context("fork")
                with ProcessPoolExecutor(
                    max_workers=workers, mp_context=context, initializer=_init_worker,
                    initargs=(community, config, grouped, str(run_dir)),
                ) as pool:
                    futures = [pool.submit(_chunk_to_file, *job) for job in jobs]
                    for future in as_completed(futures):
                        number, path, count, chunk_labels, chunk_stats, chunk_notes, _ = future.result()
                        runs[number] = (path, count)
                        labels.extend(chunk_labels)
                        stats.update(chunk_stats)
                        notes.extend(chunk_notes)
                        bar.update(_households_in(jobs[number], households_before))
            else:
                _init_worker(community, config, grouped, str(run_dir))
                for job in jobs:
                    number, path, count, chunk_labels, chunk_stats, chunk_notes, _ = _chunk_to_file(*job)
                    runs[number] = (path, count)
                    labels.extend(chunk_labels)
                    stats.update(chunk_stats)
                    notes.extend(chunk_notes)
                    bar.update(_households_in(job, households_before))
            bar.close()
            messages = sum(count for _, count in runs.values())
            _merge([runs[i][0] for i in sorted(runs)], traffic, messages, progress)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    models = _label_models(labels)
    with open(out / "labels.jsonl", "wb") as handle:
        write_jsonl(handle, models)
    summary = RecordingSummary(
        households=len(community.households),
        devices=len(community.registry.devices),
        messages=messages,
        labels=len(models),
        start_ms=config.start_ms,
        end_ms=config.end_ms,
        wall_s=time.perf_counter() - began,
        counts=dict(sorted(stats.items())),
        labels_by_type=dict(sorted(Counter(m.type for m in models).items())),
        labels_by_scenario=dict(sorted(Counter(str(getattr(m, "scenario", "")) for m in models).items())),
        notes=tuple(notes),
    )
    (out / "summary.json").write_bytes(orjson.dumps(summary.to_json(), option=orjson.OPT_INDENT_2))
    return summary


def _households_in(job: tuple[int, int, int], buildings: int) -> int:
    _, lo, hi = job
    return max(0, hi - max(lo, buildings))


def _merge(paths: list[str], target: Path, total: int, progress: bool) -> None:
    handles = [open(path, "rb") for path in paths]  # noqa: SIM115 - closed below
    bar = tqdm(total=total, unit="msg", unit_scale=True, desc="merge", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    try:
        with open(target, "wb", buffering=1 << 20) as out:
            batch: list[bytes] = []
            for line in heapq.merge(*handles):
                batch.append(line[13:])
                if len(batch) >= 50_000:
                    out.writelines(batch)
                    bar.update(len(batch))
                    batch.clear()
            out.writelines(batch)
            bar.update(len(batch))
    finally:
        bar.close()
        for handle in handles:
            handle.close()
