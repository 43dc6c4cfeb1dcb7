"""Nothing lost: what is published while the ingest process is down arrives once it is back,
and nothing arrives twice, nor makes an alert twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from safehood._broker import MosquittoBroker, free_port
from safehood._pipeline import Pipeline, build_pipeline
from safehood.alerting import AlertChange
from safehood.config import Settings
from safehood.protocol import AlertStatus, Registry
from safehood.store import SqliteReadingStore
from tests._mqtt import publish_all, wait_until

T0 = 1772410500000
SITE = "xianlin-3"
DEVICE = "h001-motion-hall"


class IngestProcess:
    """`safehood run` as a child process, as an operator would run it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "safehood.cli", "run"], env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("safehood: ingesting"):
                return
        raise AssertionError(f"safehood run exited with {self.process.wait()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(30)
        self.process = None
        return code


@pytest.fixture
def ingest_process(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path
) -> Iterator[IngestProcess]:
    registry = Registry.from_data({
        "households": [{"id": "h001", "site": SITE}],
        "devices": [{"device_id": DEVICE, "site": SITE, "kind": "motion", "household": "h001"}],
    })
    registry.dump(tmp_path / "registry.json")
    env = {
        **os.environ,
        "SAFEHOOD_MQTT_URL": mosquitto.url,
        "SAFEHOOD_TOPIC_PREFIX": topic_prefix,
        "SAFEHOOD_DATA_DIR": str(tmp_path / "data"),
        "SAFEHOOD_MQTT_CLIENT_ID": f"ingest-{topic_prefix}",
        "SAFEHOOD_REGISTRY_FILE": str(tmp_path / "registry.json"),
        "SAFEHOOD_API_PORT": str(free_port()),
    }
    process = IngestProcess(env)
    yield process
    if process.process is not None:
        process.stop(signal.SIGKILL)


def messages(prefix: str, seqs: range) -> list[tuple[str, bytes]]:
    topic = f"{prefix}/v1/{SITE}/{DEVICE}/event"
    return [(topic, orjson.dumps({"ts": T0 + seq * 1000, "seq": seq, "kind": "motion",
                                  "event": "motion"})) for seq in seqs]


def stored_seqs(path: Path) -> list[int]:
    with SqliteReadingStore(path) as store:
        return [(r.ts_ms - T0) // 1000 for r in store.query(DEVICE, T0, T0 + 10**9, limit=100_000)]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_published_while_down_arrives_once(
    ingest_process: IngestProcess, mosquitto: MosquittoBroker, topic_prefix: str,
    tmp_path: Path, stop_signal: int,
) -> None:
    readings = tmp_path / "data" / "readings.db"
    ingest_process.start()
    publish_all(mosquitto.host, mosquitto.port, messages(topic_prefix, range(100)))
    wait_until(lambda: len(stored_seqs(readings)) == 100, what="the first 100 stored")

    code = ingest_process.stop(stop_signal)
    assert code == (0 if stop_signal == signal.SIGTERM else -signal.SIGKILL)
    publish_all(mosquitto.host, mosquitto.port, messages(topic_prefix, range(100, 1100)))

    ingest_process.start()
    wait_until(lambda: len(stored_seqs(readings)) >= 1100, timeout_s=60, what="all 1,100 stored")
    # Give any redelivery a moment to show itself before counting duplicates.
    publish_all(mosquitto.host, mosquitto.port, messages(topic_prefix, range(1100, 1101)))
    wait_until(lambda: len(stored_seqs(readings)) >= 1101, what="the marker message")
    seqs = stored_seqs(readings)
    assert sorted(seqs) == list(range(1101)), "every message exactly once"


def test_killed_mid_stream_loses_nothing(
    ingest_process: IngestProcess, mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path
) -> None:
    """SIGKILL while messages are flowing: batches in hand were not acknowledged, so the
    broker delivers them again and the idempotent store keeps one copy."""
    readings = tmp_path / "data" / "readings.db"
    ingest_process.start()
    publisher = threading.Thread(target=publish_all, args=(
        mosquitto.host, mosquitto.port, messages(topic_prefix, range(3000))))
    publisher.start()
    wait_until(lambda: len(stored_seqs(readings)) >= 300, what="some messages stored")
    ingest_process.stop(signal.SIGKILL)
    publisher.join(60)
    assert len(stored_seqs(readings)) < 3000, "the kill came too late to test anything"

    ingest_process.start()
    wait_until(lambda: len(stored_seqs(readings)) >= 3000, timeout_s=60, what="all 3,000 stored")
    assert sorted(stored_seqs(readings)) == list(range(3000))


def test_a_redelivered_sos_after_a_restart_makes_no_alert_twice(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path
) -> None:
    """A QoS 1 redelivery carries the same device, seq and ts: after a restart it must not
    count again on the open alert, nor raise (and notify) anew once that was resolved."""
    registry = Registry.from_data({
        "households": [{"id": "h001", "site": SITE}],
        "residents": [{"id": "r001", "household": "h001", "name": "Wang Fang"}],
        "devices": [{"device_id": "r001-button", "site": SITE, "kind": "button",
                     "household": "h001", "resident": "r001"},
                    {"device_id": DEVICE, "site": SITE, "kind": "motion", "household": "h001"}],
    })
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"ingest-{topic_prefix}")
    press = (f"{topic_prefix}/v1/{SITE}/r001-button/event",
             orjson.dumps({"ts": T0, "seq": 7, "kind": "button", "event": "sos"}))

    def restarted(marker_seq: int) -> tuple[Pipeline, list[AlertChange]]:
        """A new pipeline on the same data directory that has been sent the press again,
        then a motion event; returns once it handled both."""
        pipeline = build_pipeline(settings, registry_file=registry.to_model(), serve_api=False)
        changes: list[AlertChange] = []
        pipeline.alerts.subscribe(changes.append)
        pipeline.start()
        publish_all(mosquitto.host, mosquitto.port,
                    [press, *messages(topic_prefix, range(marker_seq, marker_seq + 1))])
        wait_until(lambda: pipeline.ingest.stats.received >= 2, what="the repeat and the marker")
        return pipeline, changes

    first = build_pipeline(settings, registry_file=registry.to_model(), serve_api=False)
    first.start()
    try:
        publish_all(mosquitto.host, mosquitto.port, [press])
        wait_until(lambda: first.alerts.count() == 1, what="the SOS alert")
    finally:
        first.stop()

    second, changes = restarted(1)
    try:
        (alert,) = second.alerts.list()
        assert alert.count == 1
        assert changes == []
        assert second.ingest.stats.duplicates == 1
        second.alerts.resolve(alert.id, "officer", "help arrived")
    finally:
        second.stop()

    third, changes = restarted(2)
    try:
        (alert,) = third.alerts.list()
        assert alert.status == AlertStatus.RESOLVED and alert.count == 1
        assert changes == []
    finally:
        third.stop()


def test_the_detectors_clocks_resume_where_they_stood(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path
) -> None:
    """A site silent since before a restart still has its event time carried on, so its
    offline and inactivity deadlines come without a new message of its own; no further
    than the newest event time heard since (here: another site's)."""
    registry = Registry.from_data({
        "households": [{"id": "h001", "site": SITE}, {"id": "h101", "site": "gulou-1"}],
        "devices": [{"device_id": DEVICE, "site": SITE, "kind": "motion", "household": "h001"},
                    {"device_id": "h101-motion", "site": "gulou-1", "kind": "motion",
                     "household": "h101"}],
    })
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"ingest-{topic_prefix}")
    first = build_pipeline(settings, registry_file=registry.to_model(), serve_api=False)
    first.start()
    try:
        publish_all(mosquitto.host, mosquitto.port, messages(topic_prefix, range(10)))
        wait_until(lambda: first.ingest.stats.valid == 10, what="the ten messages")
    finally:
        first.stop()

    second = build_pipeline(settings, registry_file=registry.to_model(), serve_api=False)
    second.start()
    try:
        elsewhere = T0 + 60_000
        publish_all(mosquitto.host, mosquitto.port, [(
            f"{topic_prefix}/v1/gulou-1/h101-motion/event",
            orjson.dumps({"ts": elsewhere, "seq": 1, "kind": "motion", "event": "motion"}))])
        engine = second.detection.engine
        lateness = engine.allowed_lateness_ms
        wait_until(lambda: (engine.watermark_ms(SITE) or 0) >= T0 + 9_000 - lateness,
                   what="the silent site's clock")
        assert (engine.watermark_ms(SITE) or 0) <= elsewhere - lateness
    finally:
        second.stop()
