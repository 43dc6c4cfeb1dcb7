"""The fault suite's harness: `safehood run` as a real child process on a broker and store of
the test's own, numbered readings published at QoS 1, and afterwards the counts every fault
test reports (published, stored, lost, stored twice, alerts and notifications made twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson
import sqlalchemy as sa

from safehood._broker import free_port
from safehood.config import MqttEndpoint
from safehood.database import metadata
from safehood.mqtt import Publisher
from safehood.protocol import Registry
from safehood.store import ReadingStore

T0 = 1772410500000
SITE = "xianlin-3"
MOTION = "h001-motion-hall"
BUTTON = "r001-button"


class PipelineProcess:
    """`safehood run` as a child process, as an operator runs it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "safehood.cli", "run"], env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("safehood: ingesting"):
                # Keep reading, so that a chatty child never blocks on a full pipe.
                threading.Thread(target=self._drain, args=(self.process,), daemon=True).start()
                return
        raise AssertionError(f"safehood run exited with {self.process.wait()}:\n{''.join(self.output)}")

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(60)
        self.process = None
        return code


def admin_token(env: dict[str, str]) -> str:
    """A new admin API token of the pipeline ``env`` describes, made as an operator makes one."""
    made = subprocess.run([sys.executable, "-m", "safehood.cli", "token", "create", "--role", "admin",
                           "--name", "fault suite"], env=env, text=True, capture_output=True, check=True)
    return made.stdout.splitlines()[1]


def fault_registry(family_contact: str | None = None) -> Registry:
    """One household with a motion sensor (the numbered readings) and an SOS button."""
    resident: dict[str, object] = {"id": "r001", "household": "h001", "name": "Wang Fang"}
    if family_contact is not None:
        resident["contacts"] = [family_contact]
    return Registry.from_data({
        "households": [{"id": "h001", "site": SITE}],
        "residents": [resident],
        "devices": [
            {"device_id": MOTION, "site": SITE, "kind": "motion", "household": "h001"},
            {"device_id": BUTTON, "site": SITE, "kind": "button", "household": "h001",
             "resident": "r001"},
        ],
    })


def pipeline_env(mqtt_url: str, topic_prefix: str, data_dir: Path, registry: Registry,
                 **extra: str) -> dict[str, str]:
    """The environment of a `safehood run` on ``data_dir`` (``extra``: more ``SAFEHOOD_*``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    registry.dump(data_dir / "registry.json")
    return {
        **os.environ,
        "SAFEHOOD_MQTT_URL": mqtt_url,
        "SAFEHOOD_TOPIC_PREFIX": topic_prefix,
        "SAFEHOOD_DATA_DIR": str(data_dir),
        "SAFEHOOD_MQTT_CLIENT_ID": f"ingest-{topic_prefix}",
        "SAFEHOOD_REGISTRY_FILE": str(data_dir / "registry.json"),
        "SAFEHOOD_API_PORT": str(free_port()),
        **{f"SAFEHOOD_{name.upper()}": value for name, value in extra.items()},
    }


def reading(prefix: str, seq: int) -> tuple[str, bytes]:
    """Numbered motion reading ``seq``: its event time says which number it is."""
    return (f"{prefix}/v1/{SITE}/{MOTION}/event",
            orjson.dumps({"ts": T0 + seq * 1000, "seq": seq, "kind": "motion", "event": "motion"}))


def sos_press(prefix: str, seq: int = 1) -> tuple[str, bytes]:
    return (f"{prefix}/v1/{SITE}/{BUTTON}/event",
            orjson.dumps({"ts": T0 + seq, "seq": seq, "kind": "button", "event": "sos"}))


class NumberedPublisher:
    """Publishes numbered readings at QoS 1, in the foreground or on a thread of its own,
    counting what the broker acknowledged."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.endpoint = MqttEndpoint(host=host, port=port, tls=False, username=None, password=None)
        self.prefix = prefix
        self.published = 0
        self._thread: threading.Thread | None = None

    def publish(self, seqs: range) -> int:
        publisher = Publisher(self.endpoint, f"fault-pub-{self.prefix}-{seqs.start}")
        try:
            for seq in seqs:
                publisher.publish(*reading(self.prefix, seq))
            assert publisher.flush(), "the broker did not acknowledge every publish"
        finally:
            publisher.close()
        self.published += len(seqs)
        return len(seqs)

    def start(self, seqs: range) -> None:
        self._thread = threading.Thread(target=self.publish, args=(seqs,), daemon=True)
        self._thread.start()

    def join(self, timeout_s: float = 120.0) -> None:
        assert self._thread is not None
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "the publisher never finished"


def stored_seqs(store: ReadingStore) -> list[int]:
    """The numbers of the readings in ``store``, one entry per stored row."""
    return [(r.ts_ms - T0) // 1000 for r in store.query(MOTION, T0, T0 + 10**9, limit=1_000_000)]


@dataclass
class FaultCounts:
    """What one fault did to the data: every figure but ``published`` and ``stored`` must be 0."""

    fault: str
    published: int
    stored: int
    lost: int
    stored_twice: int
    alerts_twice: int = 0
    notifications_twice: int = 0

    @classmethod
    def of_readings(cls, fault: str, published: range, seqs: list[int]) -> FaultCounts:
        counts = Counter(seqs)
        return cls(fault, published=len(published), stored=len(counts),
                   lost=sum(1 for seq in published if seq not in counts),
                   stored_twice=sum(n - 1 for n in counts.values() if n > 1))

    def with_alerts(self, database: Path) -> FaultCounts:
        self.alerts_twice, self.notifications_twice = made_twice(database)
        return self

    def report(self) -> str:
        line = (f"{self.fault}: published {self.published}, stored {self.stored}, lost {self.lost}, "
                f"stored twice {self.stored_twice}, alerts twice {self.alerts_twice}, "
                f"notifications twice {self.notifications_twice}")
        print(line)
        return line

    def assert_clean(self) -> None:
        assert (self.lost, self.stored_twice, self.alerts_twice, self.notifications_twice) \
            == (0, 0, 0, 0), self.report()
        self.report()


def made_twice(database: Path) -> tuple[int, int]:
    """Alerts made twice (more than one alert for one device, type and start) and
    notifications made twice (more than one delivered attempt for one key) in the alerts
    database ``database``."""
    alerts = metadata.tables["alerts"]
    notification_attempts = metadata.tables["notification_attempts"]
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            alert_rows = connection.execute(
                sa.select(sa.func.count()).select_from(alerts)
                .group_by(alerts.c.type, alerts.c.device_id, alerts.c.started_ms)).scalars().all()
            delivered = connection.execute(
                sa.select(sa.func.count()).select_from(notification_attempts)
                .where(notification_attempts.c.ok.is_(True))
                .group_by(notification_attempts.c.key)).scalars().all()
    finally:
        engine.dispose()
    return sum(n - 1 for n in alert_rows), sum(n - 1 for n in delivered)


def open_alerts(database: Path) -> list[tuple]:
    alerts = metadata.tables["alerts"]
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(
                sa.select(alerts.c.id, alerts.c.status, alerts.c.count, alerts.c.next_reminder_ms,
                          alerts.c.escalation_delay_ms, alerts.c.tiers)
                .where(alerts.c.status != "resolved"))]
    finally:
        engine.dispose()


def recorded_attempts(database: Path) -> list[tuple[str, bool]]:
    attempts = metadata.tables["notification_attempts"]
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return [(row.audience, bool(row.ok)) for row in connection.execute(
                sa.select(attempts.c.audience, attempts.c.ok).order_by(attempts.c.id))]
    finally:
        engine.dispose()


