"""Why ``abnormal_routine`` found or missed each routine label of a recorded community.

For each ``abnormal_routine`` label of the communities given (recorded by
``bench/evaluate_routine.py`` under ``--out``), the household's routine detector alone is run
over its traffic, and its days are printed from a week before the label to two days after:
what the detector made of the day (when the household got up, the night's wakings, outings,
activity, water) and every reason's score when the day was checked (1 is the edge of normal),
with the alerts it raised. Only the labelled households are run, so a community takes
seconds, not the minutes of the whole detection::

    .venv/bin/python bench/diagnose_routine.py 303695 402833
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict, deque
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from safehood.detectors import DetectorConfig
from safehood.detectors.base import HouseholdScope
from safehood.detectors.routine import REASONS, RoutineDetector, RoutineObservation, _clock
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
    detector.recent = deque(maxlen=64)  # every day, for the table
    checks: dict[object, dict[str, float]] = defaultdict(dict)
    score_one = detector.filter.score_one

    def recording(x: RoutineObservation) -> dict[str, object]:
        scores = score_one(x)
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
    days = {d.day: d for d in detector.recent}
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
    window = (label.start, label.end + 36 * 3_600_000)
    hits = [d for d in raised if d.action.value == "raise"]
    lines.append("  raised: " + (", ".join(
        f"{d.evidence.get('reason')}@{scope.local(d.ts_ms):%m-%d %H:%M}"
        + ("" if window[0] <= d.ts_ms <= window[1] else " (outside)") for d in hits) or "none"))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seeds", type=int, nargs="+", help="community seeds to diagnose")
    parser.add_argument("--population", default="diverse")
    parser.add_argument("--out", type=Path, default=Path("bench-out/routine"))
    parser.add_argument("--thresholds", type=Path, help="detector thresholds file")
    args = parser.parse_args(argv)
    config = DetectorConfig.load(args.thresholds) if args.thresholds else DetectorConfig()
    for seed in args.seeds:
        print(diagnose(args.out / f"{args.population}-{seed}", config), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
