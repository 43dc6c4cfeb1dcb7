"""The device health recorder writes on a thread of its own, in short transactions."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from safehood.database import create_database_engine, device_health, migrate
from safehood.ingest import DeviceHealthRecorder
from safehood.protocol import Message, parse_message

PREFIX = "safehood"
T0 = 1772410500000


def smoke(device: int, seq: int) -> Message:
    topic = f"{PREFIX}/v1/xianlin-3/h{device:04d}-smoke/telemetry"
    payload = (b'{"ts": %d, "seq": %d, "kind": "smoke", "smoke": 0.2, "temp_c": 21.5, '
               b'"battery": 90}' % (T0 + seq, seq))
    return parse_message(topic, payload, T0 + seq, None, PREFIX)


def test_the_upserts_leave_the_consumer_thread_in_short_transactions(tmp_path: Path) -> None:
    # Written on the consumer thread, 8,000 devices' upserts held every batch (and its
    # alerts) up by a tenth of a second, and the alert store's writers as long.
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    writers: set[int] = set()
    commits = []

    @event.listens_for(engine, "before_cursor_execute")
    def on_execute(*_args: Any) -> None:
        writers.add(threading.get_ident())

    @event.listens_for(engine, "commit")
    def on_commit(_connection: Any) -> None:
        commits.append(threading.get_ident())

    recorder = DeviceHealthRecorder(engine, flush_interval_s=3600, rows_per_transaction=500)
    recorder([smoke(d, 1) for d in range(1_200)])
    recorder.flush()
    recorder([smoke(d, 2) for d in range(3)])
    recorder.close()  # writes the rest, and waits for both
    written_by = set(writers)
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(device_health)).scalar()
        newest = connection.execute(select(device_health.c.last_seen_ms).where(
            device_health.c.device_id == "h0001-smoke")).scalar()
    engine.dispose()
    assert rows == 1_200 and newest == T0 + 2  # the later flush wrote over the earlier
    assert threading.get_ident() not in written_by
    assert len(commits) == 3 + 1  # 1,200 rows in 500s, then the 3 of the second flush


def test_a_flush_after_close_is_written_at_once(tmp_path: Path) -> None:
    # A consumer that outlived the shutdown's wait for it still gets its rows written.
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    recorder = DeviceHealthRecorder(engine, flush_interval_s=3600)
    recorder.close()
    recorder([smoke(7, 1)])
    recorder.flush()
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(device_health)).scalar()
    engine.dispose()
    assert rows == 1
