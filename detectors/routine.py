"""``abnormal_routine``: a household's day breaks the daily pattern it has learned.

Each household learns its own normal day, online, from its own history, in river's shape:
:class:`RoutineModel` learns complete days (:meth:`~RoutineModel.learn_one`) and scores a day
so far against them (:meth:`~RoutineModel.score_one`); :class:`RoutineFilter` turns the
scores into the reasons the day is abnormal and keeps such days out of what the model
learns. :class:`RoutineDetector` feeds them: per message it only adds to the day's hourly
bins (a ring of :class:`RoutineDay`), and it looks at the scores a few times a day.

A day (from ``day_start_hour`` local time) is abnormal for these reasons, each against the
household's own learned days:

- ``not_up`` (Moderate): nobody up well after the latest the household got up on learned
  days of the same kind (weekdays, weekends: looked at once two of the kind are learned);
- ``not_home`` (Moderate): the home still empty an hour into the night, in a household
  that is (almost) never out then;
- ``night_activity`` (Minor): the last few nights, the last week or ten of them, broken far
  more often than the learned nights before them and a guard week (bathroom trips,
  wandering about);
- ``no_water`` (Minor): a day at home without water drawn;
- ``low_activity`` (Minor): far less moving about than on learned days;
- ``stayed_in`` (Minor): days in a row without going out, in a household whose outings
  make such a run unlikely;
- ``withdrawn`` (Minor): over the last week, far less time out and less moving about than
  on the learned days before it (a slow change, which day by day looks normal).

These are for officers to plan a visit, not to wake anyone: Moderate at most, one alert per
household and reason at a time (its subject is ``household/reason``), raised at most once a
day, cleared when the reason is over. Nothing is raised before ``warmup_days`` normal days
are learned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cache, lru_cache
from statistics import NormalDist
from typing import Any, Final

import numpy as np
from scipy.special import gammainc

from safehood.protocol import AlertDecision, AlertType, DecisionAction, Message, Severity

from ._slotted import Slotted
from .base import Decisions, Detector, HouseholdScope, Rule, WatchedHomes, tidy_evidence
from .config import DoorConfig, InactivityConfig, RoutineConfig
from .const import MS_PER_HOUR, MS_PER_MIN, MS_PER_S, RULE_ROUTINE
from .presence import SIGN_OF_LIFE_KINDS, Presence, SignsOfLife

NOT_UP: Final = "not_up"
NOT_HOME: Final = "not_home"
NIGHT_ACTIVITY: Final = "night_activity"
NO_WATER: Final = "no_water"
LOW_ACTIVITY: Final = "low_activity"
STAYED_IN: Final = "stayed_in"
WITHDRAWN: Final = "withdrawn"
REASONS: Final = (NOT_UP, NOT_HOME, NIGHT_ACTIVITY, NO_WATER, LOW_ACTIVITY, STAYED_IN, WITHDRAWN)

SEVERITY: Final[Mapping[str, Severity]] = {
    NOT_UP: Severity.MODERATE, NOT_HOME: Severity.MODERATE, NIGHT_ACTIVITY: Severity.MINOR,
    NO_WATER: Severity.MINOR, LOW_ACTIVITY: Severity.MINOR, STAYED_IN: Severity.MINOR,
    WITHDRAWN: Severity.MINOR,
}
# Reasons known only once the day is over.
_DAY_END_REASONS: Final = (NO_WATER, LOW_ACTIVITY, STAYED_IN, WITHDRAWN)
# A day whose first message came this long after it started was not seen from its start.
_PARTIAL_MS: Final = MS_PER_HOUR
_MINUTES_PER_DAY: Final = 24 * 60
_NORMAL: Final = NormalDist()


@dataclass(slots=True)
class RoutineDay(Slotted):
    """One household's routine day: its counts and what the detector made of them.

    ``activity`` counts signs of life outside bedrooms, ``water`` the meter readings showing
    water drawn. ``up_min`` is when the household got up (minutes after the day started),
    ``out_min`` how long the home was empty (minutes), ``night_wakings`` how often the night
    that ended this morning was broken, ``out_at_night`` whether the home was still empty an
    hour into the night (None: not looked at yet).
    """

    day: date
    weekend: bool
    # Totals, not hourly bins: nothing reads the hours, and a household keeps
    # ``history_days`` days (two arrays of 24 were 370 bytes a day).
    activity: int = 0
    water: int = 0
    up_min: float | None = None
    went_out: bool = False
    out_min: float = 0.0
    night_wakings: int | None = None
    out_at_night: bool | None = None
    away_all_day: bool = True
    elapsed_min: float = 0.0
    partial: bool = False

    @property
    def total_activity(self) -> int:
        return self.activity

    @property
    def total_water(self) -> int:
        return self.water

    def __setstate__(self, state: dict[str, Any] | tuple[None, dict[str, Any]]) -> None:
        values = dict(state[1] if isinstance(state, tuple) else state)
        for name in ("activity", "water"):
            if not isinstance(values.get(name, 0), int):
                # A checkpoint written when days kept hourly bins (a list or an array).
                values[name] = sum(values[name])
        Slotted.__setstate__(self, values)


@dataclass(frozen=True, slots=True)
class RoutineObservation:
    """What :meth:`RoutineModel.score_one` scores: the day so far (``today``), the days
    before it, most recent last (learned or not: runs of days matter), and whether the day
    is over."""

    today: RoutineDay
    recent: tuple[RoutineDay, ...] = ()
    complete: bool = False


@dataclass(frozen=True, slots=True)
class ReasonScore:
    """How far one aspect of the day is from the learned normal: ``score`` 1 is the edge of
    normal, above is abnormal; ``evidence`` holds the figures behind it."""

    reason: str
    score: float
    evidence: Mapping[str, Any]


def poisson_z(observed: int, expected: float) -> float:
    """The chance of at least ``observed`` counts where ``expected`` are expected (Poisson),
    as standard normal deviations above the mean: 3.0 for a chance of 0.00135.

    >>> round(poisson_z(4, 1.0), 2), round(poisson_z(12, 3.0), 2)
    (2.08, 3.8)
    """
    if observed <= 0:
        return 0.0
    if expected <= 0:
        return math.inf
    # P(X >= observed), X ~ Poisson(expected): the regularized incomplete gamma function,
    # as the digest's count test (wellbeing/_count_drift.py) takes it.
    tail = float(gammainc(observed, expected))
    if tail <= 0.0:
        return math.inf
    return -_NORMAL.inv_cdf(min(tail, 0.5)) if tail < 0.5 else 0.0


def _clock(minutes_after_start: float, day_start_hour: int) -> str:
    minutes = round(minutes_after_start + day_start_hour * 60) % _MINUTES_PER_DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class RoutineModel(Slotted):
    """A household's normal day, learned online from its own complete days.

    Keeps the last ``history_days`` learned :class:`RoutineDay` (a ring) and works out of
    them: the times it got up (by weekday or weekend), night-time wakings, activity, water
    use, and how often it went out and was out at night.

    Parameters
    ----------
    config
        :class:`~detectors.config.RoutineConfig`.

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> model = RoutineModel()
    >>> for n in range(7):  # a week of getting up at 07:00 (4 h after the day starts at 03:00)
    ...     day = RoutineDay(date(2026, 3, 2) + timedelta(days=n), weekend=n >= 5, up_min=240,
    ...                      night_wakings=1, went_out=True, out_at_night=False)
    ...     day.activity, day.water, day.away_all_day = 100, 5, False
    ...     model.learn_one(day)
    >>> late = RoutineDay(date(2026, 3, 9), weekend=False, elapsed_min=480)  # 11:00, nobody up
    >>> scores = model.score_one(RoutineObservation(late))
    >>> round(scores["not_up"].score, 2), scores["not_up"].evidence["usual_up"]
    (2.0, '07:00')
    """

    __slots__ = ("_nights_kept", "config", "days", "nights")

    def __init__(self, config: RoutineConfig | None = None) -> None:
        self.config = config or RoutineConfig()
        # Lists, not deques: an empty deque takes over 600 bytes, a household has three.
        self.days: list[RoutineDay] = []
        # The learned nights' wakings, (night, wakings), kept longer than the days: the
        # nights judged and those just before them are not in the baseline, which still
        # needs ``history_days`` nights.
        self.nights: list[tuple[date, int]] = []
        self._nights_kept = (self.config.history_days + max(self.config.night_windows)
                             + self.config.night_guard_days)

    @property
    def n_days(self) -> int:
        """How many days have been learned (at most ``history_days`` are kept)."""
        return len(self.days)

    def learn_one(self, day: RoutineDay) -> None:
        """Learn one complete day."""
        self.days.append(day)
        if len(self.days) > self.config.history_days:
            del self.days[0]
        if day.night_wakings is not None:
            self.nights.append((day.day, day.night_wakings))
            if len(self.nights) > self._nights_kept:
                del self.nights[0]

    def score_one(self, x: RoutineObservation) -> dict[str, ReasonScore]:
        """Score what is known of ``x`` so far, one :class:`ReasonScore` per reason that can
        be scored (none before two days are learned)."""
        if len(self.days) < 2:
            return {}
        today = x.today
        scores = [self._not_up(today), self._not_home(today), self._night(x)]
        if x.complete:
            scores += [self._no_water(today), self._low_activity(today), self._stayed_in(x),
                       self._withdrawn(x)]
        return {s.reason: s for s in scores if s is not None}

    # -- one reason each ---------------------------------------------------------------

    def up_times(self, weekend: bool) -> list[float]:
        """When the household got up on learned days of the same kind, weekend or not
        (minutes after the day's start): a later weekend morning is its own normal."""
        return [d.up_min for d in self.days if d.up_min is not None and d.weekend == weekend]

    def _not_up(self, today: RoutineDay) -> ReasonScore | None:
        ups = self.up_times(today.weekend)
        if len(ups) < 2:
            return None
        latest = max(ups)
        margin_min = self.config.late_margin_s / 60
        at = today.up_min if today.up_min is not None else today.elapsed_min
        hour = self.config.day_start_hour
        # Rounded: the check is due at the edge (latest + margin), where float minutes may
        # land a hair below 1 and a morning in bed would pass unflagged.
        score = round(max(0.0, (at - latest) / margin_min), 9)
        return ReasonScore(NOT_UP, score, {
            "usual_up": _clock(float(np.median(ups)), hour), "latest_usual_up": _clock(latest, hour),
            "up_at": None if today.up_min is None else _clock(today.up_min, hour),
            "late_by_s": max(0.0, (at - latest) * 60), "days_learned": len(ups),
        })

    def _not_home(self, today: RoutineDay) -> ReasonScore | None:
        if today.out_at_night is None:
            return None
        seen = [d.out_at_night for d in self.days if d.out_at_night is not None]
        if len(seen) < 2:
            return None
        share = sum(seen) / len(seen)
        limit = self.config.not_home_share
        score = (limit + 0.01) / (share + 0.01) if today.out_at_night else 0.0
        return ReasonScore(NOT_HOME, score, {"usual_out_at_night_share": share,
                                             "days_learned": len(seen)})

    def _night(self, x: RoutineObservation) -> ReasonScore | None:
        """The last few nights, the last week and the last ten of them, each against the
        learned nights before it and before ``night_guard_days`` more: a few nights broken
        far more often show in the short window, nights that break a little more often each
        night in the long ones. Neither the nights judged nor those just before them are in
        the baseline: a change that comes in over a few nights looks normal night by night,
        is learned, and would raise it."""
        config = self.config
        if x.today.night_wakings is None:
            return None
        days = [*x.recent, x.today]
        best: ReasonScore | None = None
        for window in config.night_windows:
            before = x.today.day - timedelta(days=window + config.night_guard_days)
            learned = [n for night, n in self.nights if night <= before][-config.history_days:]
            if len(learned) < config.warmup_days:
                continue
            nights = [d.night_wakings for d in days[-window:]
                      if d.day > x.today.day - timedelta(days=window)]
            recent = [n for n in nights if n is not None]
            if len(recent) < window:
                continue  # a night not seen (or not in the ring): too few to judge
            mean, var = float(np.mean(learned)), float(np.var(learned))
            # A rate learned over n nights is uncertain by about half a waking: a household
            # never seen up at night is not certain never to get up.
            rate = (sum(learned) + 0.5) / len(learned)
            k = len(recent)
            recent_mean = sum(recent) / k
            extra = recent_mean - mean
            # How unlikely so many wakings are: the exact Poisson tail (the normal
            # approximation makes 4 wakings in 3 nights, after one a night in three, a
            # 3-sigma event; it is a 2-in-100 one), or the household's own spread where its
            # nights vary more than Poisson's.
            z = poisson_z(sum(recent), rate * k)
            if var > mean:
                z = min(z, extra / math.sqrt(var / k))
            score = max(0.0, min(
                recent_mean / (config.night_ratio * max(mean, 0.25)),
                extra / config.night_min_extra if config.night_min_extra > 0 else math.inf,
                z / config.z,
            ))
            if best is None or score > best.score:
                best = ReasonScore(NIGHT_ACTIVITY, score, {
                    "night_wakings": recent, "usual_night_wakings": mean,
                    "nights_learned": len(learned)})
        return best

    def _no_water(self, today: RoutineDay) -> ReasonScore | None:
        if today.away_all_day:
            return None
        share = sum(d.total_water > 0 for d in self.days) / len(self.days)
        score = share / self.config.water_share if today.total_water == 0 else 0.0
        return ReasonScore(NO_WATER, score, {
            "water_uses": today.total_water, "usual_days_with_water_share": share,
            "days_learned": len(self.days)})

    def _low_activity(self, today: RoutineDay) -> ReasonScore | None:
        if today.away_all_day:
            return None
        learned = [d.total_activity for d in self.days]
        mean, std = float(np.mean(learned)), float(np.std(learned))
        total = today.total_activity
        config = self.config
        score = min((mean - total) / max(config.z * std, 1.0),
                    config.low_activity_ratio * mean / max(total, 1))
        return ReasonScore(LOW_ACTIVITY, max(0.0, score), {
            "activity": total, "usual_activity": mean, "usual_activity_std": std,
            "days_learned": len(learned)})

    def _stayed_in(self, x: RoutineObservation) -> ReasonScore | None:
        run = 0
        for day in (x.today, *reversed(x.recent)):
            if day.went_out or day.partial:
                break
            run += 1
        share = sum(d.went_out for d in self.days) / len(self.days)
        config = self.config
        if run < config.stayed_in_min_days or share <= 0:
            score = 0.0
        elif share >= 1:
            score = math.inf
        else:
            score = run * math.log(1 - share) / math.log(config.stayed_in_chance)
        return ReasonScore(STAYED_IN, score, {
            "days_without_going_out": run, "usual_days_out_share": share,
            "days_learned": len(self.days)})


    def _withdrawn(self, x: RoutineObservation) -> ReasonScore | None:
        """The last week against the learned days before it: a slow change is learned day by
        day, so it is only seen against what came before."""
        config = self.config
        week = [*x.recent, x.today][-config.withdrawal_days:]
        if len(week) < config.withdrawal_days or any(d.partial for d in week):
            return None
        before = [d for d in self.days if d.day < week[0].day]
        if len(before) < config.warmup_days:
            return None
        out_before = float(np.mean([d.out_min for d in before]))
        out_week = float(np.mean([d.out_min for d in week]))
        activity_before = float(np.mean([d.total_activity for d in before]))
        activity_week = float(np.mean([d.total_activity for d in week]))
        if out_before * len(week) * 60 < config.withdrawal_min_out_s:
            score = 0.0  # too little time out usually to see it stop
        else:
            score = min(config.withdrawal_out_ratio * out_before / max(out_week, 1.0),
                        config.withdrawal_activity_ratio * activity_before
                        / max(activity_week, 1.0))
        return ReasonScore(WITHDRAWN, score, {
            "out_min_a_day": out_week, "usual_out_min_a_day": out_before,
            "activity": activity_week, "usual_activity": activity_before,
            "days": len(week), "days_learned_before": len(before)})


class RoutineFilter(Slotted):
    """Turns a :class:`RoutineModel`'s scores into decisions, river's ``ThresholdFilter``
    style: a reason whose score reaches ``threshold`` is abnormal, and a day with an
    abnormal reason is not learned (one bad day must not teach the model that it is normal).

    Parameters
    ----------
    model
        The model it wraps.
    warmup_days
        No reason is abnormal before the model has learned this many days.
    threshold
        Score at and above which a reason is abnormal.
    """

    __slots__ = ("model", "skipped_days", "threshold", "warmup_days")

    def __init__(self, model: RoutineModel, warmup_days: int, threshold: float = 1.0) -> None:
        self.model = model
        self.warmup_days = warmup_days
        self.threshold = threshold
        #: Complete days kept out of the model for breaking the pattern.
        self.skipped_days = 0

    @property
    def ready(self) -> bool:
        return self.model.n_days >= self.warmup_days

    def score_one(self, x: RoutineObservation) -> dict[str, ReasonScore]:
        return self.model.score_one(x)

    def abnormal(self, scores: Mapping[str, ReasonScore]) -> list[ReasonScore]:
        """The reasons among ``scores`` that break the pattern (none during warm-up)."""
        if not self.ready:
            return []
        return [s for s in scores.values() if s.score >= self.threshold]

    def learn_one(self, x: RoutineObservation) -> bool:
        """Learn the complete day of ``x`` unless it is abnormal or partial; True if learned.

        During warm-up every whole day is learned, except one that is abnormal against what
        was learned so far (at least two days)."""
        if x.today.partial:
            return False
        if any(s.score >= self.threshold for s in self.model.score_one(x).values()):
            self.skipped_days += 1
            return False
        self.model.learn_one(x.today)
        return True


class RoutineDetector(Slotted, Detector):
    """One household's routine: counts its day, checks it against what it learned.

    Checks happen at the deadline for getting up (``not_up``), at the end of the night
    hours (``night_activity``), an hour into the night hours (``not_home``) and at the end
    of the day (the rest). Per message the detector only updates counters.

    Parameters
    ----------
    household
        The household.
    config
        :class:`~detectors.config.RoutineConfig`.
    inactivity_config, door_config
        What counts as a sign of life and how exits are told from arrivals, shared with
        ``inactivity`` (see :mod:`detectors.presence`).

    Examples
    --------
    >>> from datetime import time
    >>> from zoneinfo import ZoneInfo
    >>> from safehood.protocol import DeviceEvent, Message, Placement, Resident
    >>> home = HouseholdScope("h1", "s1", None, True, ZoneInfo("UTC"), time(22), time(6),
    ...                       (Resident("r1", "h1", "Wang Fang", elderly=True),))
    >>> detector = RoutineDetector(home)
    >>> monday = 1_772_409_600_000  # 2026-03-02 00:00 UTC
    >>> def motion(ts_ms, room="kitchen"):
    ...     reading = DeviceEvent(ts=ts_ms, kind="motion", event="motion")
    ...     return Message.from_reading(reading, Placement(f"m-{room}", "s1", household="h1",
    ...                                                      room=room))
    >>> decisions = []
    >>> for day in range(10):
    ...     start = monday + day * 86_400_000
    ...     if day == 9:  # stays in bed
    ...         decisions += detector.advance(start + 14 * 3_600_000)
    ...         break
    ...     for minute in range(7 * 60, 21 * 60, 5):  # up at 07:00, about until 21:00
    ...         ts = start + minute * 60_000
    ...         decisions += detector.advance(ts) + detector.process_one(motion(ts))
    >>> [(d.subject, d.evidence["usual_up"], d.severity.value) for d in decisions]
    [('h1/not_up', '07:00', 'Moderate')]
    """

    kinds = SIGN_OF_LIFE_KINDS
    # One a household: slotted (no ``__dict__``), as are the objects it holds.
    __slots__ = (
        "_away_since_ms", "_end_ms", "_last_sign_ms", "_night_gap_ms", "_open", "_pending",
        "_presence", "_raised", "_signs", "_start_ms", "_up_span_ms", "_up_window",
        "_up_window_ms", "_waking_night", "_wakings", "config", "filter", "household", "model",
        "recent", "today",
    )

    def __init__(
        self,
        household: HouseholdScope,
        config: RoutineConfig | None = None,
        inactivity_config: InactivityConfig | None = None,
        door_config: DoorConfig | None = None,
    ) -> None:
        self.household = household
        self.config = config or RoutineConfig()
        signs_config = inactivity_config or InactivityConfig()
        self.model = RoutineModel(self.config)
        self.filter = RoutineFilter(self.model, self.config.warmup_days)
        self._signs = SignsOfLife(signs_config)
        self._presence = Presence(signs_config, door_config)
        self.today: RoutineDay | None = None
        self._start_ms = 0
        self._end_ms = 0
        self.recent: list[RoutineDay] = []  # the last 14 days
        self._up_window: list[int] = []
        self._up_window_ms = _ms(self.config.up_window_s)
        self._up_span_ms = _ms(self.config.up_span_s)
        self._night_gap_ms = _ms(self.config.night_gap_s)
        self._away_since_ms: int | None = None  # when the home last became empty, if it is
        self._last_sign_ms: int | None = None  # last sign of life outside a bedroom
        self._waking_night: date | None = None  # the night whose waking that sign is part of
        self._wakings: dict[date, int] = {}  # night (the date it started) -> wakings so far
        self._pending: dict[str, int] = {}  # today's checks not done yet -> when due
        self._raised: dict[str, date] = {}  # reason -> day of its last raise
        # Reasons raised and not cleared; a dict as a set (an empty set takes 216 bytes).
        self._open: dict[str, None] = {}

    # -- the day ----------------------------------------------------------------------

    def _day_of(self, ts_ms: int) -> date:
        local = self.household.local(ts_ms) - timedelta(hours=self.config.day_start_hour)
        return local.date()

    def _at(self, day: date, moment: time) -> int:
        """Epoch ms of local ``moment`` within the routine day ``day`` (which starts at
        ``day_start_hour``: earlier times of day fall on the next calendar date)."""
        return _local_ms(day, moment, self.household.zone, self.config.day_start_hour)

    def _open_day(self, day: date, first_ms: int) -> None:
        self.today = RoutineDay(day, weekend=day.weekday() >= 5)
        self._start_ms = self._at(day, time(self.config.day_start_hour))
        self._end_ms = self._at(day + timedelta(days=1), time(self.config.day_start_hour))
        self.today.partial = first_ms - self._start_ms > _PARTIAL_MS
        self.today.away_all_day = self._presence.away
        self._up_window.clear()
        self._plan_checks(day)

    def _observation(self, now_ms: int, complete: bool = False) -> RoutineObservation:
        assert self.today is not None
        self.today.elapsed_min = (min(now_ms, self._end_ms) - self._start_ms) / MS_PER_MIN
        return RoutineObservation(self.today, tuple(self.recent), complete)

    # -- checks ---------------------------------------------------------------------

    def _plan_checks(self, day: date) -> None:
        """When today's checks are due: worked out once a day, so that a message costs only
        the counting."""
        household = self.household
        pending = {
            "night": self._at(day, household.night_end),
            NOT_HOME: self._at(day, household.night_start)
            + int(self.config.not_home_after_s * MS_PER_S),
        }
        ups = self.model.up_times(day.weekday() >= 5)
        if self.filter.ready and len(ups) >= 2:
            # Rounded up: a check a ms early would find the morning not late yet.
            pending[NOT_UP] = self._start_ms + math.ceil(
                (max(ups) * 60 + self.config.late_margin_s) * MS_PER_S)
        self._pending = pending

    @property
    def deadline_ms(self) -> int | None:
        if self.today is None:
            return None
        return min([self._end_ms, *self._pending.values()])

    def advance(self, now_ms: int) -> Decisions:
        return self._run_due(now_ms, decide=True)

    def _run_due(self, now_ms: int, decide: bool) -> Decisions:
        """Run the checks due at or before ``now_ms``, in time order (closing days on the way)."""
        out: Decisions = []
        while self.today is not None:
            due = [(at, what) for what, at in self._pending.items() if at <= now_ms]
            if due:
                at, what = min(due)
                del self._pending[what]
                out += self._check(what, at, decide)
            elif self._end_ms <= now_ms:
                out += self._close_day(self._end_ms, decide)
            else:
                return out
        return out

    def _check(self, what: str, at: int, decide: bool) -> Decisions:
        today = self.today
        assert today is not None
        if what == "night":
            night = today.day - timedelta(days=1)
            wakings = self._wakings.get(night, 0)
            last = self._last_sign_ms
            if (wakings and self._waking_night == night and last is not None
                    and at - last < self._night_gap_ms):
                wakings -= 1  # up for the day before the night hours ended
            today.night_wakings = wakings
            self._wakings = {k: v for k, v in self._wakings.items() if k >= today.day}
            reason = NIGHT_ACTIVITY
        elif what == NOT_HOME:
            today.out_at_night = self._presence.away
            reason = NOT_HOME
        else:
            if today.up_min is not None or self._presence.away:
                return []  # up, or out before getting up (or never came home): not a lie-in
            window = self._up_window
            if window and at - window[-1] < self._up_span_ms:
                # Moving about now: up, or a trip to the bathroom? Known once the stretch
                # has lasted, or lapsed.
                self._pending[NOT_UP] = max(window[0] + self._up_window_ms,
                                            window[-1] + self._up_span_ms)
                return []
            reason = NOT_UP
        if not decide:
            return []
        scores = self.filter.score_one(self._observation(at))
        return self._decide(scores, (reason,), at)

    def _count_away(self, until_ms: int) -> None:
        """Add the time the home has been empty, up to ``until_ms``, to today."""
        assert self.today is not None
        since = self._away_since_ms
        if since is not None:
            self.today.out_min += max(0, until_ms - max(since, self._start_ms)) / MS_PER_MIN
        self._away_since_ms = until_ms if self._presence.away else None

    def _close_day(self, at: int, decide: bool) -> Decisions:
        today = self.today
        assert today is not None
        self._count_away(at)
        observation = self._observation(at, complete=True)
        out: Decisions = []
        if decide:
            scores = self.filter.score_one(observation)
            out += self._decide(scores, _DAY_END_REASONS, at)
            for reason in (NIGHT_ACTIVITY, *_DAY_END_REASONS):
                score = scores.get(reason)
                if reason in self._open and (score is None or score.score < self.filter.threshold):
                    out.append(self._decision(DecisionAction.CLEAR, reason, at, {}))
        self.filter.learn_one(observation)
        self.recent.append(today)
        if len(self.recent) > 14:
            del self.recent[0]
        next_day = today.day + timedelta(days=1)
        self._open_day(next_day, at)
        return out

    def _decide(self, scores: Mapping[str, ReasonScore], reasons: Iterable[str],
                at: int) -> Decisions:
        assert self.today is not None
        out: Decisions = []
        for score in self.filter.abnormal(scores):
            reason = score.reason
            if (reason not in reasons or reason in self._open
                    or self._raised.get(reason) == self.today.day):
                continue  # one alert while it lasts, and at most one a day
            self._raised[reason] = self.today.day
            out.append(self._decision(DecisionAction.RAISE, reason, at, score.evidence))
        return out

    def _decision(self, action: DecisionAction, reason: str, at: int,
                  evidence: Mapping[str, Any]) -> AlertDecision:
        if action == DecisionAction.CLEAR:
            self._open.pop(reason, None)
        else:
            self._open[reason] = None
        home = self.household
        residents = home.residents
        return AlertDecision(
            action=action, type=AlertType.ABNORMAL_ROUTINE, severity=SEVERITY[reason],
            subject=f"{home.id}/{reason}", site=home.site, ts_ms=at, household=home.id,
            resident=residents[0].id if len(residents) == 1 else None,
            evidence=tidy_evidence({"reason": reason, **evidence}),
        )

    # -- messages ---------------------------------------------------------------------

    def learn_one(self, message: Message) -> None:
        self._start(message.ts_ms)
        self._run_due(message.ts_ms, decide=False)
        self._count(message)

    def process_one(self, message: Message) -> Decisions:
        self._start(message.ts_ms)
        out = self._run_due(message.ts_ms, decide=True)
        return out + self._count(message)

    def _start(self, ts_ms: int) -> None:
        if self.today is None:
            self._open_day(self._day_of(ts_ms), ts_ms)

    def _count(self, message: Message) -> Decisions:
        today = self.today
        ts = message.ts_ms
        if today is None or ts < self._start_ms or not self._signs.is_sign(message):
            return []
        was_away = self._presence.away
        self._presence.observe(message)
        away = self._presence.away
        out: Decisions = []
        if away:
            today.went_out = True
            if not was_away:
                self._away_since_ms = ts
        else:
            today.away_all_day = False
            if was_away:
                self._count_away(ts)
            if was_away and NOT_HOME in self._open:
                out.append(self._decision(DecisionAction.CLEAR, NOT_HOME, ts, {"back": True}))
        if message.kind == "wearable" or (message.room or "").startswith("bedroom"):
            return out
        today.activity += 1
        if message.kind == "water":
            today.water += 1
        last, self._last_sign_ms = self._last_sign_ms, ts
        if self.household.is_night(ts):
            if last is None or ts - last >= self._night_gap_ms:
                night = (self.household.local(ts) - timedelta(hours=12)).date()
                self._wakings[night] = self._wakings.get(night, 0) + 1
                self._waking_night = night
            return out
        if today.up_min is not None:
            return out
        window = self._up_window
        window.append(ts)
        while ts - window[0] > self._up_window_ms:
            del window[0]
        if len(window) >= self.config.up_events and ts - window[0] >= self._up_span_ms:
            today.up_min = (window[0] - self._start_ms) / MS_PER_MIN
            self._pending.pop(NOT_UP, None)
            if NOT_UP in self._open:
                out.append(self._decision(DecisionAction.CLEAR, NOT_UP, ts, {
                    "up_at": _clock(today.up_min, self.config.day_start_hour)}))
        return out


# Cached: the households of a zone share these ints (32 bytes each, every household).
@cache
def _ms(seconds: float) -> int:
    return int(seconds * MS_PER_S)


@lru_cache(maxsize=1024)
def _local_ms(day: date, moment: time, zone: tzinfo, day_start_hour: int) -> int:
    when = datetime.combine(day, moment, tzinfo=zone)
    if moment.hour < day_start_hour:
        when += timedelta(days=1)
    return int(when.timestamp() * MS_PER_S)


_HOMES = WatchedHomes()


ROUTINE_RULE = Rule(
    RULE_ROUTINE, "household", RoutineDetector.kinds, _HOMES.scope_of,
    lambda household, device, view: RoutineDetector(
        view.households[household], config=view.config.routine,
        inactivity_config=view.config.inactivity, door_config=view.config.door),
    rebind=_HOMES.rebind,
)
