"""Daily life: where each resident is and what they do, as a timeline of segments.

Routines follow the household's local time: sleep with a night-time bathroom visit or two,
waking, washing, meals (one resident cooks), going out (work on weekdays for adults, the
market and a walk for elderly people), naps, TV in the evening. Outings stay out of the
household's night hours, so that a door opening at night is never ordinary traffic.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ._community import HouseholdSpec, ResidentSpec
from ._rng import py_rng
from .const import MINUTE_MS, OUT

SLEEP = "sleep"
NAP = "nap"
TOILET = "toilet"
WASH = "wash"
SHOWER = "shower"
COOK = "cook"
EAT = "eat"
CLEAN = "clean"
CHORES = "chores"
SIT = "sit"
AWAY = "out"
VISIT = "visit"
FALLEN = "fallen"  # on the floor after a fall, conscious or not
COLLAPSED = "collapsed"  # no sign of life until found
WANDER = "wander"  # out at night, disoriented

RESTING = frozenset({SLEEP, NAP})
STILL = frozenset({FALLEN, COLLAPSED})


@dataclass(frozen=True, slots=True)
class Segment:
    """``[start, end)`` in epoch ms, spent at ``place`` (a room, or ``out``) doing ``act``."""

    start: int
    end: int
    place: str
    act: str

    @property
    def home(self) -> bool:
        return self.place != OUT


class Timeline:
    """A resident's contiguous, ordered segments; scenarios cut into it with :meth:`override`."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self._starts: list[int] = []

    @property
    def end(self) -> int:
        return self.segments[-1].end if self.segments else 0

    def extend(self, segments: list[Segment]) -> None:
        for seg in segments:
            if seg.end <= seg.start:
                continue
            if self.segments and seg.start < self.end:
                seg = Segment(self.end, seg.end, seg.place, seg.act)
                if seg.end <= seg.start:
                    continue
            self.segments.append(seg)
            self._starts.append(seg.start)

    def at(self, t: int) -> Segment | None:
        i = bisect.bisect_right(self._starts, t) - 1
        if i < 0:
            return None
        seg = self.segments[i]
        return seg if t < seg.end else None

    def starting_in(self, a: int, b: int) -> list[Segment]:
        lo = bisect.bisect_left(self._starts, a)
        hi = bisect.bisect_left(self._starts, b)
        return self.segments[lo:hi]

    def before(self, seg: Segment) -> Segment | None:
        i = bisect.bisect_left(self._starts, seg.start) - 1
        return self.segments[i] if i >= 0 else None

    def prune(self, before: int) -> None:
        """Forget segments that ended before ``before`` (a long live run keeps going)."""
        i = 0
        while i < len(self.segments) and self.segments[i].end < before:
            i += 1
        if i:
            del self.segments[:i]
            del self._starts[:i]

    def override(self, start: int, end: int, replacement: list[Segment]) -> None:
        """Replace whatever happens in ``[start, end)`` by ``replacement`` (which must cover it)."""
        kept: list[Segment] = []
        for seg in self.segments:
            if seg.end <= start or seg.start >= end:
                kept.append(seg)
                continue
            if seg.start < start:
                kept.append(Segment(seg.start, start, seg.place, seg.act))
            if seg.end > end:
                kept.append(Segment(end, seg.end, seg.place, seg.act))
        kept.extend(s for s in replacement if s.end > s.start)
        kept.sort(key=lambda s: s.start)
        self.segments = kept
        self._starts = [s.start for s in kept]


@dataclass(frozen=True, slots=True)
class Meals:
    breakfast: int
    lunch: int
    dinner: int


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One resident's waking day (``segments`` from wake to bed) and the night that follows."""

    wake: int
    bed: int
    segments: tuple[Segment, ...]
    night_trips: int


def local_midnight(zone: ZoneInfo, day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


def local_date(zone: ZoneInfo, t_ms: int) -> date:
    return datetime.fromtimestamp(t_ms / 1000, tz=zone).date()


# A time of day in minutes, drawn as (mean, sd, lo, hi) and moved by the resident's own shift.
_Clock = tuple[float, float, float, float]
# The morning wash: (act, lo, hi), each lasting lo to hi minutes in the bathroom.
_Wash = tuple[tuple[str, float, float], ...]


class _Builder:
    """One resident's day in the making: getting up around ``wake`` and washing, then
    segment by segment until bedtime, drawn around ``bed``."""

    def __init__(self, rng: random.Random, midnight: int, resident: ResidentSpec, wake: _Clock,
                 bed: _Clock, wash: _Wash) -> None:
        self.rng = rng
        self.midnight = midnight
        self.resident = resident
        wake_minute = _shifted(rng, *wake, resident.routine.wake_shift_min)
        self.bed_minute = _shifted(rng, *bed, resident.routine.bed_shift_min)
        self.wake = self.t = self.at(wake_minute)
        self.segments: list[Segment] = []
        for act, lo, hi in wash:
            self.add(act, "bathroom", rng.uniform(lo, hi))

    def at(self, minute: float) -> int:
        return self.midnight + int(minute * MINUTE_MS)

    def add(self, act: str, place: str, minutes: float) -> None:
        end = self.t + int(minutes * MINUTE_MS)
        self.segments.append(Segment(self.t, end, place, act))
        self.t = end

    def fill_until(self, target: int, idle: tuple[tuple[str, str], ...]) -> None:
        """Idle until ``target``: sitting, pottering about, a bathroom visit every hour or two."""
        while target - self.t > 2 * MINUTE_MS:
            act, place = self.rng.choice(idle)
            chunk = min((target - self.t) / MINUTE_MS, self.rng.uniform(30, 120))
            self.add(act, place, chunk)
            if target - self.t > 15 * MINUTE_MS and self.rng.random() < 0.45:
                self.add(TOILET, "bathroom", self.rng.uniform(2, 5))
        if self.t < target:
            self.add(idle[0][0], idle[0][1], (target - self.t) / MINUTE_MS)

    def finish(self, evening: tuple[tuple[str, str], ...]) -> DayPlan:
        """The day as planned, wound down with ``evening`` until a last bathroom visit before
        bed, and the trips of the night that follows."""
        self.fill_until(max(self.t, self.at(self.bed_minute) - 5 * MINUTE_MS), evening)
        self.add(TOILET, "bathroom", self.rng.uniform(3, 5))
        return DayPlan(self.wake, self.t, tuple(self.segments), _night_trips(self.rng, self.resident))


_ELDERLY_IDLE = ((SIT, "living"), (SIT, "living"), (CHORES, "kitchen"), (CHORES, "living"),
                 (CHORES, "bedroom"))
_ADULT_IDLE = ((SIT, "living"), (CHORES, "living"), (CHORES, "kitchen"))
_ELDERLY_WASH: _Wash = ((TOILET, 3, 7), (WASH, 5, 10))
_ADULT_WASH: _Wash = ((TOILET, 3, 6), (SHOWER, 8, 12))


def household_meals(seed: int, household: HouseholdSpec, day: date) -> Meals:
    rng = py_rng(seed, "meals", household.index, day.toordinal())
    midnight = local_midnight(household.zone, day)
    return Meals(
        breakfast=midnight + int(rng.uniform(405, 450) * MINUTE_MS),
        lunch=midnight + int(rng.uniform(690, 735) * MINUTE_MS),
        dinner=midnight + int(rng.uniform(1065, 1125) * MINUTE_MS),
    )


def plan_day(seed: int, household: HouseholdSpec, resident: ResidentSpec, day: date) -> DayPlan:
    """The waking day of ``resident`` on local date ``day``; deterministic per (seed, day)."""
    index = household.residents.index(resident)
    rng = py_rng(seed, "day", household.index, index, day.toordinal())
    meals = household_meals(seed, household, day)
    midnight = local_midnight(household.zone, day)
    weekday = day.weekday() < 5
    if resident.elderly:
        return _elderly_day(rng, midnight, resident, meals)
    if weekday and resident.works:
        return _workday(rng, midnight, resident, meals)
    return _weekend_day(rng, midnight, resident, meals)


def _clamp(value: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, value))


def _shifted(rng: random.Random, mean: float, sd: float, lo: float, hi: float,
             shift: float) -> float:
    """A time of day (minutes) drawn around ``mean + shift``, clamped to the shifted range."""
    return _clamp(rng.gauss(mean + shift, sd), lo + shift, hi + shift)


def _meal(b: _Builder, resident: ResidentSpec, at: int, cook_minutes: float,
          idle: tuple[tuple[str, str], ...]) -> None:
    if resident.cook:
        b.fill_until(at - int(cook_minutes * MINUTE_MS), idle)
        b.add(COOK, "kitchen", cook_minutes)
    else:
        b.fill_until(at, idle)
    b.add(EAT, "kitchen", b.rng.uniform(15, 25))
    if resident.cook:
        b.add(CLEAN, "kitchen", b.rng.uniform(4, 8))


def _night_trips(rng: random.Random, resident: ResidentSpec) -> int:
    weights = resident.routine.night_trip_weights
    if weights is None:
        weights = (0.2, 0.5, 0.3) if resident.elderly else (0.7, 0.3, 0.0)
    return rng.choices((0, 1, 2), weights=weights)[0]


def _share(drawn: float | None, default: float) -> float:
    return default if drawn is None else drawn


def _elderly_day(rng: random.Random, midnight: int, resident: ResidentSpec, meals: Meals) -> DayPlan:
    routine = resident.routine
    b = _Builder(rng, midnight, resident, (375, 25, 330, 440), (1290, 25, 1230, 1350),
                 _ELDERLY_WASH)
    idle = _ELDERLY_IDLE
    _meal(b, resident, meals.breakfast, rng.uniform(10, 20), idle)
    if rng.random() < _share(routine.outing_share, 0.7):
        b.fill_until(b.at(rng.uniform(480, 570)), idle)
        b.add(AWAY, OUT, rng.uniform(60, 120))
    _meal(b, resident, meals.lunch, rng.uniform(20, 40), idle)
    if rng.random() < _share(routine.nap_share, 0.6):
        b.fill_until(b.at(rng.uniform(780, 810)), idle)
        b.add(NAP, resident.bedroom, rng.uniform(40, 90))
    if rng.random() < _share(routine.afternoon_outing_share, 0.5):
        b.fill_until(b.at(rng.uniform(900, 960)), idle)
        b.add(AWAY, OUT, rng.uniform(30, 90))
    _meal(b, resident, meals.dinner, rng.uniform(25, 45), idle)
    if rng.random() < 0.5:
        b.fill_until(b.at(rng.uniform(1170, 1230)), idle)
        b.add(SHOWER, "bathroom", rng.uniform(10, 15))
    return b.finish(((SIT, "living"),))


def _workday(rng: random.Random, midnight: int, resident: ResidentSpec, meals: Meals) -> DayPlan:
    b = _Builder(rng, midnight, resident, (400, 12, 375, 425), (1365, 20, 1320, 1410),
                 _ADULT_WASH)
    idle = _ADULT_IDLE
    if resident.cook:
        b.add(COOK, "kitchen", rng.uniform(8, 12))
    b.add(EAT, "kitchen", rng.uniform(10, 15))
    b.fill_until(max(b.t, b.at(rng.uniform(455, 510))), idle)
    back = b.at(rng.uniform(1050, 1140))
    b.add(AWAY, OUT, (back - b.t) / MINUTE_MS)
    if resident.cook:
        b.add(COOK, "kitchen", rng.uniform(25, 40))
    else:
        b.fill_until(max(b.t, meals.dinner), idle)
    b.add(EAT, "kitchen", rng.uniform(15, 25))
    return b.finish(((SIT, "living"), (CHORES, "living")))


def _weekend_day(rng: random.Random, midnight: int, resident: ResidentSpec, meals: Meals) -> DayPlan:
    b = _Builder(rng, midnight, resident, (450, 25, 400, 510), (1380, 20, 1335, 1420),
                 _ADULT_WASH)
    idle = _ADULT_IDLE
    _meal(b, resident, max(b.t + 15 * MINUTE_MS, meals.breakfast), rng.uniform(10, 15), idle)
    if rng.random() < _share(resident.routine.outing_share, 0.8):
        b.fill_until(b.at(rng.uniform(600, 840)), idle)
        b.add(AWAY, OUT, rng.uniform(120, 240))
    else:
        _meal(b, resident, meals.lunch, rng.uniform(20, 30), idle)
    _meal(b, resident, max(b.t + 30 * MINUTE_MS, meals.dinner), rng.uniform(25, 40), idle)
    return b.finish(((SIT, "living"),))


def night(seed: int, household: HouseholdSpec, resident: ResidentSpec, plan: DayPlan,
          next_wake: int) -> list[Segment]:
    """Sleep from ``plan.bed`` to ``next_wake``, with the night's bathroom visits."""
    index = household.residents.index(resident)
    rng = py_rng(seed, "night", household.index, index, plan.bed)
    start, end = plan.bed, next_wake
    room = resident.bedroom
    usable = end - start - 90 * MINUTE_MS
    if plan.night_trips == 0 or usable <= 0:
        return [Segment(start, end, room, SLEEP)]
    times = sorted(start + 60 * MINUTE_MS + int(rng.random() * usable)
                   for _ in range(plan.night_trips))
    segments: list[Segment] = []
    cursor = start
    for t in times:
        if t < cursor + 30 * MINUTE_MS:
            continue
        trip_end = t + int(rng.uniform(3, 6) * MINUTE_MS)
        segments.append(Segment(cursor, t, room, SLEEP))
        segments.append(Segment(t, trip_end, "bathroom", TOILET))
        cursor = trip_end
    segments.append(Segment(cursor, end, room, SLEEP))
    return segments


def visitor(seed: int, household: HouseholdSpec, day: date) -> tuple[int, int] | None:
    """Whether someone visits on ``day``, and when: (arrival, departure) in epoch ms."""
    rng = py_rng(seed, "visit", household.index, day.toordinal())
    if rng.random() >= household.visit_share:
        return None
    midnight = local_midnight(household.zone, day)
    arrive = midnight + int(rng.uniform(600, 1080) * MINUTE_MS)
    return arrive, arrive + int(rng.uniform(30, 120) * MINUTE_MS)


def dates_between(zone: ZoneInfo, a: int, b: int) -> list[date]:
    first = local_date(zone, a)
    last = local_date(zone, b)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
