"""``abnormal_routine`` over many random communities and several weeks, worst community.

The routine detector needs weeks: a week to learn each household's normal day, then the
routine changes of the simulator (``not_getting_up``, ``withdrawal`` over two weeks,
``night_trips`` doubling over ten nights; see ``safehood simulate --help``) among the usual
incidents. So this bench simulates fewer households for longer than
``bench/evaluate_detectors.py``, whose machinery it uses: each community is drawn from the
diverse population with a seed of its own, simulated with every scenario, run through the
offline detector and scored (:mod:`safehood.evaluation`: an alert of the household within a
label's window, or up to 36 h after it, detects it). It reports recall and false alarms per
100 household-days of ``abnormal_routine`` for the WORST community and over all of them,
recall per scenario, and which of the detector's reasons the true and the false alerts gave.
Alerts that a labelled collapse (``inactivity``) or night wandering of the same household
explains count neither way (:data:`safehood.evaluation.EXPLAINED_BY`).

Beside it, the weekly wellbeing digest (:mod:`safehood.wellbeing`, its pure functions on the
recorded readings): every household, every week it can be scored (two weeks of its own
history before it); a label is found when its household is "visit" in a week overlapping
the label or the week after, and any other "visit" is a false one. Its recall is over the
changes a weekly view is for (:data:`WEEKLY_SCENARIOS`: withdrawal, night trips); one
morning in bed hardly moves a week, and what it found of those is reported apart. It
reports false visits per 100 household-weeks too, worst community and overall. In 28 days
only the third and fourth weeks can be scored, and a change that starts in the second week
is in the baseline already (``--days 42`` scores two more weeks). ``--digest-only`` scores
the digest alone (simulation and the digest, no detection: a fraction of the time), for a
change of the digest only.

The default run (20 communities x 6 households x 28 days, 3,360 household-days, 9.9 M
messages), whose figures the README quotes; ``--routine-only`` runs the routine detector
alone, which gives the same ``abnormal_routine`` figures (what explains an alert is a label,
not another alert) for a fraction of the CPU: every detector took 37 minutes on this 2-core
machine when it was busy; the routine detector alone took 43 minutes while a dozen other
jobs shared it (load about 15), a third process taking five of the communities::

    .venv/bin/python bench/evaluate_routine.py --routine-only

A quick look: ``--communities 2 --days 28``. Recordings are kept under ``--out`` (default
``bench-out/routine``) and reused when their parameters match. To see why a label was
missed, ``bench/diagnose_routine.py SEED`` prints its household's days and scores.
"""

from __future__ import annotations

import hashlib
import inspect
import pickle
import sys
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from evaluate_detectors import (
    Job,
    add_detector_options,
    community_jobs,
    community_parser,
    evaluate,
    recording,
    run_communities,
    save_figure,
)

from safehood.detectors.const import RULE_ROUTINE
from safehood.evaluation import read_alerts, score
from safehood.protocol import ContractViolation, Label, Registry, parse_message, read_labels, read_replay
from safehood.simulators import SimulationConfig
from safehood.store import StoredReading, as_stored
from safehood.wellbeing import DailyActivity, DigestStatus, IsoWeek, daily_activity, household_digest
from safehood.wellbeing import const as wellbeing_const
from safehood.wellbeing.const import ACTIVITY_KINDS, DEFAULT_WEEKS, READ_CHANNELS

TYPE = "abnormal_routine"
# What a weekly digest can find: a change that lasts. One morning in bed (not_getting_up)
# hardly moves a week's figures; it is the detector's to raise that day, and the digest's
# figure for it is reported apart, not in its recall.
WEEKLY_SCENARIOS = ("withdrawal", "night_trips")


def digest_only(job: Job) -> dict[str, Any]:
    """The digest's scores of ``job``'s recording (simulated first unless it is there), no
    detection."""
    recording(job)
    where = job.out / f"{job.population}-{job.seed}"
    labels = [m for m in read_labels(where / "labels.jsonl") if m.type == TYPE]
    return {"seed": job.seed, "digest": digest_scored(job, labels)}


def evaluate_routine(job: Job) -> dict[str, Any]:
    """:func:`evaluate_detectors.evaluate`, plus recall per scenario and the reasons given."""
    result = evaluate(job)
    result.update(scored(job))
    return result


def scored(job: Job) -> dict[str, Any]:
    """The scores of ``job``'s recording and the alerts written beside it."""
    where = job.out / f"{job.population}-{job.seed}"
    labels = read_labels(where / "labels.jsonl")
    alerts, _ = read_alerts(where / "alerts.jsonl")
    household_days = job.households * job.days
    card = score(labels, alerts, household_days=household_days)
    missed = Counter(str((m.model_extra or {}).get("scenario")) for m in card.missed
                     if m.type == TYPE)
    scenarios = Counter(str((m.model_extra or {}).get("scenario")) for m in labels
                        if m.type == TYPE)
    false = [a for a in card.false_alerts if a.type.value == TYPE]
    routine = [a for a in alerts if a.type.value == TYPE]
    return {
        "digest": digest_scored(job, [m for m in labels if m.type == TYPE]),
        "seed": job.seed, "household_days": household_days,
        "types": {s.type: {**s.as_dict(), "delays_s": None} for s in card.scores},
        "routine": {
            "scenarios": {name: {"labels": n, "detected": n - missed[name]}
                          for name, n in scenarios.items()},
            "reasons_all": dict(Counter(str(a.evidence.get("reason")) for a in routine)),
            "reasons_false": dict(Counter(str(a.evidence.get("reason")) for a in false)),
        },
    }


def _weeks(first_ms: int, end_ms: int, zone: ZoneInfo) -> list[IsoWeek]:
    """The weeks from the one holding ``first_ms`` to the one holding ``end_ms - 1``."""
    weeks = [IsoWeek.at(first_ms, zone)]
    while weeks[-1] < IsoWeek.at(end_ms - 1, zone):
        weeks.append(weeks[-1].shifted(1))
    return weeks


def digest_readings(where: Path, registry: Registry,
                    households: Collection[str] | None = None) -> dict[str, list[StoredReading]]:
    """The readings the digest reads in the recording at ``where``, by household (of
    ``households`` only, when given)."""
    readings: dict[str, list[StoredReading]] = defaultdict(list)
    read = {d.device_id for d in registry.devices.values() if d.kind in ACTIVITY_KINDS
            and (households is None or d.household in households)}
    for record in read_replay(where / "traffic.jsonl"):
        # Most of the traffic is none of the digest's (check-ins, smoke telemetry, bands):
        # told by the topic's device and channel, it is not parsed.
        device_id, channel = record.topic.rsplit("/", 2)[-2:]
        if device_id not in read or channel not in READ_CHANNELS:
            continue
        try:
            message = parse_message(record.topic, record.payload_bytes(), 0, registry)
        except ContractViolation:
            continue
        if message.household is not None and message.kind in ACTIVITY_KINDS:
            readings[message.household].append(as_stored(message))
    return readings


def _daily_figures_stamp(where: Path) -> str:
    """What the daily figures of the recording at ``where`` depend on: the recording and the
    code that computes them (the ranking is not part of it)."""
    traffic = (where / "traffic.jsonl").stat()
    code = b"".join(Path(source).read_bytes() for source in (
        inspect.getsourcefile(daily_activity) or "", wellbeing_const.__file__ or ""))
    return f"{traffic.st_size}:{traffic.st_mtime_ns}:{hashlib.sha256(code).hexdigest()}"


def daily_figures(where: Path, registry: Registry) -> dict[str, dict[date, DailyActivity]]:
    """Every household's daily figures of the recording at ``where``; kept beside it
    (``digest-days.pickle``), so that a change of the ranking alone is scored in seconds,
    not the minutes of reading the traffic again."""
    cache = where / "digest-days.pickle"
    stamp = _daily_figures_stamp(where)
    if cache.exists():
        kept_stamp, kept = pickle.loads(cache.read_bytes())
        if kept_stamp == stamp:
            return kept  # type: ignore[no-any-return]
    readings = digest_readings(where, registry)
    daily = {household.id: daily_activity(
        household, {d.device_id: d for d in registry.household_devices(household.id)},
        readings[household.id]) for household in registry.households.values()}
    cache.write_bytes(pickle.dumps((stamp, daily)))
    return daily


def digest_scored(job: Job, labels: Sequence[Label]) -> dict[str, Any]:
    """The wellbeing digest of ``job``'s recording, every household every week it can be
    scored (not still learning): a routine label is found when its household is "visit" in
    a week overlapping the label or the week after it; any other "visit" is a false one."""
    where = job.out / f"{job.population}-{job.seed}"
    registry = Registry.load(where / "registry.json")
    daily = daily_figures(where, registry)
    start_ms = SimulationConfig(seed=job.seed).start_ms
    end_ms = start_ms + int(job.days * 86_400_000)
    found: set[int] = set()
    false: list[tuple[str, str, float, dict[str, float]]] = []
    household_weeks = 0
    for household in registry.households.values():
        zone = ZoneInfo(household.timezone)
        days = daily[household.id]
        weeks = _weeks(start_ms, end_ms, zone)
        own = [(i, _weeks(m.start, m.end, zone)) for i, m in enumerate(labels)
               if m.household == household.id]
        for n, week in enumerate(weeks):
            digest = household_digest(household.id, household.site, days,
                                      weeks[max(0, n + 1 - DEFAULT_WEEKS):n + 1])
            if digest.status is DigestStatus.LEARNING:
                continue
            household_weeks += 1
            if digest.status is not DigestStatus.VISIT:
                continue
            hits = [i for i, spans in own if week in spans or week.shifted(-1) in spans]
            found.update(hits)
            if not hits:
                false.append((household.id, str(week), round(digest.score, 1),
                              {m.metric.name: round(m.z, 1) for m in digest.metrics
                               if m.z is not None and round(m.z, 1)}))
    false_visits = len(false)
    names = [str((m.model_extra or {}).get("scenario")) for m in labels]
    return {
        "labels": len(labels), "found": len(found), "false_visits": false_visits,
        "household_weeks": household_weeks,
        "recall": len(found) / len(labels) if labels else None,
        "false_per_100hw": 100.0 * false_visits / household_weeks if household_weeks else 0.0,
        "scenarios": {name: {"labels": names.count(name),
                             "found": sum(names[i] == name for i in found)}
                      for name in sorted(set(names))},
        "missed": [(str(m.household), names[i]) for i, m in enumerate(labels)
                   if i not in found and names[i] in WEEKLY_SCENARIOS],
        "false": false,
    }


def _weekly(digest: dict[str, Any]) -> tuple[int, int]:
    """(labels, found) of the scenarios a weekly view is for."""
    figures = [f for name, f in digest["scenarios"].items() if name in WEEKLY_SCENARIOS]
    return sum(f["labels"] for f in figures), sum(f["found"] for f in figures)


def digest_summary(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Worst community and totals of the digest's "visit"s; recall over the scenarios a
    weekly view is for (:data:`WEEKLY_SCENARIOS`), every scenario's reported apart."""
    digests = [(r["seed"], r["digest"]) for r in results]
    weekly = [(seed, *_weekly(d)) for seed, d in digests]
    labels = sum(n for _, n, _ in weekly)
    found = sum(k for _, _, k in weekly)
    false_visits = sum(d["false_visits"] for _, d in digests)
    household_weeks = sum(d["household_weeks"] for _, d in digests)
    recalls = [(k / n, seed) for seed, n, k in weekly if n]
    per_scenario: Counter[str] = Counter()
    per_scenario_found: Counter[str] = Counter()
    for _, d in digests:
        for name, figures in d["scenarios"].items():
            per_scenario[name] += figures["labels"]
            per_scenario_found[name] += figures["found"]
    return {
        "labels": labels, "found": found, "recall_overall": found / labels if labels else None,
        "worst_recall": min(recalls) if recalls else None,
        "false_visits": false_visits, "household_weeks": household_weeks,
        "false_per_100hw_overall":
            100.0 * false_visits / household_weeks if household_weeks else None,
        "worst_false_per_100hw": max(((d["false_per_100hw"], seed) for seed, d in digests),
                                     default=None),
        "scenarios": {n: {"labels": per_scenario[n], "found": per_scenario_found[n]}
                      for n in sorted(per_scenario)},
        "missed": [f"s{seed} {household} {name}" for seed, d in digests
                   for household, name in d.get("missed", ())],
        "false": [f"s{seed} {household} {week} score {score} {z}" for seed, d in digests
                  for household, week, score, z in d.get("false", ())],
    }


def summary(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Worst community and totals for ``abnormal_routine``."""
    scored = [(r["seed"], r["types"].get(TYPE)) for r in results]
    recalls = [(s["recall"], seed) for seed, s in scored if s and s["recall"] is not None]
    false = [(s["false_alarms_per_100_household_days"] if s else 0.0, seed) for seed, s in scored]
    labels = sum(s["labels"] for _, s in scored if s)
    detected = sum(s["detected"] for _, s in scored if s)
    false_alarms = sum(s["false_alarms"] for _, s in scored if s)
    explained = sum(s.get("explained", 0) for _, s in scored if s)
    household_days = sum(r["household_days"] for r in results)
    delays = [s["delay_p50_s"] for _, s in scored if s and s["delay_p50_s"] is not None]
    per_scenario: Counter[str] = Counter()
    per_scenario_found: Counter[str] = Counter()
    reasons_all: Counter[str] = Counter()
    reasons_false: Counter[str] = Counter()
    for r in results:
        for name, figures in r["routine"]["scenarios"].items():
            per_scenario[name] += figures["labels"]
            per_scenario_found[name] += figures["detected"]
        reasons_all.update(r["routine"]["reasons_all"])
        reasons_false.update(r["routine"]["reasons_false"])
    types = sorted({t for r in results for t in r["types"]} - {TYPE})
    others = {t: max(r["types"][t]["false_alarms_per_100_household_days"] for r in results
                     if t in r["types"]) for t in types}
    return {
        "communities": len(results), "household_days": household_days,
        "labels": labels, "detected": detected,
        "recall_overall": detected / labels if labels else None,
        "worst_recall": min(recalls) if recalls else None,
        "false_alarms": false_alarms, "explained": explained,
        "false_per_100hd_overall": 100.0 * false_alarms / household_days,
        "worst_false_per_100hd": max(false) if false else None,
        "median_delay_p50_h": float(sorted(delays)[len(delays) // 2]) / 3600 if delays else None,
        "scenarios": {n: {"labels": per_scenario[n], "detected": per_scenario_found[n]}
                      for n in sorted(per_scenario)},
        "reasons_all": dict(reasons_all.most_common()),
        "reasons_false": dict(reasons_false.most_common()),
        "other_types_worst_false_per_100hd": others,
        "digest": digest_summary(results),
    }


def format_report(s: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.0f}%"

    worst_recall = s["worst_recall"]
    worst_false = s["worst_false_per_100hd"]
    lines = [
        f"abnormal_routine over {s['communities']} communities, "
        f"{s['household_days']:,.0f} household-days",
        f"  labels {s['labels']}, detected {s['detected']}: recall {pct(s['recall_overall'])}"
        f" overall, worst community "
        f"{pct(worst_recall[0]) if worst_recall else '-'}"
        f" (s{worst_recall[1] if worst_recall else '-'})",
        f"  false alarms {s['false_alarms']}: {s['false_per_100hd_overall']:.2f} per 100 "
        f"household-days overall, worst community {worst_false[0]:.2f} (s{worst_false[1]}); "
        f"{s['explained']} more explained by a collapse or night wandering",
        f"  median delay after the label's start (median over communities): "
        f"{s['median_delay_p50_h']:.1f} h" if s["median_delay_p50_h"] is not None else
        "  delay: -",
        "  recall per scenario: " + ", ".join(
            f"{name} {f['detected']}/{f['labels']}" for name, f in s["scenarios"].items()),
        "  reasons of all alerts: " + ", ".join(f"{k} {v}" for k, v in s["reasons_all"].items()),
        "  reasons of false alarms: " + (", ".join(
            f"{k} {v}" for k, v in s["reasons_false"].items()) or "none"),
    ]
    return "\n".join([*lines, format_digest(s["digest"])])


def format_digest(d: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.0f}%"

    worst_found, worst_visits = d["worst_recall"], d["worst_false_per_100hw"]
    lines = [
        f"wellbeing digest (\"visit\" in a week overlapping the label or the week after), "
        f"{d['household_weeks']} household-weeks scored",
        f"  weekly changes ({', '.join(WEEKLY_SCENARIOS)}): "
        f"labels {d['labels']}, found {d['found']}: recall {pct(d['recall_overall'])} "
        f"overall, worst community {pct(worst_found[0]) if worst_found else '-'}"
        f" (s{worst_found[1] if worst_found else '-'})",
        f"  false visits {d['false_visits']}: "
        + (f"{d['false_per_100hw_overall']:.2f} per 100 household-weeks overall, worst "
           f"community {worst_visits[0]:.2f} (s{worst_visits[1]})"
           if worst_visits and d["false_per_100hw_overall"] is not None else "-"),
        "  found per scenario: " + ", ".join(
            f"{name} {f['found']}/{f['labels']}" for name, f in d["scenarios"].items())
        + " (a single morning is not a weekly change)",
        *(f"  missed {m}" for m in d.get("missed", ())),
        *(f"  false visit {f}" for f in d.get("false", ())),
    ]
    return "\n".join(lines)


def plot(results: Sequence[dict[str, Any]], s: dict[str, Any], path: Path, title: str) -> None:
    """abnormal_routine's recall and false alarms per community, and its recall per
    scenario."""
    _plot_communities(
        path, title, [r["seed"] for r in results],
        ("recall %\nper community",
         [100 * (r["types"].get(TYPE, {}).get("recall") or 0.0) for r in results]),
        ("false alarms / 100 hd\nper community",
         [r["types"].get(TYPE, {}).get("false_alarms_per_100_household_days", 0.0)
          for r in results]),
        "recall % per scenario\n(all communities)",
        {name: (f["detected"], f["labels"]) for name, f in s["scenarios"].items()})


def plot_digest(results: Sequence[dict[str, Any]], d: dict[str, Any], path: Path,
                title: str) -> None:
    """The digest's recall of weekly changes and false visits per community, and what it
    found per scenario."""
    weekly = [_weekly(r["digest"]) for r in results]
    _plot_communities(
        path, title, [r["seed"] for r in results],
        ("weekly changes found %\nper community",
         [100 * found / n if n else None for n, found in weekly]),
        ("false visits / 100 hw\nper community",
         [r["digest"]["false_per_100hw"] for r in results]),
        "found % per scenario\n(all communities)",
        {name: (f["found"], f["labels"]) for name, f in d["scenarios"].items()})


def _plot_communities(
    path: Path, title: str, seeds: Sequence[int],
    found: tuple[str, Sequence[float | None]], false: tuple[str, Sequence[float]],
    scenario_label: str, scenarios: dict[str, tuple[int, int]],
) -> None:
    """Three panels: what was found per community (None: nothing to find there, not a
    0 %), false alarms per community, and what was found per scenario over them all."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(11, 10))
    fig.suptitle(title)
    x = range(len(seeds))
    axes[0].bar(x, [value or 0 for value in found[1]])
    for i, value in enumerate(found[1]):
        if value is None:
            axes[0].text(i, 2, "none", ha="center", fontsize=7, rotation=90)
    axes[0].set_ylabel(found[0])
    axes[0].set_ylim(0, 105)
    axes[1].bar(x, false[1], color="tab:red")
    axes[1].set_ylabel(false[0])
    for ax in axes[:2]:
        ax.set_xticks(list(x), [f"s{seed}" for seed in seeds], rotation=60, fontsize=7)
    names = list(scenarios)
    axes[2].bar(range(len(names)), [100 * got / n if n else 0 for got, n in scenarios.values()],
                color="tab:green")
    axes[2].set_xticks(range(len(names)), [f"{n} ({scenarios[n][1]})" for n in names])
    axes[2].set_ylabel(scenario_label)
    axes[2].set_ylim(0, 105)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = community_parser(__doc__, households=6, days=28.0, rate=10.0, seed=17,
                              out="bench-out/routine")
    add_detector_options(parser)
    parser.add_argument("--routine-only", action="store_true",
                        help="run the routine detector alone (a fraction of the time; the "
                             "other types' figures are then empty, and abnormal_routine's "
                             "are the same: what explains an alert is a label, not an alert)")
    parser.add_argument("--digest-only", action="store_true",
                        help="only the wellbeing digest's figures (simulation, no detection: "
                             "a fraction of the time)")
    parser.add_argument("--scores-only", action="store_true",
                        help="only score the communities whose alerts are already under --out "
                             "(no simulation or detection)")
    args = parser.parse_args(argv)
    jobs = community_jobs(Job, args, scenarios="all",
                          rules=(RULE_ROUTINE,) if args.routine_only else None)
    if args.digest_only:
        digests = run_communities(digest_only, jobs, args.workers)
        title = (f"wellbeing digest: {len(digests)} {args.population} communities x "
                 f"{args.households} households x {args.days:g} days (seed {args.seed})")
        figures = digest_summary(digests)
        print(f"== {title} ==")
        print(format_digest(figures))
        plot_digest(digests, figures, args.out / "digest.png", title)
        (args.out / "digest.json").write_bytes(orjson.dumps(
            {"summary": figures, "communities": digests}, option=orjson.OPT_INDENT_2))
        return 0
    if args.scores_only:
        results = [scored(job) for job in jobs
                   if (job.out / f"{job.population}-{job.seed}" / "alerts.jsonl").exists()]
    else:
        results = run_communities(evaluate_routine, jobs, args.workers)
    figures = summary(results)
    title = (f"abnormal_routine: {len(results)} {args.population} communities x "
             f"{args.households} households x {args.days:g} days")
    print(f"== {title} ==")
    print(format_report(figures))
    png = args.out / "routine.png"
    plot(results, figures, png, title)
    (args.out / "routine.json").write_bytes(orjson.dumps(
        {"summary": figures, "communities": results}, option=orjson.OPT_INDENT_2))
    print(f"plot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
