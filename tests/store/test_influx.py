"""InfluxDB store: outages go to the disk spool and come back exactly once; errors are
StoreErrors; the line protocol is what the README promises."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from safehood._broker import free_port
from safehood.config import Settings
from safehood.store import InfluxReadingStore, SqliteReadingStore, StoreError, open_store, to_line
from tests._influxdb import InfluxForwarder, InfluxServer
from tests._mqtt import wait_until

from ._samples import T0, every_kind, message, smoke_series
from .conftest import InfluxFactory


def spool_file_messages(path: Path, table: str = "pending") -> int:
    """What the spool holds on disk, read with sqlite3 behind the store's back."""
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT coalesce(sum(messages), 0) FROM {table}").fetchone()[0])


def test_outage_is_spooled_to_disk_and_arrives_once_when_influx_is_back(
    influxdb: InfluxServer, make_influx_store: InfluxFactory, tmp_path: Path
) -> None:
    store = make_influx_store()
    before = smoke_series("d1", 100)
    store.write(before)
    store.flush()

    influxdb.forwarder.stop()
    series = smoke_series("d1", 450)
    store.write(series[100:200])
    store.write(series[200:300])
    store.flush()
    assert store.spooled == 200
    # Known to be down: the next batch goes straight to disk instead of waiting in memory.
    store.write(series[300:400])
    assert store.spooled == 300

    assert spool_file_messages(tmp_path / "spool.db") == 300
    assert not store.ping()
    with pytest.raises(StoreError) as down:
        store.count()
    assert down.value.retryable

    influxdb.forwarder.start()
    wait_until(lambda: store.spooled == 0, 60, "the spool to drain")
    store.write(series[400:] + before[:10])  # with a redelivered piece, for good measure
    store.flush()

    assert store.count() == 450
    got = store.query("d1", T0, T0 + 10**7)
    assert [r.fields["seq"] for r in got] == list(range(450))
    assert spool_file_messages(tmp_path / "spool.db") == 0
    assert spool_file_messages(tmp_path / "spool.db", "journal") == 0


def test_the_spool_drains_in_large_requests_and_logs_state_changes_only(
    influxdb: InfluxServer, make_influx_store: InfluxFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """An outage filled with small batches drains in a few large requests, with no /ping
    per request once InfluxDB answers, and one log line per change of state."""
    caplog.set_level(logging.INFO, logger="safehood.store")
    store = make_influx_store(drain_batch_size=5_000)
    series = smoke_series("d1", 3_000)
    with influxdb.forwarder.down():
        for start in range(0, 3_000, 5):  # 600 small batches, as a trickle of traffic makes
            store.write(series[start:start + 5])
        store.flush()
        assert store.spooled == 3_000
    requests = influxdb.forwarder.requests
    writes, pings = requests["/api/v2/write"], requests["/ping"]
    wait_until(lambda: store.spooled == 0, 60, "the spool to drain")
    assert requests["/api/v2/write"] - writes == 1
    assert requests["/ping"] - pings <= 1
    assert store.count() == 3_000
    said = [r.getMessage() for r in caplog.records if r.name.startswith("safehood.store")]
    assert len(said) == 3, said
    assert said[0].startswith("InfluxDB unavailable")
    assert said[1].startswith("InfluxDB is back: draining 3000 spooled messages")
    assert said[2].startswith("InfluxDB spool drained")


def test_the_spool_drains_while_live_traffic_flows(
    influxdb: InfluxServer, make_influx_store: InfluxFactory
) -> None:
    """A backlog of small batches empties while traffic keeps coming at a steady rate (it
    queues behind the backlog), and every message is stored once."""
    store = make_influx_store()
    series = smoke_series("d1", 40_000)
    with influxdb.forwarder.down():
        for start in range(2_000):  # ingest writes what arrived: one message, when it trickles
            store.write(series[start:start + 1])
        store.flush()
    written = 2_000
    drained = threading.Event()

    def live_traffic() -> None:
        nonlocal written
        while not drained.is_set() and written < len(series):
            store.write(series[written:written + 1])
            written += 1
            time.sleep(0.0025)  # at most 400 messages a second

    traffic = threading.Thread(target=live_traffic)
    traffic.start()
    try:
        wait_until(lambda: store.spooled == 0, 60, "the spool to drain under live traffic")
    finally:
        drained.set()
        traffic.join()
    assert written < len(series), "the traffic ran out before the spool drained"
    store.flush()
    assert store.count() == written


def test_spool_survives_a_restart_of_the_store(
    influxdb: InfluxServer, make_influx_store: InfluxFactory, tmp_path: Path
) -> None:
    with influxdb.forwarder.down():
        first = make_influx_store()
        first.write(every_kind())
        first.close()  # closing flushes: the batch lands in the spool file
        assert spool_file_messages(tmp_path / "spool.db") == 13
        second = make_influx_store()
        assert second.spooled == 13
    # The forwarder is back: the new store drains what the old one spooled.
    wait_until(lambda: second.spooled == 0, 60, "the spool to drain")
    assert second.count() == 13


# A process that hands messages to the store and is killed before the WriteApi sends them
# (its batching window is an hour long).
CRASHING_WRITER = """
import sys, time
from safehood.store import InfluxReadingStore
from tests.store._samples import smoke_series
store = InfluxReadingStore(sys.argv[1], None, "safehood", sys.argv[2], spool_path=sys.argv[3],
                           batch_size=100_000, flush_interval_s=3600)
store.write(smoke_series("d1", 250))
print("written", flush=True)
time.sleep(3600)
"""


def test_a_crash_after_write_loses_nothing(
    influxdb: InfluxServer, influx_database: str, make_influx_store: InfluxFactory,
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, influxdb.client_url, influx_database, str(spool)],
        stdout=subprocess.PIPE, cwd=Path(__file__).parents[2],
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"written"
    finally:
        writer.kill()
        writer.wait()

    assert spool_file_messages(spool, "journal") == 250
    nothing = influxdb.query('SELECT count("msg") FROM /.*/', influx_database)
    assert "series" not in nothing["results"][0]  # nothing had reached InfluxDB

    store = make_influx_store()  # the next start: the dead process's journal is re-submitted
    wait_until(lambda: store.spooled == 0, 60, "the spool to drain")
    assert store.count() == 250
    assert spool_file_messages(spool, "journal") == 0


def test_refused_writes_are_kept_aside_not_retried(
    influxdb: InfluxServer, make_influx_store: InfluxFactory, tmp_path: Path
) -> None:
    store = make_influx_store(bucket="no_such_database")
    store.write(smoke_series("d1", 20))
    store.flush()

    # InfluxDB 1.x answers 404 "database not found": that will not pass by retrying.
    assert store.spooled == 0
    assert store.spool.rejected_messages() == 20
    assert spool_file_messages(tmp_path / "spool.db", "rejected") == 20
    with pytest.raises(StoreError) as refused:
        store.check()
    assert not refused.value.retryable
    assert "database not found" in str(refused.value)


def test_a_refused_batch_in_the_spool_keeps_only_itself_aside(
    influxdb: InfluxServer, make_influx_store: InfluxFactory
) -> None:
    """The drain sends many spooled batches in one request; when InfluxDB refuses that
    request, each is sent alone, so only the refused batch goes to ``rejected``."""
    store = make_influx_store()
    series = smoke_series("d1", 40)
    store.write(series[:10])
    store.flush()
    with influxdb.forwarder.down():
        store.write(series[10:20])
        store.flush()
        # A string where InfluxDB already keeps floats: a field type conflict (HTTP 400).
        store.spool.add(f'smoke,device_id=d1,site=xianlin-3 smoke="high" {T0 + 10**6}'.encode(), 1)
        store.write(series[20:40])
    wait_until(lambda: store.spooled == 0, 60, "the spool to drain")
    assert store.spool.rejected_messages() == 1
    assert store.count() == 40


def test_read_errors_are_store_errors(tmp_path: Path, make_influx_store: InfluxFactory) -> None:
    nothing_there = make_influx_store(url=f"http://127.0.0.1:{free_port()}", timeout_s=2.0)
    with pytest.raises(StoreError) as unreachable:
        nothing_there.query("d1", T0, T0 + 1)
    assert unreachable.value.retryable
    assert "unreachable" in str(unreachable.value)
    assert not nothing_there.ping()

    # A proxy in front of a dead server answers 502: retryable too.
    dead_upstream = InfluxForwarder(f"http://127.0.0.1:{free_port()}")
    dead_upstream.start()
    try:
        bad_gateway = make_influx_store(url=dead_upstream.url, spool_path=tmp_path / "s2.db")
        with pytest.raises(StoreError) as server_error:
            bad_gateway.count(site="x")
        assert server_error.value.retryable
        assert "502" in str(server_error.value)
    finally:
        dead_upstream.close()

    no_database = make_influx_store(bucket="no_such_database", spool_path=tmp_path / "s3.db")
    with pytest.raises(StoreError) as refused:
        no_database.query("d1", T0, T0 + 1)
    assert not refused.value.retryable


def test_closed_store_refuses_writes(make_influx_store: InfluxFactory) -> None:
    store = make_influx_store()
    store.close()
    with pytest.raises(StoreError) as closed:
        store.write(smoke_series("d1", 1))
    assert not closed.value.retryable


def test_line_protocol_of_each_channel() -> None:
    smoke, event, *_ = every_kind()
    status = every_kind()[-1]
    assert to_line(smoke) == (
        "smoke,channel=telemetry,device_id=h001-smoke,household=h001,kind=smoke,site=xianlin-3"
        " msg=1i,smoke=0.5,temp_c=21.5,co_ppm=3.0,battery=88.0,seq=1i 1700000000001"
    )
    assert to_line(event) == (
        "smoke,channel=event,device_id=h001-smoke,household=h001,kind=smoke,site=xianlin-3"
        ' msg=1i,event="alarm",seq=2i 1700000000002'
    )
    assert to_line(status) == (
        "device_status,channel=status,device_id=h001-smoke,site=xianlin-3"
        " msg=1i,online=true,rssi=-67.0,battery=87.0 1700000000013"
    )
    door = message("d", "event", T0, kind="door", household="a b,c=d", event="denied",
                   credential='x"y\\z')
    assert to_line(door) == (
        r"door,channel=event,device_id=d,household=a\ b\,c\=d,kind=door,site=xianlin-3"
        r' msg=1i,event="denied",credential="x\"y\\z" 1700000000000'
    )


def test_open_store_follows_the_settings(influxdb: InfluxServer, tmp_path: Path) -> None:
    embedded = open_store(Settings(data_dir=tmp_path / "a"))
    assert isinstance(embedded, SqliteReadingStore)
    assert embedded.path == tmp_path / "a" / "readings.db"
    embedded.close()

    influx = open_store(Settings(data_dir=tmp_path / "b", influx_url=influxdb.client_url))
    try:
        assert isinstance(influx, InfluxReadingStore)
        assert influx.spool.path == tmp_path / "b" / "influx-spool.db"
        assert influx.ping()
    finally:
        influx.close()
