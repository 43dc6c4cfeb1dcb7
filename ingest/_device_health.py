"""Last seen, battery and online state of every device, kept in the database for the API."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, func
from sqlalchemy.dialects import postgresql, sqlite

from safehood.database import device_health
from safehood.protocol import Message, StatusReading

from .const import (
    HEALTH_FLUSH_INTERVAL_S,
    HEALTH_ROWS_PER_TRANSACTION,
    HEALTH_TRANSACTION_PAUSE_S,
)

log = logging.getLogger(__name__)


class DeviceHealthRecorder:
    """A message handler that keeps the newest state of each device and upserts it at most
    every ``flush_interval_s`` (one row per device heard since), off the per-message path.
    :meth:`tick` flushes when due; :meth:`close` at once, and waits (call it on shutdown).

    The upserts run on a writer thread of their own, in order, at most
    ``rows_per_transaction`` rows a transaction: written on the consumer thread, the 8,000
    devices of ``bench/alert_latency.py`` held every batch (and its alerts) up by 0.1-0.25 s
    every 2 s, and one long transaction held the alert store's writers (the same SQLite
    file) up as long. Failed writes are logged; their rows are not tried again."""

    def __init__(self, engine: Engine, flush_interval_s: float = HEALTH_FLUSH_INTERVAL_S,
                 rows_per_transaction: int = HEALTH_ROWS_PER_TRANSACTION) -> None:
        self.engine = engine
        self.flush_interval_s = flush_interval_s
        self.rows_per_transaction = rows_per_transaction
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert = dialect.insert
        self._pending: dict[str, dict[str, Any]] = {}
        self._last_flush = time.monotonic()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="device-health")
        self._closed = False

    def __call__(self, messages: Sequence[Message]) -> None:
        self._merge(messages)
        self._flush_if_due()

    def tick(self, _now_ms: int) -> None:
        """Tick handler: a quiet spell still gets the last state written."""
        self._flush_if_due()

    def _flush_if_due(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def _merge(self, messages: Sequence[Message]) -> None:
        rows = self._pending
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
            elif isinstance(m.reading, StatusReading):
                row["online"] = m.reading.online
                if m.reading.rssi is not None:
                    row["rssi"] = m.reading.rssi
            if m.battery is not None:
                row["battery"] = round(m.battery)

    def flush(self) -> None:
        """Hand what is pending to the writer thread now (called from the consumer thread)."""
        self._last_flush = time.monotonic()
        rows, self._pending = self._pending, {}
        if not rows:
            return
        if self._closed:  # a consumer that outlived the shutdown's wait for it
            self._write(list(rows.values()))
        else:
            self._writer.submit(self._write, list(rows.values()))

    def close(self) -> None:
        """Write what is pending and wait for every write handed over (on shutdown)."""
        self.flush()
        self._writer.shutdown(wait=True)
        self._closed = True

    def _write(self, rows: list[dict[str, Any]]) -> None:
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
        try:
            for start in range(0, len(rows), self.rows_per_transaction):
                if start:
                    # SQLite has no queue for its write lock (a writer kept out retries after
                    # 1, 2, 5, 10 ms...): a pause lets the alert store's writers in.
                    time.sleep(HEALTH_TRANSACTION_PAUSE_S)
                with self.engine.begin() as connection:
                    connection.execute(stmt, rows[start:start + self.rows_per_transaction])
        except Exception:
            log.exception("could not write the health of %d devices", len(rows))


def _coalesce(new: Any, old: Any) -> Any:
    return func.coalesce(new, old)
