"""The scale-out engine on a 3-node NATS JetStream cluster with real PostgreSQL: devices
publish over MQTT to any node; ingest and detector workers on different nodes store every
reading once and raise each alert of the recording once, through failures."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine

from safehood.alerting import AlertChange, AlertManager, AlertPolicy, AlertQuery, build_pipeline
from safehood.commands.detect import AlertSink, detect
from safehood.config import Settings
from safehood.database import SqlAlertRepository, import_registry
from safehood.detectors import DetectorConfig
from safehood.ingest import IngestService
from safehood.protocol import Registry, parse_ts_ms
from safehood.scaleout import DetectorWorker, JetStreamConnection, build_ingest_worker, ensure_streams
from safehood.simulators import Community, Replayer, SimulationConfig, write_recording
from safehood.store import SqliteReadingStore
from tests._mqtt import wait_until
from tests._nats import NatsCluster
from tests._postgres import migrated_database

LATENESS_S = 2.0
PARTITIONS = 4


@dataclass
class Recording:
    traffic: Path
    registry: Registry
    config: DetectorConfig
    messages: int
    distinct: int
    # (type, subject, started_at) of every alert the offline run raised
    alerts: set[tuple[str, str, str]]
    last_ms: int


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    root = tmp_path_factory.mktemp("recording")
    # Six households for six hours, about 3,200 readings and six incidents.
    write_recording(root, Community.generate(6, seed=7),
                    SimulationConfig(seed=7, days=0.25, rate=400), progress=False)
    thresholds = root / "detectors.json"
    thresholds.write_bytes(orjson.dumps({"time": {"allowed_lateness_s": LATENESS_S}}))
    registry = Registry.load(root / "registry.json")
    config = DetectorConfig.load(thresholds)
    offline, summary = detect(registry, root / "traffic.jsonl", config=config,
                              sink=AlertSink(registry, resolve_after_s=None))
    assert summary.last_ms is not None and len(offline) >= 3
    traffic = root / "traffic.jsonl"
    lines = [line for line in traffic.read_bytes().splitlines() if line.strip()]
    # The simulated radio repeats a few messages: those are stored once.
    return Recording(traffic, registry, config, len(lines), len(set(lines)),
                     {(a.type.value, a.subject, a.started_at) for a in offline}, summary.last_ms)


@dataclass
class Deployment:
    """Workers of both roles on the cluster, as separate machines would run them."""

    settings: Settings
    database: Engine
    store_path: Path
    recording: Recording
    connections: list[JetStreamConnection] = field(default_factory=list)
    ingest: list[IngestService] = field(default_factory=list)
    detectors: list[DetectorWorker] = field(default_factory=list)
    notified: list[tuple[str, str, int | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self, node_url: str, name: str) -> JetStreamConnection:
        connection = JetStreamConnection(node_url, name)
        self.connections.append(connection)
        return connection

    def add_ingest(self, node_url: str) -> None:
        connection = self.connect(node_url, f"ingest-{len(self.ingest)}")
        worker = build_ingest_worker(self.settings, connection, self.database,
                                     SqliteReadingStore(self.store_path))
        worker.start()
        self.ingest.append(worker)

    def add_detector(self, node_url: str) -> DetectorWorker:
        connection = self.connect(node_url, f"detector-{len(self.detectors)}")
        repository = SqlAlertRepository(self.database)
        alerts = AlertManager(repository, build_pipeline(AlertPolicy(), repository),
                              registry=self.recording.registry)
        alerts.subscribe(self._notify)
        worker = DetectorWorker(connection, alerts, self.recording.registry,
                                self.recording.config, topic_prefix=self.settings.topic_prefix,
                                partitions=PARTITIONS)
        worker.start()
        self.detectors.append(worker)
        return worker

    def _notify(self, change: AlertChange) -> None:
        if change.notify:
            with self._lock:
                self.notified.append((change.alert.id, change.kind, change.tier))

    def raised(self) -> set[tuple[str, str, str]]:
        alerts = AlertManager(SqlAlertRepository(self.database)).list(AlertQuery(limit=None))
        return {(a.type.value, a.subject, a.started_at) for a in alerts
                if parse_ts_ms(a.started_at) <= self.recording.last_ms}

    def stored(self) -> int:
        store = SqliteReadingStore(self.store_path)
        try:
            return store.count()
        finally:
            store.close()

    def stop(self) -> None:
        for worker in self.ingest:
            worker.stop()
        for detector in self.detectors:
            detector.stop()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def deployment(nats_cluster: NatsCluster, postgres_url: str, recording: Recording,
               tmp_path: Path) -> Iterator[Deployment]:
    settings = Settings(mqtt_url=f"mqtt://127.0.0.1:{nats_cluster.nodes[0].mqtt_port}",
                        nats_url=nats_cluster.urls, nats_partitions=PARTITIONS,
                        nats_pin_timeout_s=2.0, data_dir=tmp_path)
    admin = JetStreamConnection(nats_cluster.urls, "test-admin")
    ensure_streams(admin, settings)
    with migrated_database(postgres_url) as database:
        import_registry(database, recording.registry.to_model())
        deployment = Deployment(settings, database, tmp_path / "readings.db", recording)
        try:
            yield deployment
        finally:
            deployment.stop()
            # The next test starts from an empty stream and no detector state.
            for stream in ("SAFEHOOD_READINGS", "KV_safehood_detector_state"):
                admin.run(admin.api(f"STREAM.DELETE.{stream}"))
            admin.close()


def replay(recording: Recording, port: int, speed: float | None = None) -> int:
    replayer = Replayer(recording.traffic, f"mqtt://127.0.0.1:{port}", speed=speed,
                        client_id=f"replay-{port}")
    return replayer.run().published


def test_every_reading_stored_once_and_every_incident_alerted_once(
        nats_cluster: NatsCluster, deployment: Deployment, recording: Recording) -> None:
    nodes = nats_cluster.nodes
    for index in range(2):
        deployment.add_ingest(nodes[index].url)
        deployment.add_detector(nodes[index + 1].url)
    # Devices publish to a node that runs no worker.
    assert replay(recording, nodes[2].mqtt_port) == recording.messages
    wait_until(lambda: deployment.stored() >= recording.distinct, timeout_s=120,
               what="every reading stored")
    wait_until(lambda: deployment.raised() >= recording.alerts, timeout_s=60,
               what="the offline run's alerts")
    assert deployment.stored() == recording.distinct
    assert deployment.raised() == recording.alerts
    # Competing consumers: both ingest workers took a share.
    assert all(worker.stats.received for worker in deployment.ingest)
    assert not [key for key, n in Counter(deployment.notified).items() if n > 1]
