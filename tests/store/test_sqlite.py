"""The embedded store's own promises: a durable file, seq in the identity, clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from safehood.store import SqliteReadingStore, StoreError, as_stored
from tests._mqtt import wait_until

from ._samples import T0, every_kind, message


def test_readings_survive_reopening_the_file(tmp_path: Path) -> None:
    with SqliteReadingStore(tmp_path / "r.db") as first:
        first.write(every_kind())
    with SqliteReadingStore(tmp_path / "r.db") as second:
        assert second.count() == 13
        assert len(second.query("h001-smoke", T0, T0 + 100)) == 3


def test_same_time_different_seq_are_two_messages(tmp_path: Path) -> None:
    # Two events in the same millisecond: seq tells them apart (InfluxDB keeps the last).
    with SqliteReadingStore(tmp_path / "r.db") as s:
        s.write([message("d", "event", T0, kind="door", seq=1, event="open"),
                 message("d", "event", T0, kind="door", seq=2, event="close"),
                 message("d", "event", T0, kind="door", seq=2, event="close")])
        assert [r.fields["event"] for r in s.query("d", T0, T0 + 1)] == ["open", "close"]


def test_a_path_that_cannot_hold_a_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create the directory") as err:
        SqliteReadingStore(tmp_path / "file" / "r.db")
    assert not err.value.retryable

    (tmp_path / "junk.db").write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError, match="cannot open the embedded store"):
        SqliteReadingStore(tmp_path / "junk.db")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "r.db") as conn:
        conn.execute("PRAGMA user_version=99")
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteReadingStore(tmp_path / "r.db")


def test_bad_limit_and_closed_store(tmp_path: Path) -> None:
    s = SqliteReadingStore(tmp_path / "r.db")
    with pytest.raises(StoreError, match="limit must be positive"):
        s.query("d", T0, T0 + 1, limit=0)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.write(every_kind())
    with pytest.raises(StoreError, match="closed"):
        s.count()


def test_the_wal_is_checkpointed_off_the_writers_path(tmp_path: Path) -> None:
    """Writes leave the WAL to the store's own thread: the database file takes the rows
    without a write ever checkpointing (SQLite's own checkpoint comes only at 10,000 pages)."""
    path = tmp_path / "r.db"
    with SqliteReadingStore(path, checkpoint_interval_s=0.05) as s:
        empty = path.stat().st_size
        for batch in range(5):
            s.write([message(f"d{i}", "telemetry", T0 + batch, kind="smoke", seq=batch,
                             fields={"smoke": 0.1}) for i in range(1_000)])
        assert Path(f"{path}-wal").stat().st_size > 100_000
        wait_until(lambda: path.stat().st_size > empty + 100_000, 10,
                   "the checkpoint thread to copy the WAL into the database")
        assert s.count() == 5_000


def test_a_batch_of_any_size_is_stored_whole_and_in_order(tmp_path: Path) -> None:
    # A batch goes in by multi-row statements: full chunks of 1,000, then powers of two.
    written = [*every_kind(),
               *(message(f"d{i % 50}", "telemetry", T0 + i, kind="smoke", fields={"smoke": 0.5})
                 for i in range(2_490))]
    with SqliteReadingStore(tmp_path / "r.db") as store:
        for batch in (written[:1], written[1:1_000], written[1_000:]):
            store.write(batch)
    with sqlite3.connect(tmp_path / "r.db") as conn:
        rows = conn.execute("SELECT device_id, ts_ms, channel, seq, site, kind, household,"
                            " fields FROM readings ORDER BY rowid").fetchall()
    assert rows == [(m.device_id, m.ts_ms, m.channel, -1 if m.seq is None else m.seq, m.site,
                     m.kind, m.household, orjson.dumps(as_stored(m).fields)) for m in written]
