"""The InfluxDB store's one durable log: line-protocol batches in a SQLite file."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
_SPILL = ("INSERT INTO pending (body, messages, reason, spooled_ms)"
          " SELECT body, messages, ?, written_ms FROM journal ORDER BY id")
_RECOVERED = "in flight when the store stopped"

Table = Literal["journal", "pending"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One batch in the spool: line protocol, one message a line, and where it waits."""

    table: Table
    id: int
    body: bytes
    messages: int


class DiskSpool:
    """Batches kept in a SQLite file until InfluxDB has them.

    - ``journal``: batches the store took and has not sent yet. A batch is here (committed)
      before :meth:`add` returns, so a crash after that loses nothing: what a crash leaves
      here moves to ``pending`` at the next start. Writing a message twice is harmless
      (InfluxDB overwrites the same point).
    - ``pending``: the outage buffer. Batches InfluxDB could not take for a reason that may
      pass (network, 5xx), and what is added while anything waits here, re-sent oldest first.
      While ``pending`` holds anything, ``journal`` is empty.
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
                self._conn.execute(_SPILL, (_RECOVERED,))
                self._conn.execute("DELETE FROM journal")
            row = self._conn.execute("SELECT coalesce(sum(messages), 0) FROM pending").fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the spool {self.path}: {exc}", retryable=False) from None
        self._pending = int(row[0])
        self._journaled = 0

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
        """Messages waiting for InfluxDB to come back."""
        return self._pending

    def journaled_messages(self) -> int:
        """Messages taken and not sent yet."""
        return self._journaled

    def add(self, body: bytes, messages: int) -> bool:
        """Keep a batch: in ``journal``, or in ``pending`` when that already holds something
        (InfluxDB is away; the batch queues behind the others). Returns True for ``pending``."""
        with self._lock:
            if self._pending:
                self._conn.execute(
                    "INSERT INTO pending (body, messages, reason, spooled_ms) VALUES (?, ?, ?, ?)",
                    (body, messages, "InfluxDB was unavailable", _now_ms()))
                self._pending += messages
                return True
            self._conn.execute(
                "INSERT INTO journal (body, messages, written_ms) VALUES (?, ?, ?)",
                (body, messages, _now_ms()))
            self._journaled += messages
            return False

    def journaled(self, max_messages: int) -> list[SpooledBatch]:
        """The oldest journaled batches, together at most ``max_messages`` (but at least one)."""
        return self._oldest("journal", max_messages)

    def pending(self, max_messages: int) -> list[SpooledBatch]:
        """The batches that waited longest in the outage buffer, together at most
        ``max_messages`` (but at least one; none when nothing waits)."""
        return self._oldest("pending", max_messages)

    def _oldest(self, table: Table, max_messages: int) -> list[SpooledBatch]:
        with self._lock:
            rows = self._conn.execute(f"SELECT id, body, messages FROM {table} ORDER BY id")
            batches: list[SpooledBatch] = []
            total = 0
            for row_id, body, messages in rows:
                if batches and total + messages > max_messages:
                    break
                batches.append(SpooledBatch(table, row_id, bytes(body), messages))
                total += messages
            return batches

    def spill(self, reason: str) -> int:
        """Move the whole journal to ``pending`` (InfluxDB is away); returns the messages moved."""
        with self._lock, self._transaction():
            self._conn.execute(_SPILL, (reason,))
            self._conn.execute("DELETE FROM journal")
            moved, self._journaled = self._journaled, 0
            self._pending += moved
            return moved

    def remove(self, batches: Sequence[SpooledBatch]) -> None:
        """Forget batches the server took."""
        with self._lock, self._transaction():
            self._delete(batches)

    def move_to_rejected(self, batches: Sequence[SpooledBatch], reason: str) -> None:
        """Move batches the server refused for good to ``rejected``."""
        with self._lock, self._transaction():
            self._conn.executemany(
                "INSERT INTO rejected (body, messages, reason, rejected_ms) VALUES (?, ?, ?, ?)",
                [(b.body, b.messages, reason, _now_ms()) for b in batches])
            self._delete(batches)

    def _delete(self, batches: Sequence[SpooledBatch]) -> None:
        for batch in batches:
            deleted = self._conn.execute(
                f"DELETE FROM {batch.table} WHERE id = ?", (batch.id,)).rowcount
            if deleted and batch.table == "journal":
                self._journaled -= batch.messages
            elif deleted:
                self._pending -= batch.messages

    def rejected_messages(self) -> int:
        """Messages the server refused for good, kept in ``rejected``."""
        with self._lock:
            row = self._conn.execute("SELECT coalesce(sum(messages), 0) FROM rejected").fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
