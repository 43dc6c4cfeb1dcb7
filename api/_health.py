"""Device health rows (last seen, battery, online) joined with the registry."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, select

from safehood.database import device_health
from safehood.protocol import Device

from ._models import DeviceHealthPublic, Problem
from ._time import rfc3339
from .const import BATTERY_LOW_PERCENT, SILENT_AFTER_MS


def problem_of(online: bool | None, battery: int | None, last_seen_ms: int | None,
               now_ms: int) -> Problem | None:
    """The worst problem of a device: offline (it said so, or its last will did), silent
    (never heard, or not for ``SILENT_AFTER_MS``), battery low; None when it is fine."""
    if online is False:
        return "offline"
    if last_seen_ms is None or now_ms - last_seen_ms > SILENT_AFTER_MS:
        return "silent"
    if battery is not None and battery < BATTERY_LOW_PERCENT:
        return "battery_low"
    return None


def health_rows(engine: Engine, devices: Iterable[Device], now_ms: int
                ) -> tuple[list[DeviceHealthPublic], dict[str, int | None]]:
    """Health of ``devices`` (registry order kept) and each one's last event time (ms)."""
    devices = list(devices)
    ids = [d.device_id for d in devices]
    found = {}
    if ids:
        with engine.connect() as connection:
            # Chunked: SQLite limits the number of bound parameters.
            for i in range(0, len(ids), 500):
                query = select(device_health).where(device_health.c.device_id.in_(ids[i:i + 500]))
                found.update({r.device_id: r for r in connection.execute(query)})
    rows, last_event = [], {}
    for d in devices:
        h = found.get(d.device_id)
        last_seen = h.last_seen_ms if h else None
        online = h.online if h else None
        battery = h.battery if h else None
        last_event[d.device_id] = h.last_event_ms if h else None
        rows.append(DeviceHealthPublic(
            device_id=d.device_id, site=d.site, household=d.household, kind=d.kind, room=d.room,
            last_seen=rfc3339(last_seen), online=online, battery=battery,
            rssi=h.rssi if h else None, problem=problem_of(online, battery, last_seen, now_ms),
        ))
    return rows, last_event
