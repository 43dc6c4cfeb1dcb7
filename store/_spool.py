"""A durable on-disk spool of line-protocol batches InfluxDB could not take (yet)."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ._base import StoreError

_SCHEMA = """
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
_INSERT_REJECTED = (
    "INSERT INTO rejected (body, messages, reason, rejected_ms) VALUES (?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One batch waiting in the spool: line protocol, one message a line."""

    id: int
    body: bytes
    messages: int


class DiskSpool:
    """Batches kept in a SQLite file until InfluxDB takes them.

    ``pending`` holds what failed for a reason that may pass (network, 5xx) and is
    re-submitted; ``rejected`` keeps what the server refused for good (4xx) with the reason,
    a dead-letter record for an operator. Thread safe. Each put is committed before it
    returns (synchronous=FULL): a batch in the spool survives a crash or a power cut.
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
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
            row = self._conn.execute("SELECT coalesce(sum(messages), 0) FROM pending").fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the spool {self.path}: {exc}", retryable=False) from None
        self._pending = int(row[0])

    @property
    def pending_messages(self) -> int:
        """Messages waiting to be re-submitted."""
        return self._pending

    def put(self, body: bytes, messages: int, reason: str) -> None:
        """Keep a batch for re-submission."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO pending (body, messages, reason, spooled_ms) VALUES (?, ?, ?, ?)",
                (body, messages, reason, int(time.time() * 1000)),
            )
            self._pending += messages

    def reject(self, body: bytes, messages: int, reason: str) -> None:
        """Keep a batch the server refused for good, with the reason."""
        with self._lock:
            self._conn.execute(_INSERT_REJECTED, (body, messages, reason, int(time.time() * 1000)))

    def oldest(self) -> SpooledBatch | None:
        """The batch that waited longest, or ``None`` when nothing waits."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id, body, messages FROM pending ORDER BY id LIMIT 1"
            ).fetchone()
        return None if row is None else SpooledBatch(row[0], bytes(row[1]), row[2])

    def remove(self, batch: SpooledBatch) -> None:
        """Forget a batch the server took."""
        with self._lock:
            if self._conn.execute("DELETE FROM pending WHERE id = ?", (batch.id,)).rowcount:
                self._pending -= batch.messages

    def move_to_rejected(self, batch: SpooledBatch, reason: str) -> None:
        """Move a pending batch the server refused for good to ``rejected``."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    _INSERT_REJECTED, (batch.body, batch.messages, reason, int(time.time() * 1000))
                )
                deleted = self._conn.execute(
                    "DELETE FROM pending WHERE id = ?", (batch.id,)
                ).rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            if deleted:
                self._pending -= batch.messages

    def rejected_messages(self) -> int:
        """Messages the server refused for good, kept in ``rejected``."""
        with self._lock:
            row = self._conn.execute("SELECT coalesce(sum(messages), 0) FROM rejected").fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
