"""Why ``abnormal_routine`` found or missed each routine label of a recorded community.

For each ``abnormal_routine`` label of the communities given (recorded by
``bench/evaluate_routine.py`` under ``--out``), the household's routine detector alone is run
over its traffic, and its days are printed from a week before the label to two days after:
what the detector made of the day (when the household got up, the night's wakings, outings,
activity, water) and every reason's score when the day was checked (1 is the edge of normal),
with the alerts it raised. Only the labelled households are run, so a community takes
seconds, not the minutes of the whole detection::

    .venv/bin/python bench/diagnose_routine.py 303695 402833

With ``--digest``, the labelled households' weekly wellbeing digests instead, as
``bench/evaluate_routine.py`` scores them: each week's status and drift score, every
figure's value against its baseline (z), and the trips out of bed counted each night.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from evaluate_routine import _weeks, digest_readings

from safehood.detectors import DetectorConfig
from safehood.detectors.base import HouseholdScope
from safehood.detectors.routine import REASONS, RoutineDay, RoutineDetector, RoutineObservation, _clock
from safehood.protocol import (
    AlertDecision,
    ContractViolation,
    Label,
    Message,
    Registry,
    parse_message,
    read_labels,
    read_replay,
)
from safehood.simulators import SimulationConfig
from safehood.wellbeing import daily_activity, household_digest
from safehood.wellbeing.const import DEFAULT_WEEKS

TYPE = "abnormal_routine"
_SHORT = {"not_up": "up", "not_home": "home", "night_activity": "night", "no_water": "water",
          "low_activity": "low", "stayed_in": "in", "withdrawn": "wd"}


def household_messages(where: Path, registry: Registry, households: set[str]) -> dict[str, list[Message]]:
    """The messages of ``households`` that the routine detector reads, in recorded order."""
    out: dict[str, list[Message]] = defaultdict(list)
    latest = 0
    for record in read_replay(where / "traffic.jsonl"):
        try:
            message = parse_message(record.topic, record.payload_bytes(), latest, registry)
        except ContractViolation:
            continue
        latest = max(latest, message.ts_ms)
        if message.household in households and message.kind in RoutineDetector.kinds:
            out[message.household].append(message)
    return out


def diagnose(where: Path, config: DetectorConfig) -> str:
    labels = [m for m in read_labels(where / "labels.jsonl") if m.type == TYPE]
    registry = Registry.load(where / "registry.json")
    messages = household_messages(where, registry, {str(m.household) for m in labels})
    lines = [f"== {where.name} =="]
    for label in labels:
        lines += _label_days(label, registry, messages[str(label.household)], config)
    return "\n".join(lines)


def _label_days(label: Label, registry: Registry, messages: Sequence[Message],
                config: DetectorConfig) -> list[str]:
    household = registry.households[str(label.household)]
    scope = HouseholdScope.from_registry(household, registry)
    detector = RoutineDetector(scope, config.routine, config.inactivity, config.door)
    # Every day checked, for the table (the detector keeps only the last two weeks).
    days: dict[date, RoutineDay] = {}
    checks: dict[object, dict[str, float]] = defaultdict(dict)
    score_one = detector.filter.score_one

    def recording(x: RoutineObservation) -> dict[str, object]:
        scores = score_one(x)
        days[x.today.day] = x.today
        for reason, s in scores.items():
            best = checks[x.today.day].get(reason, 0.0)
            checks[x.today.day][reason] = max(best, s.score)
        return scores  # type: ignore[return-value]

    detector.filter.score_one = recording  # type: ignore[method-assign]
    raised: list[AlertDecision] = []
    for message in messages:
        raised += detector.process_one(message)
    if messages:
        raised += detector.advance(messages[-1].ts_ms + 86_400_000)
    extra = label.model_extra or {}
    first, last = scope.local(label.start).date(), scope.local(label.end).date()
    hour = detector.config.day_start_hour
    lines = [f"-- {label.household} {extra.get('scenario')} {extra.get('variant') or ''} "
             f"{first} .. {last} (night hours {scope.night_start:%H:%M}-{scope.night_end:%H:%M}, "
             f"{len(detector.model.days)} days learned, {detector.filter.skipped_days} skipped)",
             "  day         wk up     wake   out  act  wat  " + " ".join(
                 f"{_SHORT[r]:>5}" for r in REASONS)]
    for day in sorted(days):
        if not first - timedelta(days=7) <= day <= last + timedelta(days=2):
            continue
        d = days[day]
        mark = "*" if first <= day <= last else " "
        scores = checks.get(day, {})
        lines.append(
            f" {mark}{day} {'we' if d.weekend else '  '} "
            f"{_clock(d.up_min, hour) if d.up_min is not None else '  -  '} "
            f"{d.night_wakings if d.night_wakings is not None else '-':>4} "
            f"{d.out_min:5.0f} {d.total_activity:>4} {d.total_water:>4}  "
            + " ".join(f"{scores[r]:5.2f}" if r in scores else "    -" for r in REASONS))
    lines.append("  wakings every night (| label): " + "".join(
        ("|" if day in (first, last + timedelta(days=1)) else "")
        + (str(days[day].night_wakings) if days[day].night_wakings is not None else ".")
        for day in sorted(days)))
    window = (label.start, label.end + 36 * 3_600_000)
    hits = [d for d in raised if d.action.value == "raise"]
    lines.append("  raised: " + (", ".join(
        f"{d.evidence.get('reason')}@{scope.local(d.ts_ms):%m-%d %H:%M}"
        + ("" if window[0] <= d.ts_ms <= window[1] else " (outside)") for d in hits) or "none"))
    return lines


def diagnose_digest(where: Path, seed: int, days: float) -> str:
    """The weekly digests of the households with a routine label in the recording at
    ``where`` (community ``seed``, ``days`` long), every week of it."""
    labels = [m for m in read_labels(where / "labels.jsonl") if m.type == TYPE]
    registry = Registry.load(where / "registry.json")
    households = sorted({str(m.household) for m in labels})
    readings = digest_readings(where, registry, households)
    start_ms = SimulationConfig(seed=seed).start_ms
    end_ms = start_ms + int(days * 86_400_000)
    lines = [f"== {where.name} (digest) =="]
    for household_id in households:
        household = registry.households[household_id]
        devices = {d.device_id: d for d in registry.household_devices(household_id)}
        scope = HouseholdScope.from_registry(household, registry)
        days_seen = daily_activity(household, devices, readings[household_id])
        lines.append(f"-- {household_id} (night hours {household.night_start:%H:%M}-"
                     f"{household.night_end:%H:%M})")
        for label in (m for m in labels if str(m.household) == household_id):
            lines.append(f"  label {(label.model_extra or {}).get('scenario')}: "
                         f"{scope.local(label.start):%m-%d %H:%M} .. "
                         f"{scope.local(label.end):%m-%d %H:%M}")
        weeks = _weeks(start_ms, end_ms, scope.zone)
        for n, week in enumerate(weeks):
            digest = household_digest(household_id, household.site, days_seen,
                                      weeks[max(0, n + 1 - DEFAULT_WEEKS):n + 1])
            figures = " ".join(
                f"{m.metric.name}={m.value:.2f}" + (f"({m.z:+.1f})" if m.z is not None else "")
                for m in digest.metrics if m.value is not None)
            trips = "".join(str(days_seen[d].night_bouts) if d in days_seen else "."
                            for d in week.days())
            lines.append(f"  {week} {digest.status.value:8} {digest.score:5.2f} trips {trips}  "
                         f"{figures}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seeds", type=int, nargs="+", help="community seeds to diagnose")
    parser.add_argument("--population", default="diverse")
    parser.add_argument("--out", type=Path, default=Path("bench-out/routine"))
    parser.add_argument("--thresholds", type=Path, help="detector thresholds file")
    parser.add_argument("--digest", action="store_true",
                        help="the labelled households' weekly wellbeing digests instead")
    parser.add_argument("--days", type=float, default=42.0,
                        help="the recordings' length, for --digest (default 42)")
    args = parser.parse_args(argv)
    config = DetectorConfig.load(args.thresholds) if args.thresholds else DetectorConfig()
    for seed in args.seeds:
        where = args.out / f"{args.population}-{seed}"
        print(diagnose_digest(where, seed, args.days) if args.digest else diagnose(where, config),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
