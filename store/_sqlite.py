"""The embedded reading store: one SQLite file in WAL mode."""

from __future__ import annotations

import contextlib
import functools
import itertools
import queue
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from safehood.protocol import Message

from . import _metrics
from ._base import ReadingStore, StoredReading, StoreError
from ._fields import read_fields, stored_fields
from .const import (
    NO_SEQ,
    SQLITE_BACKSTOP_CHECKPOINT_PAGES,
    SQLITE_BUSY_TIMEOUT_MS,
    SQLITE_CHECKPOINT_INTERVAL_S,
    SQLITE_SCHEMA_VERSION,
)

# The unique index is the message's identity, so INSERT OR IGNORE makes writes idempotent;
# led by device and time, it is also the index query() scans. Site is part of it because
# InfluxDB keys points by all their tags: both stores agree on what is the same message.
# A rowid table with narrow indexes writes twice as fast as one clustered on the identity.
# No other index: each costs every insert a b-tree write (an index on (site, channel), which
# only count() by site or channel used, was a sixth of the write's CPU; such a count now
# scans the table, which no live path does).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    device_id TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    channel TEXT NOT NULL,
    seq INTEGER NOT NULL,
    site TEXT NOT NULL,
    kind TEXT,
    household TEXT,
    fields BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS readings_identity
    ON readings (device_id, ts_ms, channel, seq, site);
DROP INDEX IF EXISTS readings_by_site_channel;
"""
# A batch is inserted by multi-row statements (a batch of 1,000, ingest's under load, by
# one), each run in one call without the GIL. executemany takes the GIL back after every
# row, and while the ingest consumer runs Python a thread waits up to a switch interval
# (5 ms) each time it wants the GIL back: a write on a thread of its own advanced a row per
# 5 ms. A statement's rows: a full chunk, or a power of two for the rest, so that SQLite's
# statement cache holds every text used (11).
_ROW = "(?, ?, ?, ?, ?, ?, ?, ?)"
_ROW_PARAMS = 8
_CHUNK_ROWS = 1_000
_SMALLER_CHUNKS = tuple(1 << bit for bit in reversed(range(_CHUNK_ROWS.bit_length())))


def _chunk_sizes(rows: int, chunk_rows: int) -> Iterator[int]:
    """Row counts of the statements that insert ``rows`` rows: full chunks, then the rest
    in powers of two, largest first."""
    full, rest = divmod(rows, chunk_rows)
    yield from [chunk_rows] * full
    for size in _SMALLER_CHUNKS:
        if rest >= size:
            rest -= size
            yield size


@functools.cache
def _insert_rows(rows: int) -> str:
    return "INSERT OR IGNORE INTO readings VALUES " + ", ".join([_ROW] * rows)


_RETRYABLE_HINTS = ("locked", "busy", "disk i/o", "full", "unable to open")


def _translate(exc: sqlite3.Error, doing: str) -> StoreError:
    text = str(exc)
    retryable = isinstance(exc, sqlite3.OperationalError) and any(
        hint in text.lower() for hint in _RETRYABLE_HINTS
    )
    return StoreError(f"embedded store could not {doing}: {text}", retryable=retryable)


class SqliteReadingStore(ReadingStore):
    """Readings in one SQLite file (WAL), the default when no InfluxDB is configured.

    Writes are synchronous, batched (one transaction per :meth:`write`) and idempotent:
    a message is identified by device, event time, channel, site and ``seq`` (when it has
    one).
    Thread safe: writes go through one connection under a lock, reads use a small pool of
    connections of their own, which WAL lets run beside a write.

    A thread of its own checkpoints the WAL every ``checkpoint_interval_s`` (passive: it
    never waits for the writer), so that a write does not: each batch of a thousand devices
    dirties a page of the identity index per device, and with SQLite's checkpoint at 1,000
    pages a commit copied them all back and synced the file, nearly every batch once the
    store held a million rows (:meth:`write` there: 39-42 us of CPU and 160-270 us of wall a
    row, against 26-28 and 100-146 with this thread).
    """

    def __init__(self, path: str | Path,
                 checkpoint_interval_s: float = SQLITE_CHECKPOINT_INTERVAL_S) -> None:
        self.path = Path(path)
        self._stop_checkpoints = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the directory of the embedded store {self.path}: {exc}",
                retryable=False,
            ) from None
        try:
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL survives a crash of the process; a power cut may
            # lose the last transactions, which MQTT redelivery covers.
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.execute(f"PRAGMA wal_autocheckpoint={SQLITE_BACKSTOP_CHECKPOINT_PAGES}")
            version = self._writer.execute("PRAGMA user_version").fetchone()[0]
            if version > SQLITE_SCHEMA_VERSION:
                raise StoreError(
                    f"embedded store {self.path} has schema version {version}; this safehood "
                    f"knows up to {SQLITE_SCHEMA_VERSION}",
                    retryable=False,
                )
            self._writer.executescript(_SCHEMA)
            # An older SQLite allows fewer variables a statement (999 before 3.32).
            limit = self._writer.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            self._chunk_rows = min(_CHUNK_ROWS, limit // _ROW_PARAMS)
            self._writer.execute(f"PRAGMA user_version={SQLITE_SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(
                f"cannot open the embedded store {self.path}: {exc}", retryable=False
            ) from None
        self._checkpointer = threading.Thread(
            target=self._checkpoint_every, args=(checkpoint_interval_s,),
            name="sqlite-checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoint_every(self, interval_s: float) -> None:
        conn = self._connect()
        while not self._stop_checkpoints.wait(interval_s):
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:  # closed, or busy: the next one (or the backstop) will do
                continue

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )
        with self._all_lock:
            self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        self._check_open()
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        finally:
            self._readers.put(conn)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the embedded store is closed", retryable=False)

    def write(self, messages: Sequence[Message]) -> None:
        """Store a batch in one transaction; messages already stored are skipped."""
        if not messages:
            return
        params = list(itertools.chain.from_iterable(
            (
                m.device_id, m.ts_ms, m.channel, NO_SEQ if m.seq is None else m.seq, m.site,
                m.kind, m.household, orjson.dumps(stored_fields(m)),
            )
            for m in messages
        ))
        with self._write_lock:
            self._check_open()
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                try:
                    start = 0
                    for rows in _chunk_sizes(len(messages), self._chunk_rows):
                        end = start + rows * _ROW_PARAMS
                        self._writer.execute(_insert_rows(rows), params[start:end])
                        start = end
                    self._writer.execute("COMMIT")
                except BaseException:
                    self._writer.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise _translate(exc, f"write {len(messages)} messages") from None
        _metrics.WRITTEN.labels("sqlite").inc(len(messages))

    def flush(self, timeout_s: float | None = None) -> None:
        """Nothing to wait for: :meth:`write` returns once the batch is committed."""
        self._check_open()

    def query(
        self, device_id: str, start_ms: int, end_ms: int, *, limit: int = 10_000,
        channels: Collection[str] | None = None,
    ) -> list[StoredReading]:
        """Readings of one device with ``start_ms <= ts < end_ms``, oldest first; only
        those of ``channels`` when given."""
        if limit <= 0:
            raise StoreError(f"limit must be positive, not {limit}", retryable=False)
        params: list[Any] = [device_id, start_ms, end_ms]
        only = ""
        if channels is not None:
            only = f" AND channel IN ({', '.join('?' * len(channels))})" if channels else " AND 0"
            params += sorted(channels)
        sql = (
            "SELECT ts_ms, site, device_id, kind, channel, fields, household FROM readings"
            f" WHERE device_id = ? AND ts_ms >= ? AND ts_ms < ?{only}"
            " ORDER BY ts_ms, channel, seq LIMIT ?"
        )
        with self._reader() as conn:
            try:
                rows = conn.execute(sql, (*params, limit)).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc, "query readings") from None
        return [
            StoredReading(
                ts_ms=ts_ms, site=site, device_id=dev, kind=kind, channel=channel,
                fields=read_fields(orjson.loads(fields)), household=household,
            )
            for ts_ms, site, dev, kind, channel, fields, household in rows
        ]

    def count(self, *, site: str | None = None, channel: str | None = None) -> int:
        """How many messages are stored (optionally of one site or channel)."""
        where: list[str] = []
        params: list[Any] = []
        if site is not None:
            where.append("site = ?")
            params.append(site)
        if channel is not None:
            where.append("channel = ?")
            params.append(channel)
        sql = "SELECT count(*) FROM readings" + (" WHERE " + " AND ".join(where) if where else "")
        with self._reader() as conn:
            try:
                return int(conn.execute(sql, params).fetchone()[0])
            except sqlite3.Error as exc:
                raise _translate(exc, "count readings") from None

    def delete_before(self, cutoff_ms: int) -> None:
        """Delete readings with ``ts < cutoff_ms``; the freed pages are reused, not returned."""
        self._delete("ts_ms < ?", [cutoff_ms], "delete old readings")

    def delete_devices(self, device_ids: Collection[str]) -> None:
        """Delete every reading of ``device_ids``."""
        if device_ids:
            ids = sorted(device_ids)
            self._delete(f"device_id IN ({', '.join('?' * len(ids))})", ids,
                         "delete readings of devices")

    def _delete(self, where: str, params: list[Any], doing: str) -> None:
        with self._write_lock:
            self._check_open()
            try:
                self._writer.execute(f"DELETE FROM readings WHERE {where}", params)
            except sqlite3.Error as exc:
                raise _translate(exc, doing) from None

    def ping(self) -> bool:
        """True while the file can be read."""
        try:
            self.check()
        except StoreError:
            return False
        return True

    def check(self) -> None:
        """Raise :class:`StoreError` unless the file can be read."""
        with self._reader() as conn:
            try:
                conn.execute("SELECT 1 FROM readings LIMIT 1").fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc, "read its file") from None

    def close(self) -> None:
        """Close every connection; later calls raise :class:`StoreError`. Idempotent."""
        self._stop_checkpoints.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
        with self._write_lock:
            self._closed = True
            with self._all_lock:
                conns, self._all = self._all, []
            for conn in conns:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()

    def __repr__(self) -> str:
        return f"SqliteReadingStore({str(self.path)!r})"
