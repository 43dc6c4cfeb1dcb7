"""Daily activity of one household from its stored readings: pure, no I/O.

What counts:
- *movement*: a motion sensor's ``motion`` event or ``occupancy: true``; at night only
  movement outside the bedrooms counts (a sensor sees a sleeper turn over; getting up to
  the bathroom or the kitchen and back to bed is what night activity means), and the night
  is the household's own sleep hours, learned from its readings (the registered night
  hours are filled in by staff and need not match when the resident sleeps);
- *the front door*: a door contact's ``open``/``close`` event or ``open`` reading (locks are
  left out: locking up for the night is not going out);
- *water*: the main meter's ``flow_lpm`` readings.
Wearables are not read: a band left on the nightstand says nothing about the home.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from safehood.protocol import Device, Household
from safehood.store import StoredReading

from .const import (
    ACTIVITY_KINDS,
    ACTIVITY_SLOT_MIN,
    AWAKE_BOUT_MS,
    BACK_IN_BED_MS,
    DAY_MS,
    DOOR_AFTER_GAP_MS,
    DOOR_BEFORE_GAP_MS,
    MAX_SLEEP_MS,
    METER_MAX_INTERVAL_MS,
    MIN_SLEEP_NIGHTS,
    MINUTE_MS,
    NIGHT_BOUT_GAP_MS,
    OUTING_MIN_MS,
    READ_CHANNELS,
)

_DOOR_EVENTS = frozenset({"open", "close"})
_SLOTS_PER_HOUR = 60 // ACTIVITY_SLOT_MIN
# Moves a night's readings onto the evening's date, for night windows that wrap midnight.
_NIGHT_DATE_SHIFT_MS = 12 * 3600 * 1000
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class DailyActivity:
    """One local day of a household.

    ``active_hours``: hours (in 10-minute slots) with movement outside the night window;
    ``night_bouts``: trips out of bed in the household's sleep hours of the night that
    starts this evening: short bouts of movement outside the bedrooms that start in them
    and end back in bed or before the usual waking (not the evening before it or the
    morning), and at least one for a bout wholly in them;
    ``outings``: times the home was left empty (door, then quiet, then door) starting today;
    ``water_l``: litres through the main meter (``None`` without a meter reading today).
    """

    day: date
    active_hours: float
    night_bouts: int
    outings: int
    water_l: float | None


def _is_movement(reading: StoredReading) -> bool:
    fields = reading.fields
    return fields.get("event") == "motion" or fields.get("occupancy") is True


def _is_front_door(reading: StoredReading) -> bool:
    fields = reading.fields
    return fields.get("event") in _DOOR_EVENTS or fields.get("open") is True


def _outing_starts(movements: list[int], doors: list[int]) -> list[int]:
    """Start times of outings: a quiet gap between two movements of at least OUTING_MIN_MS,
    with the door used at both ends of it."""
    starts = []
    for before, after in itertools.pairwise(movements):
        if after - before < OUTING_MIN_MS:
            continue
        i = bisect.bisect_left(doors, before - DOOR_BEFORE_GAP_MS)
        left = i < len(doors) and doors[i] <= before + DOOR_AFTER_GAP_MS
        j = bisect.bisect_left(doors, after - DOOR_BEFORE_GAP_MS)
        came_back = j < len(doors) and doors[j] <= after + DOOR_AFTER_GAP_MS
        if left and came_back:
            starts.append(before)
    return starts


def _litres(meter_readings: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """(time, litres) per reading: its flow held since the previous reading, at most
    METER_MAX_INTERVAL_MS (the first reading of a run counts one minute)."""
    out = []
    previous: int | None = None
    for ts, lpm in meter_readings:
        held = MINUTE_MS if previous is None else min(ts - previous, METER_MAX_INTERVAL_MS)
        out.append((ts, lpm * held / MINUTE_MS))
        previous = ts
    return out


class _LocalTime:
    """Local day and minute of day of epoch-ms instants in one zone, by integer arithmetic:
    the zone's UTC offset is looked up once per quarter-hour (offsets change only on
    quarter-hour boundaries), so weeks of readings need no datetime per reading."""

    _QUARTER_MS = 15 * MINUTE_MS

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._offsets: dict[int, int] = {}

    def local_ms(self, ts_ms: int) -> int:
        quarter = ts_ms // self._QUARTER_MS
        offset = self._offsets.get(quarter)
        if offset is None:
            utc_offset = datetime.fromtimestamp(quarter * self._QUARTER_MS / 1000, self.zone).utcoffset()
            offset = self._offsets[quarter] = int(utc_offset.total_seconds() * 1000) if utc_offset else 0
        return ts_ms + offset

    def day(self, ts_ms: int) -> date:
        return _EPOCH + timedelta(days=self.local_ms(ts_ms) // DAY_MS)


def _minute_of_day(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _bouts(times: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of sorted ``times`` less than NIGHT_BOUT_GAP_MS apart."""
    bouts: list[tuple[int, int]] = []
    for ts in times:
        if bouts and ts - bouts[-1][1] <= NIGHT_BOUT_GAP_MS:
            bouts[-1] = (bouts[-1][0], ts)
        else:
            bouts.append((ts, ts))
    return bouts


def _trips(outside: list[int], in_bedroom: list[int]) -> list[tuple[int, int, bool]]:
    """(first, last, back in bed) of each trip out of bed: a run of sorted ``outside``
    movements less than NIGHT_BOUT_GAP_MS apart that ends when the resident is back in bed
    (a movement in ``in_bedroom``, sorted, then none outside for BACK_IN_BED_MS), whatever
    the gap to the next trip; the flag says whether it ended so, or by a quiet gap."""

    def back_in_bed(last: int, following: int | None) -> bool:
        i = bisect.bisect_right(in_bedroom, last)
        return i < len(in_bedroom) and (
            following is None or in_bedroom[i] <= following - BACK_IN_BED_MS)

    trips: list[tuple[int, int, bool]] = []
    first: int | None = None
    for i, ts in enumerate(outside):
        if first is None:
            first = ts
        following = outside[i + 1] if i + 1 < len(outside) else None
        back = back_in_bed(ts, following)
        if back or following is None or following - ts > NIGHT_BOUT_GAP_MS:
            trips.append((first, ts, back))
            first = None
    return trips


def _sleep_hours(bouts: list[tuple[int, int]], night_start: int, night_end: int,
                 ) -> tuple[int, int]:
    """The household's usual sleep, as (bedtime, waking) in ms after local noon: the medians
    over its nights of the longest quiet between two bouts of being up (AWAKE_BOUT_MS) that
    overlaps the registered night hours (``night_start``/``night_end``, ms after local
    noon); the registered hours themselves with fewer than MIN_SLEEP_NIGHTS such nights.
    ``bouts`` are in local ms, shifted to noon (a night is one day)."""
    awake = [b for b in bouts if b[1] - b[0] >= AWAKE_BOUT_MS]
    longest: dict[int, tuple[int, int]] = {}  # night -> (bedtime, waking)
    for (_, bed), (up, _) in itertools.pairwise(awake):
        night = bed // DAY_MS
        if up - bed > MAX_SLEEP_MS or up // DAY_MS != night:
            continue
        start, end = bed % DAY_MS, up % DAY_MS
        if start < night_end and night_start < end:
            known = longest.get(night)
            if known is None or end - start > known[1] - known[0]:
                longest[night] = (start, end)
    if len(longest) < MIN_SLEEP_NIGHTS:
        return night_start, night_end
    return (int(statistics.median(b for b, _ in longest.values())),
            int(statistics.median(u for _, u in longest.values())))


def daily_activity(
    household: Household,
    devices: Mapping[str, Device],
    readings: Iterable[StoredReading],
) -> dict[date, DailyActivity]:
    """The household's days that have any reading, keyed by local date.

    ``devices`` are the household's registered devices by id; readings of other devices
    or kinds, and status check-ins, are ignored. Readings need not be sorted. A day with any
    reading of the home's motion, door or water devices is an observed day, even with no
    movement (the water meter reports every 15 minutes, flowing or not); a day with none is
    a sensor outage or a holiday, not a quiet day, and is left out.
    """
    clock = _LocalTime(ZoneInfo(household.timezone))
    observed_ms: list[int] = []
    movements: list[int] = []
    up_at_night: list[int] = []  # movements outside bedrooms
    in_bedroom: list[int] = []
    doors: list[int] = []
    meters: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for reading in readings:
        device = devices.get(reading.device_id)
        if device is None or device.kind not in ACTIVITY_KINDS or reading.channel not in READ_CHANNELS:
            continue
        observed_ms.append(reading.ts_ms)
        if device.kind == "motion" and _is_movement(reading):
            movements.append(reading.ts_ms)
            if "bedroom" in (device.room or ""):
                in_bedroom.append(reading.ts_ms)
            else:
                up_at_night.append(reading.ts_ms)
        elif device.kind == "door" and _is_front_door(reading):
            doors.append(reading.ts_ms)
        elif device.kind == "water" and isinstance(flow := reading.fields.get("flow_lpm"), float):
            meters[reading.device_id].append((reading.ts_ms, flow))
    movements.sort()
    up_at_night.sort()
    in_bedroom.sort()
    doors.sort()
    observed = {_EPOCH + timedelta(days=day)
                for day in {clock.local_ms(ts) // DAY_MS for ts in observed_ms}}

    night_start = _minute_of_day(household.night_start)
    night_end = _minute_of_day(household.night_end)

    def at_night(minute: int) -> bool:
        if night_start <= night_end:
            return night_start <= minute < night_end
        return minute >= night_start or minute < night_end

    slots: dict[int, set[int]] = defaultdict(set)  # local epoch day -> active slots
    for ts in movements:
        local = clock.local_ms(ts)
        minute = local % DAY_MS // MINUTE_MS
        if not at_night(minute):
            slots[local // DAY_MS].add(minute // ACTIVITY_SLOT_MIN)
    # A trip out of bed is short (less than AWAKE_BOUT_MS), starts in the household's
    # sleep hours and ends back in bed or before the usual waking: one that starts before
    # bedtime is the evening, one that runs on past the waking without going back to bed
    # is the morning (an early riser is up before the usual waking). A bout of movement
    # wholly in the sleep hours is at least one trip, however long. Times are shifted to
    # local noon, so that a night is one day.
    def from_noon(times: list[int]) -> list[int]:
        return [clock.local_ms(ts) - _NIGHT_DATE_SHIFT_MS for ts in times]

    def in_sleep_hours(first: int, last: int) -> bool:
        return bedtime <= first % DAY_MS and last // DAY_MS == first // DAY_MS \
            and last % DAY_MS < waking

    outside = from_noon(up_at_night)
    out_of_bed = _bouts(outside)
    bedtime, waking = _sleep_hours(out_of_bed,
                                   (night_start * MINUTE_MS - _NIGHT_DATE_SHIFT_MS) % DAY_MS,
                                   (night_end * MINUTE_MS - _NIGHT_DATE_SHIFT_MS) % DAY_MS)
    trips = iter(_trips(outside, from_noon(in_bedroom)))
    bouts: dict[int, int] = defaultdict(int)
    for bout_first, bout_last in out_of_bed:
        # The trips of one bout: a bout ends where a trip does, or goes on after it.
        counted = 0
        for first, last, back_in_bed in trips:
            if bedtime <= first % DAY_MS < waking and last - first < AWAKE_BOUT_MS \
                    and (back_in_bed or in_sleep_hours(first, last)):
                bouts[first // DAY_MS] += 1
                counted += 1
            if last == bout_last:
                break
        if not counted and in_sleep_hours(bout_first, bout_last):
            bouts[bout_first // DAY_MS] += 1

    outings: dict[date, int] = defaultdict(int)
    for start in _outing_starts(movements, doors):
        outings[clock.day(start)] += 1

    water: dict[date, float] = defaultdict(float)
    for series in meters.values():
        series.sort()
        for ts, litres in _litres(series):
            water[clock.day(ts)] += litres

    def epoch_day(day: date) -> int:
        return (day - _EPOCH).days

    return {
        day: DailyActivity(
            day=day,
            active_hours=len(slots.get(epoch_day(day), ())) / _SLOTS_PER_HOUR,
            night_bouts=bouts.get(epoch_day(day), 0),
            outings=outings.get(day, 0),
            water_l=water.get(day) if meters else None,
        )
        for day in sorted(observed)
    }
