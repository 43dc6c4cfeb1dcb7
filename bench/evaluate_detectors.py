"""Detection quality of the rule detectors on the simulator's labelled recordings.

Simulates a community (by default 100 households for 7 days) for several seeds, runs the
offline detector (``safehood detect``) over each recording, scores the alerts against the
labels (``safehood evaluate``), and prints the table per seed and for all seeds together,
with the acceptance checks of the detection issue. A PNG of the pooled scores is written
next to the recordings.

    .venv/bin/python bench/evaluate_detectors.py --households 100 --days 7 --seeds 1 2 3

Recordings are kept under ``--out`` (default ``bench-out/detectors``) and reused when their
parameters match, so a second run only repeats detection.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import orjson
from tqdm import tqdm

from safehood.commands.detect import DetectSummary, detect
from safehood.detectors import DetectorConfig
from safehood.evaluation import Scorecard, format_table, plot, score
from safehood.protocol import Alert, Label, Registry, read_labels, write_jsonl
from safehood.simulators import Community, SimulationConfig, write_recording

MUST_BE_PERFECT = ("fire", "sos", "forced_entry", "water_leak")
AT_LEAST_90 = ("fall", "inactivity", "night_wandering")


def recording(out: Path, households: int, days: float, seed: int, rate: float,
              workers: int) -> Path:
    """Simulate one recording into ``out/seed-N`` unless it is there already."""
    where = out / f"seed-{seed}"
    stamp = {"households": households, "days": days, "seed": seed, "rate": rate}
    meta = where / "bench.json"
    if meta.exists() and json.loads(meta.read_text()) == stamp \
            and (where / "traffic.jsonl").exists():
        return where
    community = Community.generate(households, seed=seed)
    summary = write_recording(where, community,
                              SimulationConfig(seed=seed, days=days, rate=rate),
                              workers=workers, progress=True)
    print(f"seed {seed}: simulated {summary.messages} messages, {summary.labels} labels "
          f"in {summary.wall_s:.0f} s", file=sys.stderr)
    meta.write_text(json.dumps(stamp))
    return where


def run_detect(where: Path, config: DetectorConfig | None) -> tuple[list[Alert], DetectSummary]:
    registry = Registry.load(where / "registry.json")
    traffic = where / "traffic.jsonl"
    began = time.perf_counter()
    with tqdm(total=traffic.stat().st_size, unit="B", unit_scale=True, desc="detect",
              file=sys.stderr, mininterval=1.0) as bar:
        alerts, summary = detect(registry, traffic, config=config, progress=bar.update)
    wall = time.perf_counter() - began
    with open(where / "alerts.jsonl", "wb") as handle:
        write_jsonl(handle, alerts)
    print(f"{where.name}: {summary.line()} in {wall:.0f} s "
          f"({summary.messages / wall:,.0f} messages/s)", file=sys.stderr)
    return alerts, summary


def acceptance(card: Scorecard) -> list[tuple[str, bool]]:
    checks = []
    for name in MUST_BE_PERFECT:
        result = card.score(name)
        ok = result is not None and result.labels > 0 and result.recall == 1.0
        checks.append((f"{name} recall 100%", ok))
    for name in AT_LEAST_90:
        result = card.score(name)
        ok = result is not None and result.recall is not None and result.recall >= 0.9
        checks.append((f"{name} recall >= 90%", ok))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rate", type=float, default=30.0,
                        help="incidents per 100 household-days (default 30)")
    parser.add_argument("--workers", type=int, default=1, help="simulator processes")
    parser.add_argument("--thresholds", type=Path, help="detector thresholds file")
    parser.add_argument("--out", type=Path, default=Path("bench-out/detectors"))
    args = parser.parse_args(argv)
    config = DetectorConfig.load(args.thresholds) if args.thresholds else None
    args.out.mkdir(parents=True, exist_ok=True)

    all_labels: list[Label] = []
    all_alerts: list[Alert] = []
    household_days = 0.0
    for seed in args.seeds:
        where = recording(args.out, args.households, args.days, seed, args.rate, args.workers)
        alerts, _ = run_detect(where, config)
        labels = read_labels(where / "labels.jsonl")
        days = args.households * args.days
        card = score(labels, alerts, household_days=days)
        print(f"\n== seed {seed}: {args.households} households x {args.days:g} days ==")
        print(format_table(card))
        all_labels += labels
        # Alert ids restart with every run: keep them apart when pooling seeds.
        all_alerts += [a.model_copy(update={"id": f"s{seed}-{a.id}"}) for a in alerts]
        household_days += days

    pooled = score(all_labels, all_alerts, household_days=household_days)
    print(f"\n== all seeds ({', '.join(map(str, args.seeds))}): "
          f"{len(args.seeds)} x {args.households} households x {args.days:g} days ==")
    print(format_table(pooled))
    png = args.out / "scores.png"
    plot(pooled, png, title=f"safehood rule detectors: {len(args.seeds)} seeds x "
                            f"{args.households} households x {args.days:g} days")
    (args.out / "scores.json").write_bytes(orjson.dumps(pooled.as_dict(),
                                                        option=orjson.OPT_INDENT_2))
    print(f"\nplot: {png}")
    print("\nacceptance:")
    checks = acceptance(pooled)
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    if pooled.missed:
        print("\nmissed labels:")
        for label in pooled.missed:
            print(f"  {label.type} {label.household} {label.resident or ''} "
                  f"{label.device_id or ''} {label.model_extra}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
