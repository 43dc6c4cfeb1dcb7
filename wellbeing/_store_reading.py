"""The digest's one edge: the readings it needs, read from a :class:`ReadingStore`."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from safehood.protocol import Device, Household, Registry
from safehood.store import ReadingStore, StoredReading

from ._digest import HouseholdDigest, household_digest, rank
from ._features import daily_activity
from ._weeks import IsoWeek, week_span
from .const import ACTIVITY_KINDS, DEFAULT_WEEKS, READ_CHANNELS

_PAGE = 10_000


def _query_all(store: ReadingStore, device_id: str, start_ms: int, end_ms: int) -> list[StoredReading]:
    """Every reading of the device in ``[start_ms, end_ms)``: a full page is split in two
    halves, since the store's query is bounded."""
    readings = store.query(device_id, start_ms, end_ms, limit=_PAGE, channels=READ_CHANNELS)
    if len(readings) < _PAGE or end_ms - start_ms < 2:
        return readings
    middle = (start_ms + end_ms) // 2
    return _query_all(store, device_id, start_ms, middle) + _query_all(store, device_id, middle, end_ms)


def household_readings(store: ReadingStore, household: Household, devices: list[Device],
                       weeks: list[IsoWeek]) -> list[StoredReading]:
    """The readings of the household's motion, door and water devices over ``weeks``, in
    the household's own time zone."""
    zone = ZoneInfo(household.timezone)
    first = datetime.combine(weeks[0].monday, time(), zone)
    end = datetime.combine(weeks[-1].monday + timedelta(weeks=1), time(), zone)
    start_ms, end_ms = int(first.timestamp() * 1000), int(end.timestamp() * 1000)
    readings: list[StoredReading] = []
    for device in devices:
        if device.kind in ACTIVITY_KINDS:
            readings += _query_all(store, device.device_id, start_ms, end_ms)
    return readings


def site_digest(store: ReadingStore, registry: Registry, site: str, week: IsoWeek,
                weeks: int = DEFAULT_WEEKS) -> list[HouseholdDigest]:
    """The ranked digest of every household of ``site`` for ``week``, against the
    ``weeks - 1`` weeks before it. Raises ``StoreError`` when the store cannot be read."""
    span = week_span(week, weeks)
    digests = []
    for household in registry.households.values():
        if household.site != site:
            continue
        devices = registry.household_devices(household.id)
        readings = household_readings(store, household, devices, span)
        days = daily_activity(household, {d.device_id: d for d in devices}, readings)
        digests.append(household_digest(household.id, site, days, span))
    return rank(digests)
