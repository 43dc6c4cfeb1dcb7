"""The scale-out engine on a 3-node NATS JetStream cluster with real PostgreSQL: devices
publish over MQTT to any node; ingest and detector workers on different nodes store every
reading once and raise each alert of the recording once, through failures."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import orjson
import pytest
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy import Engine, select

from safehood._scaleout import ScaleOutProcess, build_scaleout
from safehood.alerting import AlertChange, AlertManager, AlertQuery, RecordingNotifier
from safehood.commands.detect import AlertSink, detect
from safehood.config import Settings
from safehood.database import SqlAlertRepository, import_registry, metadata
from safehood.detectors import DetectorConfig
from safehood.ingest import IngestService
from safehood.mqtt.const import MAX_INFLIGHT
from safehood.protocol import Registry, parse_ts_ms
from safehood.scaleout import DetectorWorker, JetStreamConnection, ScaleOutError
from safehood.simulators import Community, Replayer, SimulationConfig, write_recording
from safehood.store import SqliteReadingStore
from tests._mqtt import wait_until
from tests._nats import NatsCluster
from tests._postgres import migrated_database

LATENESS_S = 2.0
PARTITIONS = 4
# Pin timeout (5 s) plus the ack wait of the batch the dead worker held (10 s).
SLOW_FAILOVER_S = 15.0


@dataclass
class Recording:
    traffic: Path
    registry: Registry
    config_file: Path
    messages: int
    distinct: int
    # (type, subject, started_at) of every alert the offline run raised
    alerts: set[tuple[str, str, str]]
    last_ms: int


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    root = tmp_path_factory.mktemp("recording")
    # Six households for six hours, about 3,200 readings and six incidents.
    write_recording(root, Community.generate(6, seed=7, sites=6),
                    SimulationConfig(seed=7, days=0.25, rate=400), progress=False)
    thresholds = root / "detectors.json"
    thresholds.write_bytes(orjson.dumps({"time": {"allowed_lateness_s": LATENESS_S}}))
    registry = Registry.load(root / "registry.json")
    offline, summary = detect(registry, root / "traffic.jsonl",
                              config=DetectorConfig.load(thresholds),
                              sink=AlertSink(registry, resolve_after_s=None))
    assert summary.last_ms is not None and len(offline) >= 3
    traffic = root / "traffic.jsonl"
    lines = [line for line in traffic.read_bytes().splitlines() if line.strip()]
    # The simulated radio repeats a few messages: those are stored once.
    return Recording(traffic, registry, thresholds, len(lines), len(set(lines)),
                     {(a.type.value, a.subject, a.started_at) for a in offline}, summary.last_ms)


@dataclass
class Deployment:
    """Processes of the scale-out engine (``safehood run --engine nats --role ...``) on
    the cluster, as separate machines would run them."""

    settings: Settings
    database: Engine
    recording: Recording
    processes: list[ScaleOutProcess] = field(default_factory=list)
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    notified: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, role: str, node_url: str, registry_poll_s: float = 15.0) -> ScaleOutProcess:
        # Every node, as a deployment lists them; the client may start at any of them.
        others = [url for url in self.settings.nats_url.split(",") if url != node_url]
        settings = self.settings.model_copy(update={"nats_url": ",".join([node_url, *others])})
        process = build_scaleout(settings, (role,), notifier=self.notifier,
                                 registry_poll_s=registry_poll_s)
        assert process.alerts is not None
        process.alerts.subscribe(self._notify)
        process.start()
        self.processes.append(process)
        return process

    @property
    def ingest(self) -> list[IngestService]:
        return [p.ingest for p in self.processes if p.ingest is not None]

    @property
    def detectors(self) -> list[DetectorWorker]:
        return [p.detector for p in self.processes if p.detector is not None]

    def _notify(self, change: AlertChange) -> None:
        if change.notify:
            with self._lock:
                self.notified.append(change.key)

    def raised(self) -> set[tuple[str, str, str]]:
        alerts = AlertManager(SqlAlertRepository(self.database)).list(AlertQuery(limit=None))
        return {(a.type.value, a.subject, a.started_at) for a in alerts
                if parse_ts_ms(a.started_at) <= self.recording.last_ms}

    def describe(self, subjects: set[tuple[str, str]]) -> str:
        """Every alert of these (type, subject) with its history and the decision keys
        applied to it: what tells a replayed decision from a diverging detector."""
        manager = AlertManager(SqlAlertRepository(self.database))
        with self.database.connect() as connection:
            keys = connection.execute(select(metadata.tables["applied_decisions"])).all()
        lines = []
        for alert in manager.list(AlertQuery(limit=None)):
            if (alert.type.value, alert.subject) not in subjects:
                continue
            lines.append(f"{alert.type.value} {alert.subject} {alert.id} {alert.status.value} "
                         f"started {alert.started_at} evidence {dict(alert.evidence)}")
            lines += [f"  {entry}" for entry in alert.history]
            lines.append(f"  keys {sorted(key for key, alert_id in keys if alert_id == alert.id)}")
        return "\n".join(lines)

    def stored(self) -> int:
        store = SqliteReadingStore(self.settings.embedded_store_path)
        try:
            return store.count()
        finally:
            store.close()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


@pytest.fixture
def deployment(nats_cluster: NatsCluster, postgres_url: str, recording: Recording,
               tmp_path: Path) -> Iterator[Deployment]:
    admin = JetStreamConnection(nats_cluster.urls, "test-admin")
    with migrated_database(postgres_url) as database:
        import_registry(database, recording.registry.to_model())
        settings = Settings(
            mqtt_url=f"mqtt://127.0.0.1:{nats_cluster.nodes[0].mqtt_port}",
            nats_url=nats_cluster.urls, nats_partitions=PARTITIONS, nats_pin_timeout_s=5.0,
            data_dir=tmp_path, database_url=database.url.render_as_string(hide_password=False),
            detector_config_file=recording.config_file)
        deployment = Deployment(settings, database, recording)
        try:
            yield deployment
        finally:
            deployment.stop()
            # The next test starts from an empty stream and no detector state.
            for stream in ("SAFEHOOD_READINGS", "KV_safehood_detector_state",
                           "KV_safehood_detector_workers"):
                delete_stream(admin, stream)
            admin.close()


def delete_stream(admin: JetStreamConnection, stream: str) -> None:
    """Delete ``stream`` if it exists (a test that failed early made none). A node killed
    and started again a moment ago may leave the cluster without a meta leader for a few
    seconds: asked again then, so that the teardown does not fail a test that passed."""
    for attempt in range(3):
        try:
            admin.run(admin.api(f"STREAM.DELETE.{stream}"))
            return
        except ScaleOutError as exc:
            if "stream not found" in str(exc):
                return
            if attempt == 2 or "did not answer" not in str(exc):
                raise


def replay(recording: Recording, port: int, speed: float | None = None) -> int:
    return replayer_of(recording, port, speed).run().published


def replayer_of(recording: Recording, port: int, speed: float | None = None,
                max_inflight: int = MAX_INFLIGHT) -> Replayer:
    return Replayer(recording.traffic, f"mqtt://127.0.0.1:{port}", speed=speed,
                    client_id=f"replay-{port}", max_inflight=max_inflight)


class Timeline(threading.Thread):
    """Samples, once a second, what the publisher sent and where the readings are in NATS
    (MQTT stream, readings stream, its source, each detector consumer): printed when the
    soak test fails, it tells a stalled publisher from a stalled source or consumer."""

    def __init__(self, urls: str, replayer: Replayer, deployment: Deployment) -> None:
        super().__init__(daemon=True)
        self._connection = JetStreamConnection(urls, "test-timeline")
        self._replayer = replayer
        self._deployment = deployment
        self._stopping = threading.Event()
        self._began = time.monotonic()
        self.lines: list[str] = []

    def run(self) -> None:
        while not self._stopping.wait(1.0):
            try:
                line = self._connection.run(self._sample(), 5)
            except Exception as exc:
                line = f"sample failed: {exc!r}"
            self.lines.append(f"{time.monotonic() - self._began:6.1f} s {line}")

    async def _sample(self) -> str:
        api = self._connection.api
        mqtt = (await api("STREAM.INFO.$MQTT_msgs"))["state"]
        readings = await api("STREAM.INFO.SAFEHOOD_READINGS")
        source = readings.get("sources", [{}])[0]
        consumers = []
        for partition in range(PARTITIONS):
            info = await api(f"CONSUMER.INFO.SAFEHOOD_READINGS.detect-{partition}")
            pinned = [g.get("pinned_client_id", "-")[-6:]
                      for g in info.get("priority_groups", [])]
            consumers.append(f"p{partition}:pend={info['num_pending']}"
                             f",ack={info['num_ack_pending']},wait={info['num_waiting']}"
                             f",pin={pinned}")
        held = [sorted(d.pinned) for d in self._deployment.detectors]
        return (f"sent={self._replayer.stats.published} mqtt={mqtt['messages']}/"
                f"{mqtt['last_seq']} readings={readings['state']['last_seq']} "
                f"source(lag={source.get('lag')},active={source.get('active', 0) / 1e9:.1f}s"
                f",error={source.get('error')}) stored={self._deployment.stored()} "
                f"held={held} {' '.join(consumers)}")

    def out_of_order(self) -> list[str]:
        """Readings the readings stream holds after a newer one of their site by more than
        the allowed lateness (the recording has none), but for copies of one it holds
        already (a publish sent again, which the detectors drop): tells readings that
        reached NATS out of order from a worker that applied them out of order."""
        async def read() -> list[str]:
            info = await self._connection.api("STREAM.INFO.SAFEHOOD_READINGS")
            last = info["state"]["last_seq"]
            # Nothing to acknowledge: a consumer that waits for acks stops after 1,000.
            subscription = await self._connection.jetstream.pull_subscribe(
                "sh.>", stream="SAFEHOOD_READINGS",
                config=ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=60.0))
            newest: dict[str, tuple[int, int]] = {}
            seen: set[tuple[str, bytes]] = set()
            found: list[str] = []
            sequence = 0
            try:
                while sequence < last:
                    try:
                        batch = await subscription.fetch(500, timeout=5)
                    except nats.errors.TimeoutError:
                        continue
                    for message in batch:
                        site = message.subject.split(".")[2]
                        sequence = message.metadata.sequence.stream
                        if (message.subject, message.data) in seen:
                            continue
                        seen.add((message.subject, message.data))
                        try:
                            payload = orjson.loads(message.data)
                        except orjson.JSONDecodeError:
                            continue
                        ts_ms = payload.get("ts") if isinstance(payload, dict) else None
                        if not isinstance(ts_ms, int):
                            continue
                        before = newest.get(site)
                        if before is not None and ts_ms < before[1] - LATENESS_S * 1000:
                            found.append(f"{message.subject} seq {sequence} ts {ts_ms} after "
                                         f"seq {before[0]} ts {before[1]}")
                        if before is None or ts_ms > before[1]:
                            newest[site] = (sequence, ts_ms)
                return found
            finally:
                await subscription.unsubscribe()

        for attempt in range(3):
            try:
                return self._connection.run(read(), 60)
            except (TimeoutError, nats.errors.Error) as exc:
                if attempt == 2:
                    raise
                print(f"reading the readings stream failed ({exc!r}); again")
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self._stopping.set()
        self.join(10)
        self._connection.close()


def test_every_reading_stored_once_and_every_incident_alerted_once(
        nats_cluster: NatsCluster, deployment: Deployment, recording: Recording) -> None:
    nodes = nats_cluster.nodes
    for index in range(2):
        deployment.add("ingest", nodes[index].url)
    first = deployment.add("detector", nodes[1].url).detector
    # Devices publish to a node that runs no worker; six hours of readings in about six
    # seconds, and a second detector worker joins while they come.
    publisher = threading.Thread(target=replay, args=(recording, nodes[2].mqtt_port, 3600.0))
    publisher.start()
    wait_until(lambda: first is not None and bool(first.pinned), timeout_s=30,
               what="the first detector worker to hold partitions")
    second = deployment.add("detector", nodes[0].url).detector
    publisher.join()
    wait_until(lambda: deployment.stored() >= recording.distinct, timeout_s=120,
               what="every reading stored")
    wait_until(lambda: deployment.raised() >= recording.alerts, timeout_s=60,
               what="the offline run's alerts")
    assert deployment.stored() == recording.distinct
    assert deployment.raised() == recording.alerts
    # Competing consumers: both ingest workers took a share.
    assert all(worker.stats.received for worker in deployment.ingest)
    # The worker that joined took its share over from the first.
    assert second is not None and second.pinned
    # Each change to notify was made (and so notified) by one worker only.
    assert deployment.notified
    assert not [key for key, n in Counter(deployment.notified).items() if n > 1]


def test_workers_take_a_household_registered_while_they_run(
        nats_cluster: NatsCluster, deployment: Deployment) -> None:
    node = nats_cluster.nodes[1]
    processes = [deployment.add(role, node.url, registry_poll_s=0.2)
                 for role in ("ingest", "detector")]
    # As `safehood registry` or another process's API would: straight into the database.
    import_registry(deployment.database, Registry.from_data({
        "households": [{"id": "h-new", "site": "s-new", "lives_alone": True}],
        "residents": [{"id": "r-new", "household": "h-new", "name": "Li Wei", "elderly": True}],
        "devices": [{"device_id": "h-new-button", "site": "s-new", "kind": "button",
                     "household": "h-new", "resident": "r-new"}]}).to_model())
    wait_until(lambda: all(p.registry.get().device("h-new-button") for p in processes),
               timeout_s=30, what="every worker to read the new registry")
    ts_ms = deployment.recording.last_ms
    subprocess.run(["mosquitto_pub", "-p", str(node.mqtt_port), "-q", "1", "-V", "mqttv311",
                    "-t", "safehood/v1/s-new/h-new-button/event",
                    "-m", f'{{"ts": {ts_ms}, "kind": "button", "event": "sos", "seq": 1}}'],
                   check=True, timeout=30)

    wait_until(lambda: ("sos", "r-new") in {(t, subject) for t, subject, _ in deployment.raised()},
               timeout_s=60, what="the new resident's SOS alert")
    wait_until(lambda: deployment.stored() == 1, timeout_s=30, what="the reading stored")


@pytest.mark.soak
def test_a_node_and_a_detector_worker_die_mid_stream(
        nats_cluster: NatsCluster, deployment: Deployment, recording: Recording) -> None:
    nodes = nats_cluster.nodes
    for index in range(2):
        deployment.add("ingest", nodes[index].url)
        deployment.add("detector", nodes[index].url)
    # Six hours of readings paced at 2000x, so that the failures land mid-stream. One
    # message in flight, as a device sends: with more, NATS losing $MQTT_msgs's leader
    # stored some and failed earlier ones, which came again after them (seen: two readings
    # after a newer one; at 2000x, a few messages are minutes of event time). NATS then
    # takes them at its own pace: 11-30 s on this loaded machine instead of 11.
    replayer = replayer_of(recording, nodes[2].mqtt_port, 2000.0, max_inflight=1)
    timeline = Timeline(nats_cluster.urls, replayer, deployment)
    timeline.start()
    try:
        replayer.start()
        try:
            time.sleep(3)
            nodes[0].kill()
            time.sleep(2)
            # The victim is taken from the look that found it holding: a worker whose batch
            # failed holds nothing for a moment (NATS failing over), and a second look may
            # find no holder at all.
            holders: list[ScaleOutProcess] = []

            def someone_holds() -> bool:
                holders[:] = [p for p in deployment.processes if p.detector and p.detector.pinned]
                return bool(holders)

            wait_until(someone_holds, timeout_s=30, what="a detector worker to hold a partition")
            victim_process = holders[0]
            victim = victim_process.detector
            assert victim is not None
            [survivor] = [d for d in deployment.detectors if d is not victim]
            held = set(victim.pinned)
            killed_at = time.monotonic()
            victim.kill()
            victim_process.connection.close()
            # Every partition, not only the victim's: the survivor giving its own away
            # (counting the dead worker still) would leave them unheld just as long.
            wait_until(lambda: survivor.pinned == set(range(PARTITIONS)), timeout_s=60,
                       what="the survivor to hold every partition")
            failover_s = time.monotonic() - killed_at
            print(f"detector failover: {failover_s:.1f} s for partitions {sorted(held)} "
                  f"(worker {victim.id[:6]} killed, {survivor.id[:6]} left)")
            if failover_s > SLOW_FAILOVER_S:
                print("timeline of a slow failover:", *timeline.lines, sep="\n")
        finally:
            replayer.join()
            nodes[0].start()
        print(f"published {replayer.stats.published} readings in {replayer.stats.wall_s:.1f} s"
              f" (error {replayer.error!r}, {replayer.stats.errors})")
        wait_until(lambda: deployment.stored() >= recording.distinct, timeout_s=120,
                   what="every reading stored")
        wait_until(lambda: deployment.raised() >= recording.alerts, timeout_s=60,
                   what="the offline run's alerts")
        assert deployment.stored() == recording.distinct
        # No alert missing and none extra: each site's readings reach its detectors in order
        # through both failovers.
        raised = deployment.raised()
        print(f"alerts beyond the offline run's: {sorted(raised - recording.alerts)}")
        assert raised == recording.alerts
        assert not [key for key, n in Counter(deployment.notified).items() if n > 1]
    except BaseException:
        raised = deployment.raised()
        differ = raised ^ recording.alerts
        print(f"replay: {replayer.stats.published} of {recording.messages} published, "
              f"error {replayer.error!r}, {replayer.stats.errors}",
              f"stored {deployment.stored()} of {recording.distinct}; ingest "
              f"{[worker.stats for worker in deployment.ingest]}; detectors applied "
              f"{[worker.applied for worker in deployment.detectors]} decisions",
              f"alerts missing: {sorted(recording.alerts - raised)}",
              f"alerts extra: {sorted(raised - recording.alerts)}",
              deployment.describe({(kind, subject) for kind, subject, _ in differ}),
              "timeline:", *timeline.lines, sep="\n")
        raise
    finally:
        try:
            late = timeline.out_of_order()
            print(f"readings the stream holds out of order: {len(late)}", *late[:20], sep="\n")
        except Exception as exc:
            print(f"reading the stream failed: {exc!r}")
        timeline.stop()
