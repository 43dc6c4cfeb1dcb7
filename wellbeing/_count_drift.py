"""How far a nightly count (trips out of bed) rose above the household's own rate: an exact
count test, not a spread estimated from a few weekly figures; pure, no I/O.

A run of nights is judged by the exact Poisson test of its trips against the household's
rate a night over its baseline weeks; its mid-p value becomes a z (how many standard normal
spreads up), so a count of a few trips is judged as the count it is. The baseline rate is
taken as known (four weeks of nights against seven): its own uncertainty is not in the z,
and the bench's false visits say what that costs. Three guards keep it honest:

- the baseline rate is floored (``COUNT_RATE_FLOOR``, one trip a week): weeks of no trips
  do not make a single trip a change;
- a household whose weeks swing more than a Poisson count does (their dispersion, shrunk
  towards Poisson's since a few weeks say little about it) has its counts scaled down by it;
- a week that looks like a change (its highest run ``COUNT_LEARN_Z`` up) is kept out of
  the next week's baseline (river's filter: anomalies are not learned; the digest,
  :mod:`._digest`, chooses the baseline weeks, for every figure).

The runs judged are the 7 nights ending on Thursday to Sunday of the week (the ISO week
itself and the three runs that hold at least 4 of its nights), so that a change that starts
mid-week, split between two ISO weeks, is judged over its own 7 nights too; every run of 7
nights belongs to exactly one week, the one that holds most of it. The highest of them
makes a visit from ``COUNT_VISIT_Z``; below that, the week's own z adds to the drift score
(the highest of four is biased upwards).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

from scipy.special import gammainc

from ._weeks import IsoWeek
from .const import (
    COUNT_DISPERSION_PRIOR_WEEKS,
    COUNT_RATE_FLOOR,
    COUNT_VISIT_Z,
    MIN_DAYS_PER_WEEK,
)

_NORMAL = NormalDist()
# A z beyond this says nothing more (and keeps the normal quantile finite).
_MAX_Z = 8.0
# The runs of 7 nights a week judges: they end on its Thursday (index 3) to Sunday.
_WINDOW_ENDS = range(3, 7)
_MIN_RUN_BASELINE_NIGHTS = 14


def count_excess_z(count: float, nights: int, baseline_rate: float,
                   dispersion: float = 1.0) -> float:
    """How far ``count`` trips over ``nights`` lie above a rate of ``baseline_rate`` a night
    (floored at ``COUNT_RATE_FLOOR``), as a z: the mid-p value of the exact Poisson test,
    counts divided by ``dispersion`` (>= 1). Positive when the count is higher than the
    rate says, at most 0 otherwise.

    >>> round(count_excess_z(21, 7, 1.0), 1)  # three a night after one a night
    4.3
    >>> round(count_excess_z(7, 7, 0.0), 1)  # one a night after none
    3.9
    """
    if nights <= 0:
        raise ValueError("nights must be positive")
    k = count / dispersion
    expected = max(baseline_rate, COUNT_RATE_FLOOR) * nights / dispersion
    # P(X >= k) and P(X >= k + 1) for X ~ Poisson(expected), as regularized incomplete
    # gamma functions (defined for the fractional counts that dispersion gives).
    at_least = 1.0 if k <= 0 else float(gammainc(k, expected))
    mid_p = (at_least + float(gammainc(k + 1, expected))) / 2
    tail = min(max(mid_p, _NORMAL.cdf(-_MAX_Z)), _NORMAL.cdf(_MAX_Z))
    z = -_NORMAL.inv_cdf(tail)
    # A skewed count's mid-p is not one half at its expected value: no rise, no excess.
    return z if k > expected else min(z, 0.0)


@dataclass(frozen=True, slots=True)
class CountDrift:
    """The count test of a week against its baseline weeks: ``peak``, the highest z of its
    runs of nights, and ``own``, the z of the week itself (both ``None`` without baseline);
    the baseline's rate per night (``None`` without baseline) and a week's sampling
    ``spread`` of that rate.

    ``z`` is what the week scores: its peak when that makes a visit, else its own z (the
    highest of four runs is biased upwards)."""

    peak: float | None
    own: float | None
    baseline_rate: float | None
    spread: float | None

    @property
    def z(self) -> float | None:
        return self.peak if self.peak is None or self.peak >= COUNT_VISIT_Z else self.own


def _dispersion(weeks: Sequence[tuple[int, int]], rate: float) -> float:
    """How much more than a Poisson count the weekly (trips, nights) swing around ``rate``,
    at least 1; shrunk towards 1 by COUNT_DISPERSION_PRIOR_WEEKS weeks."""
    chi2 = sum((trips - rate * nights) ** 2 / (rate * nights) for trips, nights in weeks)
    prior = COUNT_DISPERSION_PRIOR_WEEKS
    return max(1.0, (chi2 + prior) / (len(weeks) - 1 + prior))


def _runs(week: IsoWeek) -> list[list[date]]:
    monday = week.monday
    return [[monday + timedelta(days=end - 6 + i) for i in range(7)] for end in _WINDOW_ENDS]


def count_drift(counts: Mapping[date, int], baseline: Sequence[IsoWeek],
                week: IsoWeek) -> CountDrift:
    """The count test of ``week`` against the ``baseline`` weeks (those learned from: which
    they are is the caller's filter).

    ``counts`` holds each observed night's count, keyed by the evening's date.
    """
    if not any(d in counts for w in baseline for d in w.days()):
        return CountDrift(None, None, None, None)
    peak, own, rate, dispersion = _judge(counts, baseline, week)
    spread = math.sqrt(dispersion * max(rate, COUNT_RATE_FLOOR) / 7)
    return CountDrift(peak, own, rate, spread)


def _judge(counts: Mapping[date, int], baseline: Sequence[IsoWeek],
           week: IsoWeek) -> tuple[float | None, float | None, float, float]:
    """(the highest z of ``week``'s runs of nights, the z of the week itself, the baseline's
    rate and dispersion)."""
    rate, dispersion = _rate(counts, baseline, set())
    best: float | None = None
    own: float | None = None
    for run in _runs(week):
        judged = {d for d in run if d in counts}
        if len(judged) < MIN_DAYS_PER_WEEK:
            continue
        # A run that reaches into the week before is judged against two weeks of nights
        # or more: a few nights' less baseline is what a scan over runs would feed on.
        learned = [d for w in baseline for d in w.days() if d in counts and d not in judged]
        if run[0] < week.monday and len(learned) < _MIN_RUN_BASELINE_NIGHTS:
            continue
        # Nights of the run that lie in a baseline week are judged, not learned from.
        run_rate, run_dispersion = _rate(counts, baseline, judged)
        z = count_excess_z(sum(counts[d] for d in judged), len(judged), run_rate,
                           run_dispersion)
        best = z if best is None else max(best, z)
        if run[0] == week.monday:
            own = z
    return best, own, rate, dispersion


def _rate(counts: Mapping[date, int], baseline: Sequence[IsoWeek],
          left_out: set[date]) -> tuple[float, float]:
    """The rate per night of the ``baseline`` weeks' observed nights but ``left_out``, and
    their dispersion."""
    per_week = [(sum(counts[d] for d in nights), len(nights)) for w in baseline
                if (nights := [d for d in w.days() if d in counts and d not in left_out])]
    rate = sum(t for t, _ in per_week) / sum(n for _, n in per_week)
    return rate, _dispersion(per_week, max(rate, COUNT_RATE_FLOOR))
