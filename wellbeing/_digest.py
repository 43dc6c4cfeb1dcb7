"""Weekly figures of each household, their drift from its own baseline, and the ranking of
households by how far they drifted: pure, no I/O.

The drift of one metric is a robust z-score: the week's figure minus the median of the
household's previous weeks, over the spread of those weeks (MAD scaled to a standard
deviation), the spread floored so that a household with very regular weeks is not flagged
for a small wobble. Only the concerning direction counts (less activity, fewer outings,
more days at home, less water, more night activity), each metric at most
``MAX_METRIC_SCORE``; the household's drift score is their sum. A household needs a visit
when that sum reaches ``VISIT_SCORE``, or when a nightly count alone is ``COUNT_VISIT_Z``
spreads up by an exact count test (:mod:`._count_drift`: a known risk, so one figure is
evidence enough).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from ._count_drift import CountDrift, count_drift
from ._features import DailyActivity
from ._weeks import IsoWeek
from .const import (
    COUNT_LEARN_Z,
    COUNT_VISIT_Z,
    MAD_TO_SD,
    MAX_METRIC_SCORE,
    MIN_BASELINE_WEEKS,
    MIN_DAYS_PER_WEEK,
    VISIT_SCORE,
)


@dataclass(frozen=True, slots=True)
class Metric:
    """One weekly figure: how it is computed from a week's observed days, which way is
    concerning (+1: more is worse, -1: less is worse) and the floor of its spread
    (``floor`` in its unit, or ``relative_floor`` times the baseline, whichever is larger).
    A nightly count (``count``: a night's count of a day) is judged by a count test
    instead (:func:`._count_drift.count_drift`), its figure being the week's mean."""

    name: str
    label: str
    unit: str
    concerning: int
    floor: float
    relative_floor: float
    value: Callable[[Sequence[DailyActivity]], float | None]
    count: Callable[[DailyActivity], int] | None = None


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _per_week(count: float, days: int) -> float:
    return count * 7 / days


METRICS: Final[tuple[Metric, ...]] = (
    Metric("activity_hours", "activity", "h/day", -1, 0.75, 0.1,
           lambda days: _mean([d.active_hours for d in days])),
    Metric("night_bouts", "night activity", "bouts/night", +1, 0.2, 0.0,
           lambda days: _mean([float(d.night_bouts) for d in days]),
           count=lambda day: day.night_bouts),
    Metric("outings", "outings", "/week", -1, 1.5, 0.15,
           lambda days: _per_week(sum(d.outings for d in days), len(days))),
    Metric("days_home", "days without leaving home", "days/week", +1, 1.0, 0.0,
           lambda days: _per_week(sum(d.outings == 0 for d in days), len(days))),
    Metric("water_litres", "water use", "L/day", -1, 10.0, 0.1,
           lambda days: _mean([d.water_l for d in days if d.water_l is not None])),
)


class DigestStatus(StrEnum):
    """``visit``: drifted far enough to call on (the drift score, or a nightly count on its
    own); ``steady``; ``learning``: too few weeks of its own history, or too few observed
    days this week, to tell."""

    VISIT = "visit"
    STEADY = "steady"
    LEARNING = "learning"


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """A week's figure against a baseline: the week's ``value``, its ``baseline`` (median of
    the previous weeks) and ``spread``, ``z`` (signed), ``score`` (the concerning part of z,
    capped) and ``trend_per_week`` (least-squares slope over every week with a figure).
    The API's public form of a metric inherits these fields."""

    value: float | None
    baseline: float | None
    spread: float | None
    z: float | None
    score: float
    trend_per_week: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricDrift(Drift):
    """One metric of one household: its :class:`Drift` and ``series`` (the figure of each
    week, oldest first; ``None`` where there was none)."""

    metric: Metric
    series: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class HouseholdDigest:
    """One household's week: its metrics, drift score and status; ``days_observed`` are
    the days of the week with readings, ``baseline_weeks`` the weeks with figures before it
    and ``kept_out`` those of them left out of its baseline as looking like a change (the
    week just before it, or none)."""

    household: str
    site: str
    week: IsoWeek
    weeks: tuple[IsoWeek, ...]
    days_observed: int
    baseline_weeks: int
    score: float
    status: DigestStatus
    metrics: tuple[MetricDrift, ...]
    kept_out: tuple[IsoWeek, ...] = ()


def weekly_figures(days: Mapping[date, DailyActivity],
                   weeks: Sequence[IsoWeek]) -> dict[IsoWeek, dict[str, float | None] | None]:
    """Each week's metric values, or ``None`` for a week with fewer than
    ``MIN_DAYS_PER_WEEK`` observed days."""
    by_week: dict[IsoWeek, list[DailyActivity]] = {week: [] for week in weeks}
    for day, activity in days.items():
        bucket = by_week.get(IsoWeek.of(day))
        if bucket is not None:
            bucket.append(activity)
    return {
        week: ({m.name: m.value(observed) for m in METRICS}
               if len(observed) >= MIN_DAYS_PER_WEEK else None)
        for week, observed in by_week.items()
    }


def _slope(points: Sequence[tuple[int, float]]) -> float | None:
    if len(points) < 2:
        return None
    xs = [float(x) for x, _ in points]
    ys = [y for _, y in points]
    return statistics.linear_regression(xs, ys).slope


def _drift(metric: Metric, series: Sequence[float | None],
           baseline_values: Sequence[float]) -> MetricDrift:
    value = series[-1]
    trend = _slope([(i, v) for i, v in enumerate(series) if v is not None])
    if value is None or not baseline_values:
        baseline = statistics.median(baseline_values) if baseline_values else None
        return MetricDrift(metric=metric, value=value, baseline=baseline, spread=None, z=None,
                           score=0.0, trend_per_week=trend, series=tuple(series))
    baseline = statistics.median(baseline_values)
    mad = statistics.median([abs(v - baseline) for v in baseline_values]) * MAD_TO_SD
    spread = max(mad, metric.floor, metric.relative_floor * abs(baseline))
    z = (value - baseline) / spread
    score = min(MAX_METRIC_SCORE, max(0.0, metric.concerning * z))
    return MetricDrift(metric=metric, value=value, baseline=baseline, spread=spread, z=z,
                       score=score, trend_per_week=trend, series=tuple(series))


def _count_metric_drift(metric: Metric, series: Sequence[float | None], drift: CountDrift,
                        ) -> MetricDrift:
    trend = _slope([(i, v) for i, v in enumerate(series) if v is not None])
    score = 0.0 if drift.z is None else min(MAX_METRIC_SCORE, max(0.0, metric.concerning * drift.z))
    return MetricDrift(metric=metric, value=series[-1], baseline=drift.baseline_rate,
                       spread=drift.spread, z=drift.z, score=score, trend_per_week=trend,
                       series=tuple(series))


def _nightly_counts(days: Mapping[date, DailyActivity]) -> dict[str, dict[date, int]]:
    """Each count metric's count of every observed night, keyed by the evening's date."""
    return {m.name: {d: m.count(a) for d, a in days.items()}
            for m in METRICS if m.count is not None}


def _looks_changed(counts: Mapping[str, Mapping[date, int]], weeks: Sequence[IsoWeek], n: int,
                   learned: Sequence[int]) -> bool:
    """Whether ``weeks[n]`` looks like a change against the ``learned`` weeks before it
    (indices), to be kept out of what is learned: a nightly count's highest run from
    ``COUNT_LEARN_Z``. Only a count's: its test has a known sampling law, where against a
    week or two the other figures' spreads are their floors, and a quiet week left out made
    the next, as quiet, a visit against the week before."""
    baseline = [weeks[j] for j in learned]
    for by_night in counts.values():
        peak = count_drift(by_night, baseline, weeks[n]).peak
        if peak is not None and peak >= COUNT_LEARN_Z:
            return True
    return False


def _week_drifts(counts: Mapping[str, Mapping[date, int]], weeks: Sequence[IsoWeek],
                 series: Mapping[str, Sequence[float | None]],
                 learned: Sequence[int]) -> tuple[MetricDrift, ...]:
    """Every metric of the last of ``weeks`` against the ``learned`` weeks (indices)."""
    drifts: list[MetricDrift] = []
    for m in METRICS:
        own = series[m.name]
        if m.count is None:
            drifts.append(_drift(m, own, [v for j in learned if (v := own[j]) is not None]))
        else:
            drift = count_drift(counts[m.name], [weeks[j] for j in learned], weeks[-1])
            drifts.append(_count_metric_drift(m, own, drift))
    return tuple(drifts)


def household_digest(household: str, site: str, days: Mapping[date, DailyActivity],
                     weeks: Sequence[IsoWeek]) -> HouseholdDigest:
    """The digest of the last of ``weeks`` against the weeks before it (oldest first).

    Its baseline is river's filter over the weeks before it: each week with figures is
    judged in turn against its own baseline, and the week just before the last, when it
    looked like a change (a nightly count's highest run from ``COUNT_LEARN_Z``), is left
    out of its baseline, for every figure, so that a change
    starting late in one week is not the normal the next week is judged against. Only that
    one week: a week judged against a single odd week looks changed, and so would every
    week after it, judged against that odd week alone. The first week with figures is
    learned unjudged; the last needs ``MIN_BASELINE_WEEKS`` weeks with figures before it."""
    figures = weekly_figures(days, weeks)
    week = weeks[-1]
    series = {m.name: [None if (f := figures[w]) is None else f[m.name] for w in weeks]
              for m in METRICS}
    counts = _nightly_counts(days)
    seen: list[int] = []  # the earlier weeks with figures
    changed: list[int] = []  # the last of them, when it looked like a change
    for n, earlier in enumerate(weeks[:-1]):
        if figures[earlier] is None:
            continue
        learned = [j for j in seen if j not in changed]
        changed = [n] if learned and _looks_changed(counts, weeks, n, learned) else []
        seen.append(n)
    learned = [j for j in seen if j not in changed]
    baseline_weeks = sum(figures[w] is not None for w in weeks[:-1])
    learning = figures[week] is None or baseline_weeks < MIN_BASELINE_WEEKS
    drifts = _week_drifts(counts, weeks, series, [] if learning else learned)
    days_observed = sum(IsoWeek.of(d) == week for d in days)
    score = sum(d.score for d in drifts)
    if learning:
        status = DigestStatus.LEARNING
    else:
        visit = score >= VISIT_SCORE or any(d.metric.count is not None and d.score >= COUNT_VISIT_Z
                                            for d in drifts)
        status = DigestStatus.VISIT if visit else DigestStatus.STEADY
    return HouseholdDigest(
        household=household, site=site, week=week, weeks=tuple(weeks),
        days_observed=days_observed, baseline_weeks=baseline_weeks, score=score,
        status=status, metrics=drifts,
        kept_out=() if learning else tuple(weeks[j] for j in changed),
    )


def rank(digests: Sequence[HouseholdDigest]) -> list[HouseholdDigest]:
    """Households that need a visit first, then the steady ones, furthest drift first
    within each; those still learning after them; ties by household id."""
    order = {DigestStatus.VISIT: 0, DigestStatus.STEADY: 1, DigestStatus.LEARNING: 2}
    return sorted(digests, key=lambda d: (order[d.status], -d.score, d.household))
