"""Last seen, battery and online state of every device, kept in the database for the API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func
from sqlalchemy.dialects import postgresql, sqlite

from database import device_health
from protocol import Message


class DeviceHealthRecorder:
    """A message handler that upserts one row per device per batch (the newest state)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert = dialect.insert

    def __call__(self, messages: Sequence[Message]) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for m in messages:
            row = rows.get(m.device_id)
            if row is None:
                row = {"device_id": m.device_id, "site": m.site, "kind": m.kind,
                       "last_seen_ms": m.received_ms or m.ts_ms, "last_event_ms": None,
                       "online": None, "battery": None, "rssi": None}
                rows[m.device_id] = row
            row["last_seen_ms"] = max(row["last_seen_ms"], m.received_ms or m.ts_ms)
            if m.kind:
                row["kind"] = m.kind
            if m.channel != "status":
                row["last_event_ms"] = max(row["last_event_ms"] or 0, m.ts_ms)
                row["online"] = True
            elif m.online is not None:
                row["online"] = m.online
            if m.battery is not None:
                row["battery"] = round(m.battery)
            rssi = m.fields.get("rssi") if m.channel == "status" else None
            if isinstance(rssi, int):
                row["rssi"] = rssi
        if not rows:
            return
        stmt = self._insert(device_health)
        table = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[device_health.c.device_id],
            set_={
                "site": table.site,
                "kind": _coalesce(table.kind, device_health.c.kind),
                "last_seen_ms": table.last_seen_ms,
                "last_event_ms": _coalesce(table.last_event_ms, device_health.c.last_event_ms),
                "online": _coalesce(table.online, device_health.c.online),
                "battery": _coalesce(table.battery, device_health.c.battery),
                "rssi": _coalesce(table.rssi, device_health.c.rssi),
            },
        )
        with self.engine.begin() as connection:
            connection.execute(stmt, list(rows.values()))


def _coalesce(new: Any, old: Any) -> Any:
    return func.coalesce(new, old)
