"""The duplicate filter's memory on disk, so that a restart does not forget what was taken.

A QoS 1 message can arrive again after ingest restarted: a batch handled but not yet
acknowledged when the process died, or a device resending what the broker had already
passed on. Had the filter started empty, the detectors would see such a repeat as news and
an SOS would count twice, or raise a new alert where the last one was resolved. The log
also keeps where each site's event time stood, so that the detectors' clocks resume there
and a site silent since before the restart still reaches its deadlines.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from safehood.protocol import DuplicateFilter, Message


@dataclass(frozen=True, slots=True)
class SiteTime:
    """A site's newest event time (``event_ms``) and the wall time it arrived (``wall_ms``)."""

    event_ms: int
    wall_ms: int

# One row per batch, its keys packed as JSON ``[[device_id, channel, seq, ts_ms, event]...]``
# (a row per message would cost ingest a quarter of its rate), and where each site's event
# time stood after it, ``{site: [ts_ms, received_ms]}`` of the site's newest message.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_batches (
    id INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    keys BLOB NOT NULL,
    sites BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_batches_received ON seen_batches (received_ms);
"""


class SeenLog:
    """The keys of the deliveries ingest has handled, in a SQLite file of the data directory.

    :meth:`record` appends a handled batch (after the detectors took it, before it is
    acknowledged); :meth:`restore` refills a :class:`~protocol.DuplicateFilter` at start,
    oldest first. Batches handled more than ``retention_s`` before the newest one are
    pruned by :meth:`prune`: measured from the newest, not the wall clock, so a long stop
    forgets nothing that was unacknowledged when it began. Not thread safe: the consumer
    thread owns it.
    """

    def __init__(self, path: Path, retention_s: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.retention_ms = int(retention_s * 1000)
        # Autocommit: each statement is its own transaction.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # a process crash loses nothing
        self._conn.executescript(_SCHEMA)

    def restore(self, dedup: DuplicateFilter) -> int:
        """Fill ``dedup`` with the recorded keys, oldest first; returns how many."""
        count = 0
        for (keys,) in self._conn.execute("SELECT keys FROM seen_batches ORDER BY id"):
            for device_id, channel, seq, ts_ms, event in orjson.loads(keys):
                dedup.remember(device_id, (channel, seq, ts_ms, event))
                count += 1
        return count

    def site_times(self) -> dict[str, SiteTime]:
        """Each recorded site's newest event time and when that message was received."""
        newest: dict[str, SiteTime] = {}
        for (sites,) in self._conn.execute("SELECT sites FROM seen_batches ORDER BY id"):
            for site, (ts_ms, received_ms) in orjson.loads(sites).items():
                if site not in newest or ts_ms >= newest[site].event_ms:
                    newest[site] = SiteTime(ts_ms, received_ms)
        return newest

    def record(self, messages: Sequence[Message]) -> None:
        """Append the keys of a handled batch (messages stamped on receipt have none)."""
        timed = [m for m in messages if not m.ts_from_receipt]
        if not timed:
            return
        keys = [(m.device_id, *DuplicateFilter.key_of(m)) for m in timed]
        sites: dict[str, tuple[int, int]] = {}
        for m in timed:
            if m.site not in sites or m.ts_ms >= sites[m.site][0]:
                sites[m.site] = (m.ts_ms, m.received_ms or m.ts_ms)
        received_ms = max(m.received_ms or m.ts_ms for m in timed)
        self._conn.execute(
            "INSERT INTO seen_batches (received_ms, keys, sites) VALUES (?, ?, ?)",
            (received_ms, orjson.dumps(keys), orjson.dumps(sites)))

    def prune(self) -> int:
        """Forget batches recorded ``retention_s`` before the newest; returns how many."""
        cursor = self._conn.execute(
            "DELETE FROM seen_batches"
            " WHERE received_ms < (SELECT max(received_ms) FROM seen_batches) - ?",
            (self.retention_ms,))
        return cursor.rowcount

    def close(self) -> None:
        self._conn.close()

