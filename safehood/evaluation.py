"""Detection quality: alerts scored against the simulator's labels, per alert type.

Used by ``safehood evaluate`` and ``bench/evaluate_detectors.py``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
from pydantic import BaseModel, ValidationError

from safehood.alerting.const import FALSE_ALARM, REAL
from safehood.protocol import Alert, Label, parse_ts_ms

M = TypeVar("M", bound=BaseModel)

MS_PER_S = 1000
MS_PER_DAY = 86_400_000

# How long after a label ends an alert still counts as detecting it (the detector's own
# waiting time: inactivity and device silence are only known after their thresholds).
DEFAULT_MAX_DELAY_S: dict[str, float] = {
    "fire": 300, "smoke": 300, "sos": 120, "fall": 600, "water_leak": 3600,
    "forced_entry": 120, "door_left_open": 3600, "night_wandering": 3600,
    "inactivity": 3600, "device_offline": 3 * 3600, "site_offline": 3600,
    "battery_low": 3600, "tamper": 600,
    # A routine day is judged when it ends (03:00 the next morning), and a slow change may
    # show a day or so after the label's last day.
    "abnormal_routine": 36 * 3600,
}
FALLBACK_MAX_DELAY_S = 600.0
DEFAULT_TOLERANCE_S = 60.0
# False records of one subject closer together than this are one false alarm repeated.
EPISODE_GAP_S = 6 * 3600.0
# How early an alert may start before its label, where a label's start is known only to
# within a reporting period: a battery crosses the mark between two status reports, and a
# label may name a later report than the first one below it.
TYPE_TOLERANCE_S: dict[str, float] = {"battery_low": 600.0}

# Label types (or negative labels) whose alerts are false alarms: a fire alert on burnt toast,
# a fall alert on a dropped band.
NEGATIVE_LABELS: dict[str, str] = {"nuisance_smoke": "fire", "fall_negative": "fall"}
# Alert types scored against labels of other types: ``smoke`` is the first signal of both a
# fire and burnt toast that reached the alarm level, and is right to be raised on either.
EXTRA_POSITIVES: dict[str, tuple[str, ...]] = {"smoke": ("fire", "nuisance_smoke")}
# Alerts that another labelled incident of the same household explains: neither true nor
# false. A resident who collapsed is taken to hospital (the home stays empty, nobody draws
# water) and one who wandered at night was out and about: the routine did break, and the
# incident's own alert type scores it. Counted from the label's start until this long
# after its end.
EXPLAINED_BY: dict[str, tuple[str, ...]] = {"abnormal_routine": ("inactivity", "night_wandering")}
EXPLAINED_FOR_S = 3 * 86_400.0

TYPE_ORDER = (
    "fire", "smoke", "sos", "fall", "forced_entry", "water_leak", "inactivity",
    "night_wandering", "door_left_open", "device_offline", "site_offline", "battery_low",
    "tamper", "abnormal_routine",
)


@dataclass(frozen=True, slots=True)
class TypeScore:
    """Detection quality for one alert type."""

    type: str
    labels: int
    detected: int
    alerts: int
    true_alerts: int
    false_alarms: int
    false_alarms_per_100_household_days: float
    delays_s: tuple[float, ...] = ()
    negatives: int = 0
    negatives_alerted: int = 0
    # The most alert records one incident (a label) or one false alarm (false records of one
    # subject less than EPISODE_GAP_S apart) produced: 1 when each is one alert.
    max_records_per_incident: int = 0
    explained: int = 0  # alerts another incident explains (EXPLAINED_BY), neither true nor false

    @property
    def recall(self) -> float | None:
        return self.detected / self.labels if self.labels else None

    @property
    def precision(self) -> float | None:
        judged = self.alerts - self.explained
        return self.true_alerts / judged if judged else None

    def delay_percentile(self, q: float) -> float | None:
        return float(np.percentile(self.delays_s, q)) if self.delays_s else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type, "labels": self.labels, "detected": self.detected,
            "alerts": self.alerts, "true_alerts": self.true_alerts,
            "false_alarms": self.false_alarms, "recall": self.recall,
            "precision": self.precision,
            "false_alarms_per_100_household_days": self.false_alarms_per_100_household_days,
            "delay_p50_s": self.delay_percentile(50), "delay_p90_s": self.delay_percentile(90),
            "delay_max_s": max(self.delays_s) if self.delays_s else None,
            "negatives": self.negatives, "negatives_alerted": self.negatives_alerted,
            "max_records_per_incident": self.max_records_per_incident,
            "explained": self.explained,
        }


@dataclass(frozen=True, slots=True)
class Scorecard:
    """The scores of every alert type seen in the labels or the alerts."""

    household_days: float
    scores: tuple[TypeScore, ...] = field(default_factory=tuple)
    missed: tuple[Label, ...] = ()
    false_alerts: tuple[Alert, ...] = ()  # alerts that match no positive label

    def score(self, alert_type: str) -> TypeScore | None:
        return next((s for s in self.scores if s.type == alert_type), None)

    def as_dict(self) -> dict[str, Any]:
        return {"household_days": self.household_days,
                "scores": [s.as_dict() for s in self.scores]}


def _ms(value: str) -> int:
    return parse_ts_ms(value)


# What must agree between a label and an alert of each type (where both name it). A fire
# is about a household whichever detector confirmed it; an SOS about a person whichever
# button they pressed.
_HOUSEHOLD_LEVEL = ("site", "household", "resident")
_DEVICE_LEVEL = ("site", "household", "device_id")
ENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "fire": _HOUSEHOLD_LEVEL, "smoke": _HOUSEHOLD_LEVEL, "inactivity": _HOUSEHOLD_LEVEL,
    "night_wandering": _HOUSEHOLD_LEVEL, "sos": _HOUSEHOLD_LEVEL, "fall": _HOUSEHOLD_LEVEL,
    "site_offline": ("site",), "abnormal_routine": _HOUSEHOLD_LEVEL,
}


_PRESSED_DEVICE = frozenset({"sos"})


def _same_entity(label: Label, alert: Alert) -> bool:
    extra = label.model_extra or {}
    devices = extra.get("devices")
    if (alert.type.value in _PRESSED_DEVICE and label.device_id is not None
            and label.device_id == alert.device_id and label.household == alert.household):
        # A shared button says where help is needed, not who pressed it: in a home of two,
        # the alert names the resident the button is registered to, whoever pressed it.
        return True
    for name in ENTITY_FIELDS.get(alert.type.value, _DEVICE_LEVEL):
        want, got = getattr(label, name), getattr(alert, name)
        if want is None or got is None or want == got:
            continue
        # A label may name every device that saw the incident (a leak: sensor and meter).
        if name == "device_id" and isinstance(devices, list) and got in devices:
            continue
        return False
    return True


def _answers(alert_type: str, label: Label) -> bool:
    """Whether ``label`` is one that alerts of ``alert_type`` should be raised for."""
    if label.type in EXTRA_POSITIVES.get(alert_type, ()):
        # Burnt food that never reached the alarm level is right to raise nothing.
        return bool((label.model_extra or {}).get("alarm", True))
    return label.type == alert_type and not _is_negative(label)


def _is_negative(label: Label) -> bool:
    extra = label.model_extra or {}
    return bool(extra.get("negative")) or label.type in NEGATIVE_LABELS


def _negative_target(label: Label) -> str:
    """The alert type that must not be raised on a negative label."""
    return NEGATIVE_LABELS.get(label.type, label.type.removesuffix("_negative"))


def score(
    labels: Sequence[Label],
    alerts: Sequence[Alert],
    *,
    household_days: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    max_delay_s: Mapping[str, float] | None = None,
) -> Scorecard:
    """Match ``alerts`` to ``labels`` per type and compute the scores.

    An alert is a true alert when it matches a positive label of a type it answers for;
    every other alert of the type is a false alarm (alerts on negative labels included).
    A label is detected when at least one alert matches it; its delay is that of the
    earliest match (negative delays, an alert slightly before the label, count as 0).
    """
    delays = {**DEFAULT_MAX_DELAY_S, **(max_delay_s or {})}
    tolerance_ms = int(tolerance_s * MS_PER_S)
    by_type: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_type[alert.type.value].append(alert)
    positives: dict[str, list[Label]] = defaultdict(list)
    negatives: dict[str, list[Label]] = defaultdict(list)
    for label in labels:
        for alert_type in {label.type, *EXTRA_POSITIVES}:
            if _answers(alert_type, label):
                positives[alert_type].append(label)
        if _is_negative(label):
            negatives[_negative_target(label)].append(label)
    types = set(by_type) | set(positives) | set(negatives)
    ordered = sorted(types, key=lambda t: (TYPE_ORDER.index(t) if t in TYPE_ORDER else 99, t))
    scores: list[TypeScore] = []
    missed: list[Label] = []
    false_alerts: list[Alert] = []
    for alert_type in ordered:
        type_alerts = sorted(by_type.get(alert_type, []), key=lambda a: a.started_at)
        starts = [_ms(a.started_at) for a in type_alerts]
        late_ms = int(delays.get(alert_type, FALLBACK_MAX_DELAY_S) * MS_PER_S)
        early_ms = max(tolerance_ms, int(TYPE_TOLERANCE_S.get(alert_type, 0.0) * MS_PER_S))
        matched_alerts: set[int] = set()
        records_per_label: list[int] = []
        type_delays: list[float] = []
        type_labels = positives.get(alert_type, [])
        for label in type_labels:
            lo, hi = label.start - early_ms, label.end + late_ms
            first: int | None = None
            records = 0
            for index, (alert, start) in enumerate(zip(type_alerts, starts, strict=True)):
                if start < lo:
                    continue
                if start > hi:
                    break
                if _same_entity(label, alert):
                    matched_alerts.add(index)
                    records += 1
                    first = start if first is None else min(first, start)
            records_per_label.append(records)
            if first is None:
                missed.append(label)
            else:
                type_delays.append(max(0.0, (first - label.start) / MS_PER_S))
        explaining = [label for label in labels
                      if label.type in EXPLAINED_BY.get(alert_type, ())]
        unmatched = [(alert, start) for index, (alert, start)
                     in enumerate(zip(type_alerts, starts, strict=True))
                     if index not in matched_alerts]
        explained = [pair for pair in unmatched if _explained(pair, explaining, early_ms)]
        unmatched = [pair for pair in unmatched if pair not in explained]
        false_alarms = len(unmatched)
        false_alerts.extend(alert for alert, _ in unmatched)
        alerted = sum(
            1 for label in negatives.get(alert_type, [])
            if any(label.start - early_ms <= start <= label.end + late_ms
                   and _same_entity(label, alert)
                   for alert, start in zip(type_alerts, starts, strict=True))
        )
        scores.append(TypeScore(
            type=alert_type, labels=len(type_labels), detected=len(type_delays),
            alerts=len(type_alerts), true_alerts=len(matched_alerts), false_alarms=false_alarms,
            false_alarms_per_100_household_days=(
                100.0 * false_alarms / household_days if household_days > 0 else math.nan),
            delays_s=tuple(type_delays), negatives=len(negatives.get(alert_type, [])),
            negatives_alerted=alerted,
            max_records_per_incident=max([*records_per_label, *_episode_sizes(unmatched)],
                                         default=0),
            explained=len(explained),
        ))
    return Scorecard(household_days, tuple(scores), tuple(missed), tuple(false_alerts))


def _explained(pair: tuple[Alert, int], labels: Sequence[Label], early_ms: int) -> bool:
    alert, start = pair
    after_ms = int(EXPLAINED_FOR_S * MS_PER_S)
    return any(label.household == alert.household and label.site in (None, alert.site)
               and label.start - early_ms <= start <= label.end + after_ms for label in labels)


def _episode_sizes(alerts: Sequence[tuple[Alert, int]]) -> list[int]:
    """Records per false alarm: one subject's records less than EPISODE_GAP_S apart are one."""
    gap_ms = int(EPISODE_GAP_S * MS_PER_S)
    last: dict[tuple[str | None, ...], tuple[int, int]] = {}  # subject -> (last start, episode)
    sizes: list[int] = []
    for alert, start in alerts:  # in start order
        subject = (alert.site, alert.household, alert.resident, alert.device_id)
        previous = last.get(subject)
        if previous is not None and start - previous[0] < gap_ms:
            sizes[previous[1]] += 1
            last[subject] = (start, previous[1])
        else:
            last[subject] = (start, len(sizes))
            sizes.append(1)
    return sizes


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def format_table(card: Scorecard) -> str:
    """The scorecard as plain aligned text."""
    header = ("type", "labels", "detected", "recall", "alerts", "precision", "FA", "FA/100hd",
              "negatives hit", "delay p50", "p90", "max")
    rows = [header]
    for s in card.scores:
        rows.append((
            s.type, str(s.labels), str(s.detected), _pct(s.recall), str(s.alerts),
            _pct(s.precision), str(s.false_alarms),
            f"{s.false_alarms_per_100_household_days:.2f}",
            f"{s.negatives_alerted}/{s.negatives}" if s.negatives else "-",
            _duration(s.delay_percentile(50)), _duration(s.delay_percentile(90)),
            _duration(max(s.delays_s) if s.delays_s else None),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                          strict=True)]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(f"household-days: {card.household_days:.1f}")
    return "\n".join(lines)


def plot(card: Scorecard, path: Path, title: str = "safehood detectors") -> None:
    """Draw recall/precision, false alarms and delays per type to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [s for s in card.scores if s.labels or s.alerts]
    names = [s.type for s in scores]
    x = np.arange(len(names))
    fig, axes = plt.subplots(3, 1, figsize=(max(8, 0.8 * len(names) + 2), 10), sharex=True)
    recall = [s.recall if s.recall is not None else np.nan for s in scores]
    precision = [s.precision if s.precision is not None else np.nan for s in scores]
    axes[0].bar(x - 0.2, recall, 0.4, label="recall")
    axes[0].bar(x + 0.2, precision, 0.4, label="precision")
    axes[0].set_ylim(0, 1.05)
    axes[0].axhline(0.9, color="grey", lw=0.8, ls="--")
    axes[0].legend(loc="lower right")
    axes[0].set_title(title)
    axes[1].bar(x, [s.false_alarms_per_100_household_days for s in scores], color="tab:red")
    axes[1].set_ylabel("false alarms /\n100 household-days")
    data = [[d / 60 for d in s.delays_s] or [np.nan] for s in scores]
    axes[2].boxplot(data, positions=x, widths=0.5, showfliers=True)
    axes[2].set_yscale("symlog", linthresh=1)
    axes[2].set_ylabel("detection delay (min)")
    axes[2].set_xticks(x, names, rotation=35, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_models(path: Path, model: type[M]) -> tuple[list[M], int]:
    """The ``model`` objects of a JSON Lines file, and how many lines were not one."""
    items: list[M] = []
    bad = 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                items.append(model.model_validate(orjson.loads(line)))
            except (orjson.JSONDecodeError, ValidationError, TypeError, ValueError):
                bad += 1
    return items, bad


def read_alerts(path: Path) -> tuple[list[Alert], int]:
    """Alerts of a JSON Lines file, and how many lines were not alerts."""
    return read_models(path, Alert)


def read_label_file(path: Path) -> tuple[list[Label], int]:
    """Labels of a JSON Lines file, and how many lines were not labels."""
    return read_models(path, Label)


def resolution_labels(alerts: Iterable[Alert]) -> tuple[list[Label], list[Alert]]:
    """Duty officers' resolutions as labels, for live traffic that has no simulator labels.

    An alert resolved as ``real`` becomes a label of its type (from ``started_at`` to
    ``resolved_at``), one resolved as ``false_alarm`` stays unlabelled (a false alarm);
    alerts resolved as ``test`` or ``device_fault``, without a cause, or still open are
    left out. Returns the labels and the alerts to score. Only precision and false alarms
    mean something then: an incident no alert caught has no resolution to label it.
    """
    labels: list[Label] = []
    scored: list[Alert] = []
    for alert in alerts:
        if alert.resolution == REAL:
            labels.append(Label(type=alert.type.value, household=alert.household,
                                resident=alert.resident, device_id=alert.device_id,
                                site=alert.site, start=parse_ts_ms(alert.started_at),
                                end=parse_ts_ms(alert.resolved_at or alert.started_at)))
            scored.append(alert)
        elif alert.resolution == FALSE_ALARM:
            scored.append(alert)
    return labels, scored


def span_days(labels: Iterable[Label], alerts: Iterable[Alert]) -> float:
    """Days from the earliest to the latest time in labels and alerts (at least one)."""
    times = [t for label in labels for t in (label.start, label.end)]
    times += [_ms(a.started_at) for a in alerts]
    if not times:
        return 1.0
    return max(1.0, (max(times) - min(times)) / MS_PER_DAY)
