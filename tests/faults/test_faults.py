"""Faults against a running `safehood run` on a real broker and store: every test counts the
readings published, stored, lost and stored twice, and the alerts and notifications made
twice; all but the first two must be 0."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from safehood._broker import MosquittoBroker
from safehood.store import InfluxReadingStore, SqliteReadingStore
from tests._influxdb import InfluxServer
from tests._mqtt import publish_all, wait_until
from tests._notifications import NotificationReceiver

from ._harness import (
    MOTION,
    FaultCounts,
    NumberedPublisher,
    PipelineProcess,
    admin_token,
    fault_registry,
    open_alerts,
    pipeline_env,
    recorded_attempts,
    sos_press,
    stored_seqs,
)


def sqlite_seqs(data_dir: Path) -> list[int]:
    with SqliteReadingStore(data_dir / "readings.db") as store:
        return stored_seqs(store)


def started(processes: list[PipelineProcess], env: dict[str, str]) -> PipelineProcess:
    process = PipelineProcess(env)
    processes.append(process)
    process.start()
    return process


def test_sigkill_mid_stream(broker: MosquittoBroker, topic_prefix: str, tmp_path: Path,
                            processes: list[PipelineProcess]) -> None:
    """Batches in hand at the kill were not acknowledged: the broker delivers them again and
    the store keeps one copy of each."""
    data = tmp_path / "data"
    env = pipeline_env(broker.url, topic_prefix, data, fault_registry())
    pipeline = started(processes, env)
    publisher = NumberedPublisher(broker.host, broker.port, topic_prefix)
    published = range(3000)
    publisher.start(published)
    wait_until(lambda: len(sqlite_seqs(data)) >= 300, timeout_s=60, what="some readings stored")
    assert pipeline.stop(signal.SIGKILL) == -signal.SIGKILL
    publisher.join()
    assert len(sqlite_seqs(data)) < len(published), "the kill came too late to test anything"

    started(processes, env)
    wait_until(lambda: len(set(sqlite_seqs(data))) >= len(published), timeout_s=120,
               what="every reading stored")
    FaultCounts.of_readings("sigkill", published, sqlite_seqs(data)) \
        .with_alerts(data / "safehood.db").assert_clean()


def test_sigterm_flushes_everything(broker: MosquittoBroker, topic_prefix: str, tmp_path: Path,
                                    processes: list[PipelineProcess]) -> None:
    """What the pipeline took from the broker before SIGTERM is stored when it exits; what it
    had not taken yet arrives after the restart, once."""
    data = tmp_path / "data"
    env = pipeline_env(broker.url, topic_prefix, data, fault_registry())
    pipeline = started(processes, env)
    publisher = NumberedPublisher(broker.host, broker.port, topic_prefix)
    publisher.publish(range(2000))
    assert pipeline.stop(signal.SIGTERM) == 0
    before_restart = sqlite_seqs(data)
    publisher.publish(range(2000, 2500))

    started(processes, env)
    published = range(2500)
    wait_until(lambda: len(set(sqlite_seqs(data))) >= len(published), timeout_s=120,
               what="every reading stored")
    assert before_restart, "SIGTERM came before anything was taken"
    FaultCounts.of_readings("sigterm", published, sqlite_seqs(data)) \
        .with_alerts(data / "safehood.db").assert_clean()


def test_broker_restart(broker: MosquittoBroker, topic_prefix: str, tmp_path: Path,
                        processes: list[PipelineProcess]) -> None:
    """Queued for the pipeline's persistent session, kept in the broker's persistence file
    over its restart; the pipeline reconnects by itself."""
    data = tmp_path / "data"
    env = pipeline_env(broker.url, topic_prefix, data, fault_registry())
    pipeline = started(processes, env)
    publisher = NumberedPublisher(broker.host, broker.port, topic_prefix)
    publisher.publish(range(1000))
    # Queued while the pipeline is away, so only the broker's persistence can keep them.
    pipeline.stop(signal.SIGTERM)
    publisher.publish(range(1000, 2000))
    broker.stop()
    broker.start()
    pipeline = started(processes, env)
    wait_until(lambda: len(set(sqlite_seqs(data))) >= 2000, timeout_s=120, what="the queued readings")
    # And with the pipeline connected through a second restart.
    broker.stop()
    broker.start()
    publisher.publish(range(2000, 3000))
    published = range(3000)
    wait_until(lambda: len(set(sqlite_seqs(data))) >= len(published), timeout_s=120,
               what="every reading stored")
    assert pipeline.running
    FaultCounts.of_readings("broker restart", published, sqlite_seqs(data)) \
        .with_alerts(data / "safehood.db").assert_clean()


def influx_outage(influxdb: InfluxServer, influx_database: str, broker: MosquittoBroker,
                  topic_prefix: str, tmp_path: Path, processes: list[PipelineProcess],
                  outage_s: float) -> FaultCounts:
    """InfluxDB taken away for ``outage_s`` while readings keep coming; the spool keeps them
    and drains once it is back, with traffic still flowing."""
    data = tmp_path / "data"
    env = pipeline_env(broker.url, topic_prefix, data, fault_registry(),
                       influx_url=influxdb.client_url, influx_bucket=influx_database)
    started(processes, env)
    store = InfluxReadingStore(influxdb.client_url, None, "safehood", influx_database,
                               spool_path=tmp_path / "reader-spool.db")
    publisher = NumberedPublisher(broker.host, broker.port, topic_prefix)
    rate_per_s, batch = 200, 100
    seq = 0

    def publish_for(seconds: float) -> None:
        nonlocal seq
        for _ in range(max(1, int(seconds * rate_per_s / batch))):
            publisher.publish(range(seq, seq + batch))
            seq += batch
            time.sleep(batch / rate_per_s)  # paces the load; nothing waits on it

    try:
        publish_for(2)
        with influxdb.forwarder.down():
            publish_for(outage_s)
        publish_for(5)
        published = range(seq)
        wait_until(lambda: len(set(stored_seqs(store))) >= len(published), timeout_s=180,
                   what="the spool drained")
        return FaultCounts.of_readings(f"influxdb down {outage_s:g} s", published,
                                       stored_seqs(store)).with_alerts(data / "safehood.db")
    finally:
        store.close()


def test_influxdb_outage_under_load(influxdb: InfluxServer, influx_database: str,
                                    broker: MosquittoBroker, topic_prefix: str, tmp_path: Path,
                                    processes: list[PipelineProcess]) -> None:
    influx_outage(influxdb, influx_database, broker, topic_prefix, tmp_path, processes,
                  outage_s=5).assert_clean()


@pytest.mark.soak
def test_influxdb_outage_30s_under_load(influxdb: InfluxServer, influx_database: str,
                                        broker: MosquittoBroker, topic_prefix: str,
                                        tmp_path: Path, processes: list[PipelineProcess]) -> None:
    influx_outage(influxdb, influx_database, broker, topic_prefix, tmp_path, processes,
                  outage_s=30).assert_clean()


def test_restart_during_an_open_incident(broker: MosquittoBroker, topic_prefix: str,
                                         tmp_path: Path, sink: NotificationReceiver,
                                         processes: list[PipelineProcess]) -> None:
    """The whole pipeline restarted with an SOS alert open: the alert, its escalation timer,
    a silence and the duplicate filter survive, so the press redelivered after the restart makes no
    alert and no notification twice."""
    data = tmp_path / "data"
    env = pipeline_env(broker.url, topic_prefix, data, fault_registry(sink.url("family")))
    pipeline = started(processes, env)
    publish_all(broker.host, broker.port, [sos_press(topic_prefix)])
    wait_until(lambda: len(sink.bodies("family")) == 1, timeout_s=60, what="the family told")
    before = open_alerts(data / "safehood.db")
    assert len(before) == 1
    api = f"http://127.0.0.1:{env['SAFEHOOD_API_PORT']}/api/v1"
    headers = {"Authorization": f"Bearer {admin_token(env)}"}
    silence = httpx.post(f"{api}/silences", headers=headers, timeout=10, json={
        "device_id": MOTION, "ends_at": "2099-01-01T00:00:00Z", "comment": "repairs"})
    assert silence.status_code == 201, silence.text
    assert pipeline.stop(signal.SIGTERM) == 0

    started(processes, env)
    silences = httpx.get(f"{api}/silences", headers=headers, timeout=10).json()["data"]
    assert [s["id"] for s in silences] == [silence.json()["id"]]
    publish_all(broker.host, broker.port, [sos_press(topic_prefix)])
    publisher = NumberedPublisher(broker.host, broker.port, topic_prefix)
    publisher.publish(range(10))  # behind the press: once stored, the press was handled
    wait_until(lambda: len(set(sqlite_seqs(data))) >= 10, timeout_s=60, what="the marker readings")
    after = open_alerts(data / "safehood.db")
    assert after == before, "the open alert (count, escalation timer) changed over the restart"
    assert len(sink.bodies("family")) == 1
    FaultCounts.of_readings("restart in an incident", range(10), sqlite_seqs(data)) \
        .with_alerts(data / "safehood.db").assert_clean()


def test_notification_service_down(broker: MosquittoBroker, topic_prefix: str, tmp_path: Path,
                                   sink: NotificationReceiver,
                                   processes: list[PipelineProcess]) -> None:
    """The family's notification service answers 500: attempts are retried and recorded, and
    once it is back the notification is delivered exactly once."""
    data = tmp_path / "data"
    env = pipeline_env(broker.url, topic_prefix, data, fault_registry(sink.url("family")))
    started(processes, env)
    sink.down = True
    publish_all(broker.host, broker.port, [sos_press(topic_prefix)])
    wait_until(lambda: sink.refused("family") >= 2, timeout_s=60, what="two refused attempts")
    sink.down = False
    wait_until(lambda: len(sink.bodies("family")) == 1, timeout_s=60, what="the delivery")
    # The receiver answers before the pipeline records the attempt: wait for the record.
    wait_until(lambda: ("family", True) in recorded_attempts(data / "safehood.db"),
               timeout_s=60, what="the delivery recorded")
    attempts = recorded_attempts(data / "safehood.db")
    assert attempts.count(("family", False)) >= 2 and attempts.count(("family", True)) == 1
    assert len(sink.bodies("family")) == 1
    FaultCounts(fault="notification service down", published=0, stored=0, lost=0,
                stored_twice=0).with_alerts(data / "safehood.db").assert_clean()

