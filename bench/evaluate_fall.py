"""Fall detection end to end, rules against the learned classifier, on the same communities.

Each community is drawn from the simulator's diverse population with a seed of its own and
simulated with only the wearable scenarios as incidents (falls the resident cannot get up
from, falls they get up from, and the hard negatives: a dropped band, sitting down hard, a
jump, and the three the rules fall for: slumping onto a sofa and staying there, taking the
band off onto a table, flopping onto a bed to nap), on top of every resident's ordinary days.
Its wearable traffic runs through the offline detector twice, once with ``fall.method:
rules`` and once with ``learned`` (the shipped model, or ``--model``), and each run is
scored against the labels (:mod:`safehood.evaluation`): recall, false fall alerts per 100
resident-days (residents wearing a band), hard negatives alerted, and per hard-negative kind
the false fall alerts it caused (an alert matching no fall, within a hard negative of that
kind; ``ordinary`` for the rest). Two worker processes do the communities side by side. The
default run (20 communities x 10 households x 10 days, 1,370 resident-days; about 10
minutes on two idle cores, 46 on two shared by eight developers; less when the recordings
are reused), whose table and
plot are in ``bench/results/``::

    .venv/bin/python bench/evaluate_fall.py

Recordings go under ``--out`` (default ``bench-out/fall``) and are reused when their
parameters match.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluate_detectors import (
    CommunityJob,
    community_jobs,
    community_parser,
    run_communities,
    save_figure,
)

from safehood.commands.detect import detect
from safehood.detectors import DetectorConfig
from safehood.evaluation import TypeScore, score
from safehood.protocol import Alert, Label, Registry, parse_ts_ms, read_labels
from safehood.simulators import POPULATIONS, Community, SimulationConfig, write_recording

METHODS = ("rules", "learned")
WEARABLE_SCENARIOS = ("fall", "fall_recovered", "drop_wearable", "sit_hard", "jump",
                      "sit_hard_still", "take_off", "bed_flop")
HARD_NEGATIVES = ("drop", "sit_hard", "jump", "sit_hard_still", "take_off", "bed_flop")
ORDINARY = "ordinary"
# An alert this close to a hard negative's start or end is that hard negative's.
NEGATIVE_SLACK_MS = 60_000


@dataclass(frozen=True, slots=True)
class Job(CommunityJob):
    model: Path | None


def recording(job: Job) -> Path:
    """Simulate ``job``'s community into ``out/fall-<seed>`` unless it is there; keep its
    wearable traffic apart in ``wearable.jsonl``."""
    where = job.out / f"fall-{job.seed}"
    stamp = {"households": job.households, "days": job.days, "seed": job.seed, "rate": job.rate,
             "scenarios": list(WEARABLE_SCENARIOS)}
    meta = where / "bench.json"
    if meta.exists() and json.loads(meta.read_text()) == stamp \
            and (where / "wearable.jsonl").exists():
        return where
    community = Community.generate(job.households, seed=job.seed,
                                   population=POPULATIONS["diverse"])
    write_recording(where, community,
                    SimulationConfig(seed=job.seed, days=job.days, rate=job.rate,
                                     scenarios=WEARABLE_SCENARIOS),
                    workers=1, progress=False)
    registry = Registry.load(where / "registry.json")
    bands = {d.device_id for d in registry.devices.values() if d.kind == "wearable"}
    with open(where / "traffic.jsonl", "rb") as traffic, \
            open(where / "wearable.jsonl", "wb") as wearable:
        for line in traffic:
            topic = json.loads(line)["topic"]
            if topic.split("/")[-2] in bands:
                wearable.write(line)
    meta.write_text(json.dumps(stamp))
    return where


def evaluate(job: Job) -> dict[str, Any]:
    """Both methods on one community: the figures the report needs (JSON-able)."""
    where = recording(job)
    registry = Registry.load(where / "registry.json")
    labels = read_labels(where / "labels.jsonl")
    wearers = sum(1 for d in registry.devices.values() if d.kind == "wearable")
    resident_days = wearers * job.days
    out: dict[str, Any] = {"seed": job.seed, "resident_days": resident_days}
    for method in METHODS:
        fall: dict[str, Any] = {"method": method}
        if job.model is not None:
            fall["model"] = str(job.model)
        config = DetectorConfig.from_data({"fall": fall})
        alerts, _ = detect(registry, where / "wearable.jsonl", config=config)
        falls = [a for a in alerts if a.type.value == "fall"]
        card = score(labels, falls, household_days=resident_days)
        # A small community may have neither a fall nor a fall alert: nothing to score.
        scored = card.score("fall") or TypeScore("fall", 0, 0, 0, 0, 0, 0.0)
        by_kind = false_alerts_by_kind(labels, card.false_alerts)
        out[method] = {
            "false_alerts_by_kind": by_kind,
            "negatives_by_kind": negatives_by_kind(labels, falls),
            "labels": scored.labels,
            "detected": scored.detected,
            "alerts": scored.alerts,
            "false_alerts": scored.false_alarms,
            "negatives": scored.negatives,
            "negatives_alerted": scored.negatives_alerted,
            "delay_p50_s": scored.delay_percentile(50),
        }
    return out


def _variant(label: Label) -> str:
    return str((label.model_extra or {}).get("variant", "fall_negative"))


def _near(label: Label, alert: Alert) -> bool:
    start = parse_ts_ms(alert.started_at)
    end = label.end if label.end is not None else label.start
    return (alert.resident in (None, label.resident)
            and label.start - NEGATIVE_SLACK_MS <= start <= end + NEGATIVE_SLACK_MS)


def false_alerts_by_kind(labels: Sequence[Label], false_alerts: Sequence[Alert]) -> dict[str, int]:
    """False fall alerts per hard-negative kind they fell within (``ordinary``: none)."""
    negatives = [label for label in labels if label.type == "fall_negative"]
    counts = dict.fromkeys((*HARD_NEGATIVES, ORDINARY), 0)
    for alert in false_alerts:
        kind = next((_variant(label) for label in negatives if _near(label, alert)), ORDINARY)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def negatives_by_kind(labels: Sequence[Label], alerts: Sequence[Alert]) -> dict[str, list[int]]:
    """Per hard-negative kind: ``[labels, labels with a fall alert]``."""
    counts = {kind: [0, 0] for kind in HARD_NEGATIVES}
    for label in labels:
        if label.type != "fall_negative":
            continue
        row = counts.setdefault(_variant(label), [0, 0])
        row[0] += 1
        row[1] += any(_near(label, alert) for alert in alerts)
    return counts


def per_100(count: float, days: float) -> float:
    return 100.0 * count / days if days else 0.0


def summarise(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    days = sum(r["resident_days"] for r in results)
    rows = []
    for method in METHODS:
        runs = [(r["seed"], r[method], r["resident_days"]) for r in results]
        labels = sum(m["labels"] for _, m, _ in runs)
        detected = sum(m["detected"] for _, m, _ in runs)
        false = sum(m["false_alerts"] for _, m, _ in runs)
        worst_recall = min(((m["detected"] / m["labels"], seed) for seed, m, _ in runs
                            if m["labels"]), default=(1.0, None))
        worst_false = max(((per_100(m["false_alerts"], d), seed) for seed, m, d in runs),
                          default=(0.0, None))
        rows.append({
            "method": method, "falls": labels, "detected": detected,
            "recall": detected / labels if labels else None, "worst_recall": worst_recall,
            "false_alerts": false, "false_per_100_resident_days": per_100(false, days),
            "worst_false_per_100_resident_days": worst_false,
            "hard_negatives": sum(m["negatives"] for _, m, _ in runs),
            "hard_negatives_alerted": sum(m["negatives_alerted"] for _, m, _ in runs),
            "false_per_100_resident_days_by_kind": {
                kind: per_100(sum(m["false_alerts_by_kind"].get(kind, 0) for _, m, _ in runs),
                              days) for kind in (*HARD_NEGATIVES, ORDINARY)},
            "negatives_by_kind": {
                kind: [sum(m["negatives_by_kind"].get(kind, [0, 0])[i] for _, m, _ in runs)
                       for i in (0, 1)] for kind in HARD_NEGATIVES},
        })
    return rows


def format_table(rows: Sequence[dict[str, Any]], title: str) -> str:
    lines = [f"## {title}", "",
             "| method | falls | detected | recall | worst recall | false fall alerts "
             "| per 100 resident-days | worst community | hard negatives alerted |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        recall = "-" if row["recall"] is None else f"{100 * row['recall']:.1f}%"
        worst, seed = row["worst_recall"]
        fa, fa_seed = row["worst_false_per_100_resident_days"]
        lines.append(
            f"| {row['method']} | {row['falls']} | {row['detected']} | {recall} "
            f"| {100 * worst:.1f}% (s{seed}) | {row['false_alerts']} "
            f"| {row['false_per_100_resident_days']:.2f} | {fa:.2f} (s{fa_seed}) "
            f"| {row['hard_negatives_alerted']} of {row['hard_negatives']} |")
    lines += ["", "False fall alerts per 100 resident-days by what caused them (hard negatives "
              "alerted of those simulated):", "",
              "| method | " + " | ".join((*HARD_NEGATIVES, ORDINARY)) + " |",
              "|---|" + "---|" * (len(HARD_NEGATIVES) + 1)]
    for row in rows:
        cells = []
        for kind in HARD_NEGATIVES:
            total, alerted = row["negatives_by_kind"][kind]
            cells.append(f"{row['false_per_100_resident_days_by_kind'][kind]:.2f} "
                         f"({alerted} of {total})")
        cells.append(f"{row['false_per_100_resident_days_by_kind'][ORDINARY]:.2f}")
        lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]], path: Path,
         title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = [r["seed"] for r in results]
    x = range(len(seeds))
    fig = plt.figure(figsize=(11, 10))
    grid = fig.add_gridspec(3, 1)
    top = fig.add_subplot(grid[0])
    axes = [top, fig.add_subplot(grid[1], sharex=top)]
    kinds = fig.add_subplot(grid[2])
    fig.suptitle(title)
    for offset, method in zip((-0.2, 0.2), METHODS, strict=True):
        recall = [100 * r[method]["detected"] / r[method]["labels"] if r[method]["labels"]
                  else 100.0 for r in results]
        false = [per_100(r[method]["false_alerts"], r["resident_days"]) for r in results]
        axes[0].bar([i + offset for i in x], recall, width=0.4, label=method)
        axes[1].bar([i + offset for i in x], false, width=0.4, label=method)
    axes[0].set_ylabel("fall recall, %")
    axes[0].tick_params(labelbottom=False)
    axes[0].legend(loc="lower left")
    axes[1].set_ylim(0, max(1.0, *axes[1].get_ylim()))
    axes[1].set_ylabel("false fall alerts\nper 100 resident-days")
    axes[1].legend(loc="upper left")
    axes[1].set_xticks(list(x), [f"s{s}" for s in seeds], rotation=60, fontsize=7)
    names = (*HARD_NEGATIVES, ORDINARY)
    for offset, row in zip((-0.2, 0.2), rows, strict=True):
        kinds.bar([i + offset for i in range(len(names))],
                  [row["false_per_100_resident_days_by_kind"][k] for k in names], width=0.4,
                  label=row["method"])
    kinds.set_xticks(range(len(names)), names)
    kinds.set_ylabel("false fall alerts per\n100 resident-days, by cause")
    kinds.legend(loc="upper left")
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = community_parser(__doc__, households=10, days=10.0, rate=60.0, seed=17,
                              out="bench-out/fall", rate_help="wearable incidents")
    parser.add_argument("--model", type=Path, help="model file (default: the shipped one)")
    parser.add_argument("--results", type=Path, help="also write the table, JSON and plot here")
    args = parser.parse_args(argv)
    results = run_communities(evaluate, community_jobs(Job, args, model=args.model), args.workers)
    rows = summarise(results)
    title = (f"Falls, rules vs learned: {args.communities} communities x {args.households} "
             f"households x {args.days:g} days")
    table = format_table(rows, title)
    print(table)
    where = args.results or args.out
    where.mkdir(parents=True, exist_ok=True)
    stem = f"evaluate_fall-{args.communities}x{args.households}x{args.days:g}"
    (where / f"{stem}.md").write_text(table + "\n")
    (where / f"{stem}.json").write_text(json.dumps({"communities": results, "summary": rows},
                                                   indent=2))
    plot(results, rows, where / f"{stem}.png", title)
    print(f"\nwritten: {where / stem}.{{md,json,png}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
