"""Daily activity from readings, and the drift score: pure logic on hand-made readings."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from safehood.protocol import Device, Household
from safehood.store import StoredReading
from safehood.wellbeing import (
    DailyActivity,
    DigestStatus,
    IsoWeek,
    daily_activity,
    household_digest,
    rank,
    week_span,
)

ZONE = ZoneInfo("Asia/Shanghai")
MINUTE_MS = 60_000
HOME = Household(id="h1", site="s", timezone="Asia/Shanghai", night_start=time(22),
                 night_end=time(6))
DEVICES = {d.device_id: d for d in (
    Device("hall", "s", "motion", "h1", room="hall"),
    Device("bed", "s", "motion", "h1", room="bedroom"),
    Device("door", "s", "door", "h1", room="hall"),
    Device("lock", "s", "door", "h1", room="hall"),
    Device("meter", "s", "water", "h1"),
    Device("band", "s", "wearable", "h1"),
)}
DAY = date(2026, 3, 4)


def at(hh: int, mm: int = 0, ss: int = 0, day: date = DAY) -> int:
    return int(datetime.combine(day, time(hh, mm, ss), ZONE).timestamp() * 1000)


def r(device: str, ts: int, channel: str = "event", **fields: object) -> StoredReading:
    return StoredReading(ts_ms=ts, site="s", device_id=device, kind=DEVICES[device].kind,
                         channel=channel, fields=dict(fields), household="h1")  # type: ignore[arg-type]


def move(device: str, ts: int) -> StoredReading:
    return r(device, ts, event="motion")


def test_an_outing_is_door_quiet_door() -> None:
    readings = [
        move("hall", at(9)), r("door", at(9, 1), event="open"), r("door", at(9, 1, 5), event="close"),
        # back after 90 minutes: the door, then movement
        r("door", at(10, 30), event="open"), move("hall", at(10, 31)),
        # a quiet hour in the afternoon without the door is a nap, not an outing
        move("hall", at(14)), move("hall", at(15)),
        # locking up and going to bed is not going out
        r("lock", at(21), event="lock"), move("hall", at(21, 1)), move("hall", at(23, 30)),
    ]
    (day,) = daily_activity(HOME, DEVICES, readings).values()
    assert day.outings == 1


def test_night_activity_counts_getting_up_not_turning_over() -> None:
    after_midnight = date(2026, 3, 5)
    readings = [move("bed", at(23)), move("bed", at(1, day=after_midnight)),  # asleep
                move("bed", at(3, day=after_midnight)),
                move("hall", at(23, 30)), move("hall", at(23, 35)),  # one trip
                # another, after midnight: still this evening's night
                move("hall", at(2, day=after_midnight))]
    days = daily_activity(HOME, DEVICES, readings)
    assert days[DAY].night_bouts == 2
    assert days[after_midnight].night_bouts == 0


def test_a_night_bout_lies_wholly_in_the_night() -> None:
    """Still about at 22:10 before going to bed, an early riser up at 05:30 and busy past
    06:00: the night hours' edges, not wakings. One trip at 01:00 is."""
    after_midnight = date(2026, 3, 5)
    readings = [move("hall", at(21, 50) + m * MINUTE_MS) for m in range(0, 21, 5)]  # to 22:10
    readings += [move("hall", at(1, day=after_midnight))]
    readings += [move("hall", at(5, 30, day=after_midnight) + m * MINUTE_MS)
                 for m in range(0, 61, 10)]  # to 06:30
    days = daily_activity(HOME, DEVICES, readings)
    assert days[DAY].night_bouts == 1
    assert days[after_midnight].night_bouts == 0


def test_night_trips_are_counted_in_the_household_own_sleep_hours() -> None:
    """Registered 22:00-06:00, but up from 04:30 to 06:30 and about from 19:00 to 20:30:
    a trip at 21:15 is a trip out of bed, and so is one at 03:30; the morning is not."""
    readings = []
    for n in range(4):
        evening = date(2026, 3, 2 + n)
        morning = date(2026, 3, 3 + n)
        readings += [move("hall", at(19, day=evening) + m * MINUTE_MS) for m in range(0, 91, 5)]
        readings += [move("hall", at(21, 15, day=evening)), move("hall", at(3, 30, day=morning))]
        readings += [move("hall", at(4, 30, day=morning) + m * MINUTE_MS) for m in range(0, 121, 5)]
    days = daily_activity(HOME, DEVICES, readings)
    assert [days[date(2026, 3, 2 + n)].night_bouts for n in range(4)] == [2, 2, 2, 2]


def _trip(start: int, minutes: int = 5) -> list[StoredReading]:
    """Out of bed to the bathroom at ``start`` and back: hall, hall, then the bedroom."""
    back = start + minutes * MINUTE_MS
    return [move("hall", start), move("hall", back), move("bed", back + 5_000)]


def test_two_trips_out_of_bed_ten_minutes_apart_are_two() -> None:
    """Back in bed between them: two trips, though the hall saw movement 10 min apart."""
    after_midnight = date(2026, 3, 5)
    readings = [move("bed", at(22, 30)), *_trip(at(2, day=after_midnight)),
                *_trip(at(2, 15, day=after_midnight))]
    assert daily_activity(HOME, DEVICES, readings)[DAY].night_bouts == 2


def test_passing_the_bedroom_is_not_back_in_bed() -> None:
    """Up for 10 min, the bedroom sensor seen on the way (or a minute off by its clock):
    one trip."""
    after_midnight = date(2026, 3, 5)
    readings = [move("bed", at(22, 30)),
                move("hall", at(2, day=after_midnight)), move("bed", at(2, 4, day=after_midnight)),
                move("hall", at(2, 5, day=after_midnight)),
                move("hall", at(2, 10, day=after_midnight)),
                move("bed", at(2, 10, 5, day=after_midnight))]
    assert daily_activity(HOME, DEVICES, readings)[DAY].night_bouts == 1


def test_a_trip_at_the_edge_of_waking_counts() -> None:
    """Registered (and, without nights to learn from, used) waking 06:00: a trip from
    05:50, back in bed 15 min before getting up at 06:10, counts; so does one from 05:55
    that is back in bed at 06:05 (up at 06:40). Getting up at 05:50 for the day does not."""
    morning = date(2026, 3, 5)
    in_bed = move("bed", at(22, 30))

    def up_for_the_day(hh: int, mm: int) -> list[StoredReading]:
        return [move("hall", at(hh, mm, day=morning) + m * MINUTE_MS) for m in range(0, 80, 5)]

    near_waking = [in_bed, *_trip(at(5, 50, day=morning)), *up_for_the_day(6, 10)]
    across_waking = [in_bed, *_trip(at(5, 55, day=morning), minutes=10), *up_for_the_day(6, 40)]
    early_riser = [in_bed, *up_for_the_day(5, 50)]
    assert [daily_activity(HOME, DEVICES, night)[DAY].night_bouts
            for night in (near_waking, across_waking, early_riser)] == [1, 1, 0]


def test_active_hours_are_ten_minute_slots_outside_the_night() -> None:
    readings = [move("hall", at(8, m)) for m in range(0, 60, 2)]  # 30 events, 6 slots
    readings += [move("bed", at(23, 5))]
    assert daily_activity(HOME, DEVICES, readings)[DAY].active_hours == 1.0


def test_water_is_each_reading_held_since_the_previous_one() -> None:
    readings = [r("meter", at(7, 0), "telemetry", flow_lpm=6.0),  # first: one minute
                r("meter", at(7, 1), "telemetry", flow_lpm=4.0),
                r("meter", at(9, 0), "telemetry", flow_lpm=1.0)]  # after 2 h: at most 15 min
    assert daily_activity(HOME, DEVICES, readings)[DAY].water_l == pytest.approx(6 + 4 + 15)


def test_status_and_other_kinds_do_not_make_a_day_observed() -> None:
    readings = [r("hall", at(12), "status", online=True), r("band", at(12), "telemetry")]
    assert daily_activity(HOME, DEVICES, readings) == {}
    (day,) = daily_activity(HOME, DEVICES, [r("meter", at(12), "telemetry", flow_lpm=0.0)]).values()
    assert (day.active_hours, day.outings, day.water_l) == (0.0, 0, 0.0)


def week_of(monday: date, hours: float, outings: int, water: float, bouts: int = 1,
            ) -> dict[date, DailyActivity]:
    week = IsoWeek.of(monday)
    return {d: DailyActivity(d, hours, bouts, outings, water) for d in week.days()}


WEEKS = week_span(IsoWeek(2026, 10), 5)


def history(last: dict[date, DailyActivity]) -> dict[date, DailyActivity]:
    days: dict[date, DailyActivity] = {}
    for i, week in enumerate(WEEKS[:-1]):
        days |= week_of(week.monday, 12 + 0.2 * i, 1, 300 + 5 * i)
    return days | last


def test_only_the_concerning_direction_scores() -> None:
    livelier = household_digest("h1", "s", history(week_of(WEEKS[-1].monday, 15, 2, 400)), WEEKS)
    assert livelier.status is DigestStatus.STEADY and livelier.score == 0.0
    withdrawn = household_digest("h2", "s", history(week_of(WEEKS[-1].monday, 8, 0, 200, 3)),
                                 WEEKS)
    assert withdrawn.status is DigestStatus.VISIT
    scores = {m.metric.name: m.score for m in withdrawn.metrics}
    assert all(s > 0 for s in scores.values()), scores
    assert max(scores.values()) <= 6.0  # each metric is capped
    assert rank([livelier, withdrawn])[0].household == "h2"


def test_the_spread_has_a_floor() -> None:
    # Identical weeks have no spread at all; half an hour less a day is still no drift.
    days: dict[date, DailyActivity] = {}
    for week in WEEKS[:-1]:
        days |= week_of(week.monday, 12, 1, 300)
    days |= week_of(WEEKS[-1].monday, 11.5, 1, 295)
    digest = household_digest("h1", "s", days, WEEKS)
    assert digest.status is DigestStatus.STEADY and digest.score < 1


@pytest.mark.parametrize(("bouts", "status"), [(3, DigestStatus.VISIT), (2, DigestStatus.STEADY)])
def test_night_trips_tripling_is_a_visit_by_the_household_own_nights(
        bouts: int, status: DigestStatus) -> None:
    """Weeks of one trip a night: a week of three a night is far outside what a week of
    such nights wobbles (about 0.38 a night), with every other figure as usual; two a night
    is not yet."""
    digest = household_digest("h1", "s", history(week_of(WEEKS[-1].monday, 12.6, 1, 315,
                                                         bouts)), WEEKS)
    assert digest.status is status, [(m.metric.name, m.z) for m in digest.metrics]
    (night,) = [m for m in digest.metrics if m.metric.name == "night_bouts"]
    assert night.spread == pytest.approx((1 / 7) ** 0.5)


def test_a_household_without_enough_history_is_learning_and_ranks_last() -> None:
    new = household_digest("h0", "s", week_of(WEEKS[-2].monday, 12, 1, 300)
                           | week_of(WEEKS[-1].monday, 1, 0, 10), WEEKS)
    assert new.status is DigestStatus.LEARNING and new.score == 0.0
    steady = household_digest("h9", "s", history(week_of(WEEKS[-1].monday, 12, 1, 300)), WEEKS)
    assert [d.household for d in rank([new, steady])] == ["h9", "h0"]


def test_a_week_with_few_observed_days_has_no_figures() -> None:
    days = history({})
    days |= {d: DailyActivity(d, 1, 0, 0, 10) for d in WEEKS[-1].days()[:2]}
    digest = household_digest("h1", "s", days, WEEKS)
    assert digest.status is DigestStatus.LEARNING and digest.days_observed == 2
    assert all(m.value is None for m in digest.metrics)


@pytest.mark.parametrize(("text", "why"), [("2026-W9", "not an ISO week"),
                                           ("2025-W53", "2025 has no week 53"),
                                           ("2026-W00", "no week 0")])
def test_iso_weeks_are_checked(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        IsoWeek.parse(text)
    assert str(IsoWeek.parse("2026-W53")) == "2026-W53"


def nights_of(monday: date, trips: list[int], hours: float = 12.6, water: float = 315,
              ) -> dict[date, DailyActivity]:
    """A week with every figure as usual but its nights' trips out of bed, night by night."""
    return {d: DailyActivity(d, hours, n, 1, water)
            for d, n in zip(IsoWeek.of(monday).days(), trips, strict=True)}


def nightly(weeks: list[list[int]]) -> dict[date, DailyActivity]:
    days: dict[date, DailyActivity] = {}
    for week, trips in zip(WEEKS, weeks, strict=True):
        days |= nights_of(week.monday, trips)
    return days


USUAL_NIGHTS = [1, 2, 1, 2, 2, 1, 2]  # one or two trips a night, 1.57 on average


def test_night_trips_twice_and_one_more_over_a_week_is_a_visit_on_its_own() -> None:
    """Weeks of one or two trips a night, then a week of twice that and one more: every
    other figure as usual, so the drift score is the night figure alone, below the score of
    two drifting figures; but a count of trips has a known sampling law (Poisson), and this
    one is far beyond it."""
    days = nightly([USUAL_NIGHTS] * 4 + [[3, 5, 3, 5, 5, 3, 5]])
    digest = household_digest("h1", "s", days, WEEKS)
    (night,) = [m for m in digest.metrics if m.metric.name == "night_bouts"]
    assert night.z is not None and night.z > 3.0, night
    assert digest.score <= 6.0
    assert digest.status is DigestStatus.VISIT


def test_night_trips_only_doubling_from_one_and_a_half_is_not_enough_alone() -> None:
    """A week of twice the usual one or two trips (22 after 11 a week) is 2.9 spreads by the
    exact Poisson test: weak evidence, not a visit on its own."""
    days = nightly([USUAL_NIGHTS] * 4 + [[3, 3, 4, 3, 3, 3, 3]])
    digest = household_digest("h1", "s", days, WEEKS)
    (night,) = [m for m in digest.metrics if m.metric.name == "night_bouts"]
    assert night.z is not None and 2.0 < night.z < 3.0, night
    assert digest.status is DigestStatus.STEADY


def test_no_trips_to_one_a_night_across_two_iso_weeks_is_a_visit() -> None:
    """A resident who never got up at night gets up once a night for eight nights from a
    Thursday: neither ISO week holds more than four of them (0.57 a night), but the seven
    nights from Friday to Thursday are seven trips where the household's floored rate (one
    a week) expects one; the first week, itself suspicious, is not learned as normal."""
    never = [0] * 7
    days = nightly([never, never, never, [0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]])
    digest = household_digest("h1", "s", days, WEEKS)
    (night,) = [m for m in digest.metrics if m.metric.name == "night_bouts"]
    assert night.value == pytest.approx(4 / 7)
    assert night.z is not None and night.z > 3.0, night
    assert digest.status is DigestStatus.VISIT


def test_one_trip_after_weeks_of_none_is_not_a_change() -> None:
    never = [0] * 7
    days = nightly([never, never, never, never, [0, 0, 1, 0, 0, 1, 0]])
    digest = household_digest("h1", "s", days, WEEKS)
    assert digest.status is DigestStatus.STEADY and digest.score < 2, digest.metrics


def test_nights_that_come_in_bursts_every_week_are_steady() -> None:
    """Three trips a night for a few nights, then none, every week, the burst in another
    place each week: seven nights across two weeks can hold two bursts, which is what the
    household does, not a change."""
    days = nightly([[3, 3, 3, 0, 0, 0, 0], [0, 0, 0, 0, 3, 3, 3], [3, 3, 0, 0, 0, 0, 0],
                    [0, 0, 0, 0, 3, 3, 3], [3, 3, 3, 0, 0, 0, 0]])
    digest = household_digest("h1", "s", days, WEEKS)
    assert digest.status is DigestStatus.STEADY, digest.metrics


def test_noisy_nights_that_stay_noisy_are_steady() -> None:
    """A household whose weeks swing between half a trip and three trips a night: a week of
    three is within its own spread, not a doubling."""
    days = nightly([[0, 1, 0, 1, 0, 1, 0], [3, 3, 2, 4, 3, 3, 3], [1, 0, 1, 1, 0, 1, 0],
                    [3, 4, 3, 2, 3, 3, 3], [3, 3, 3, 4, 3, 2, 3]])
    digest = household_digest("h1", "s", days, WEEKS)
    (night,) = [m for m in digest.metrics if m.metric.name == "night_bouts"]
    assert night.spread is not None and night.spread > (3 / 7) ** 0.5
    assert digest.status is DigestStatus.STEADY


def test_a_visit_ranks_before_a_steady_household_with_a_higher_score() -> None:
    nights = household_digest("h2", "s", nightly([USUAL_NIGHTS] * 4 + [[3, 4, 3, 4, 3, 4, 3]]),
                              WEEKS)
    quieter = household_digest("h1", "s", nightly([USUAL_NIGHTS] * 4 + [USUAL_NIGHTS])
                               | nights_of(WEEKS[-1].monday, USUAL_NIGHTS, hours=10.0,
                                           water=255), WEEKS)
    assert quieter.status is DigestStatus.STEADY and quieter.score > nights.score
    assert [d.household for d in rank([quieter, nights])] == ["h2", "h1"]


def test_a_change_from_the_friday_of_the_second_week_is_judged_against_the_first() -> None:
    """Four trips a week, then from the Friday of the second week with figures three trips a
    night: that week, three nights changed, looks like a change against the first and is
    kept out of the baseline (river's filter), so the third week is judged against the
    first alone, not against a baseline half of which is the change itself."""
    weeks = WEEKS[:3]
    days = (nights_of(weeks[0].monday, [0, 1, 0, 1, 0, 1, 1])
            | nights_of(weeks[1].monday, [1, 0, 1, 1, 3, 3, 2])
            | nights_of(weeks[2].monday, [3, 2, 3, 3, 1, 1, 1]))
    digest = household_digest("h1", "s", days, weeks)
    (night,) = [m for m in digest.metrics if m.metric.name == "night_bouts"]
    assert night.baseline == pytest.approx(4 / 7)
    assert digest.status is DigestStatus.VISIT, digest.metrics


def test_a_quiet_second_week_is_learned_not_left_out() -> None:
    """Out every day, then a second week with three outings: against the first week alone
    the other figures' spreads are their floors, no evidence to leave a week out by, so a
    third week as quiet is judged against both and is not a visit."""
    weeks = WEEKS[:3]
    quiet = {d: DailyActivity(d, 12, 1, int(i in (1, 4, 6)), 300)
             for i, d in enumerate(weeks[1].days())}
    days = (week_of(weeks[0].monday, 12, 1, 300) | quiet
            | {d + timedelta(days=7): DailyActivity(d + timedelta(days=7), 12, 1, a.outings, 300)
               for d, a in quiet.items()})
    digest = household_digest("h1", "s", days, weeks)
    assert digest.kept_out == ()
    assert digest.status is DigestStatus.STEADY, digest.metrics


def test_an_odd_first_week_is_not_the_only_baseline_of_every_week_after_it() -> None:
    """A first week of few trips, then weeks of two a night: the second week looks like a
    change against the first and is kept out of the third's baseline, but no further; so the
    household's usual two a night are learned and its fifth week is steady."""
    days = nightly([[0, 1, 0, 1, 0, 1, 1]] + [[2, 2, 2, 2, 2, 2, 2]] * 4)
    digest = household_digest("h1", "s", days, WEEKS)
    assert digest.kept_out == ()
    assert digest.status is DigestStatus.STEADY, digest.metrics
