"""A durable on-disk spool of line-protocol batches on their way to InfluxDB."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ._base import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    messages INTEGER NOT NULL,
    written_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    messages INTEGER NOT NULL,
    reason TEXT NOT NULL,
    spooled_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    messages INTEGER NOT NULL,
    reason TEXT NOT NULL,
    rejected_ms INTEGER NOT NULL
);
"""
_INSERT_PENDING = "INSERT INTO pending (body, messages, reason, spooled_ms) VALUES (?, ?, ?, ?)"
_INSERT_REJECTED = (
    "INSERT INTO rejected (body, messages, reason, rejected_ms) VALUES (?, ?, ?, ?)"
)
_RECOVERED = "in flight when the store stopped"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One batch waiting in the spool: line protocol, one message a line."""

    id: int
    body: bytes
    messages: int


class DiskSpool:
    """Batches kept in a SQLite file until InfluxDB has them.

    - ``journal``: every batch handed to the background writer, until InfluxDB answered
      for it (or it moved to ``pending``). What a crash leaves here is moved to ``pending``
      at the next start: a message written once is never lost to a crash in between, and
      writing it twice is harmless (InfluxDB overwrites the same point).
    - ``pending``: what failed for a reason that may pass (network, 5xx), re-submitted
      when the server is back.
    - ``rejected``: what the server refused for good (4xx), with the reason: a dead-letter
      record for an operator.

    Each change is committed before the method returns (WAL, synchronous=NORMAL: it
    survives a crash of the process; a power cut may lose the last moments, as it would
    the broker's own persistence). Thread safe.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            with self._transaction():
                self._conn.execute(
                    "INSERT INTO pending (body, messages, reason, spooled_ms)"
                    " SELECT body, messages, ?, written_ms FROM journal ORDER BY id",
                    (_RECOVERED,),
                )
                self._conn.execute("DELETE FROM journal")
            row = self._conn.execute("SELECT coalesce(sum(messages), 0) FROM pending").fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the spool {self.path}: {exc}", retryable=False) from None
        self._pending = int(row[0])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @property
    def pending_messages(self) -> int:
        """Messages waiting to be re-submitted."""
        return self._pending

    def journal(self, body: bytes, messages: int) -> int:
        """Record a batch on its way to InfluxDB; returns its id for :meth:`settle`."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO journal (body, messages, written_ms) VALUES (?, ?, ?)",
                (body, messages, _now_ms()),
            )
            return int(cursor.lastrowid or 0)

    def settle(self, journal_ids: Iterable[int]) -> None:
        """Forget journaled batches InfluxDB answered for (or that were spooled)."""
        ids = [(i,) for i in journal_ids]
        if ids:
            with self._lock:
                self._conn.executemany("DELETE FROM journal WHERE id = ?", ids)

    def put(self, body: bytes, messages: int, reason: str) -> None:
        """Keep a batch for re-submission."""
        with self._lock:
            self._conn.execute(_INSERT_PENDING, (body, messages, reason, _now_ms()))
            self._pending += messages

    def reject(self, body: bytes, messages: int, reason: str) -> None:
        """Keep a batch the server refused for good, with the reason."""
        with self._lock:
            self._conn.execute(_INSERT_REJECTED, (body, messages, reason, _now_ms()))

    def oldest(self) -> SpooledBatch | None:
        """The pending batch that waited longest, or ``None`` when nothing waits."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id, body, messages FROM pending ORDER BY id LIMIT 1"
            ).fetchone()
        return None if row is None else SpooledBatch(row[0], bytes(row[1]), row[2])

    def remove(self, batch: SpooledBatch) -> None:
        """Forget a pending batch the server took."""
        with self._lock:
            if self._conn.execute("DELETE FROM pending WHERE id = ?", (batch.id,)).rowcount:
                self._pending -= batch.messages

    def move_to_rejected(self, batch: SpooledBatch, reason: str) -> None:
        """Move a pending batch the server refused for good to ``rejected``."""
        with self._lock, self._transaction():
            self._conn.execute(
                _INSERT_REJECTED, (batch.body, batch.messages, reason, _now_ms())
            )
            deleted = self._conn.execute(
                "DELETE FROM pending WHERE id = ?", (batch.id,)
            ).rowcount
            if deleted:
                self._pending -= batch.messages

    def rejected_messages(self) -> int:
        """Messages the server refused for good, kept in ``rejected``."""
        with self._lock:
            row = self._conn.execute("SELECT coalesce(sum(messages), 0) FROM rejected").fetchone()
        return int(row[0])

    def journaled_messages(self) -> int:
        """Messages handed to the writer that InfluxDB has not answered for yet."""
        with self._lock:
            row = self._conn.execute("SELECT coalesce(sum(messages), 0) FROM journal").fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
