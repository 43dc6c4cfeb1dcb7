"""Provisioning against a real mosquitto: the written password and ACL files let a device
publish under its own topic and nowhere else."""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from safehood._broker import MosquittoBroker
from tests._mqtt import wait_until

from .conftest import Api


class Client:
    """A paho client that records what it receives and how its connection went."""

    def __init__(self, broker: MosquittoBroker, username: str | None, password: str | None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.refused = threading.Event()
        self.subscribed = threading.Event()
        self.reason: Any = None
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id=f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.reason = reason
        (self.refused if reason.is_failure else self.connected).set()

    def wait(self) -> bool:
        """True when the broker accepted the login, False when it refused it."""
        wait_until(lambda: self.connected.is_set() or self.refused.is_set(), 15, "CONNACK")
        return self.connected.is_set()

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def auth_dir() -> Iterator[Path]:
    """Where safehood writes the broker's files: mosquitto, started as root, drops to its own
    user before reading them, so they must be reachable by that user (pytest's tmp dirs are
    private to root)."""
    path = Path(tempfile.mkdtemp(prefix="safehood-mqtt-auth-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def broker(tmp_path: Path, auth_dir: Path) -> Iterator[MosquittoBroker]:
    broker = MosquittoBroker(tmp_path / "mosquitto", extra_config=[
        f"password_file {auth_dir / 'passwd'}", f"acl_file {auth_dir / 'acl'}"])
    yield broker
    broker.stop()


def connect_when_reloaded(broker: MosquittoBroker, username: str, password: str) -> Client:
    """mosquitto re-reads its files asynchronously after SIGHUP: retry the login."""
    holder: list[Client] = []

    def attempt() -> bool:
        client = Client(broker, username, password)
        if client.wait():
            holder.append(client)
            return True
        client.close()
        return False

    wait_until(attempt, 30, f"mosquitto to accept {username}")
    return holder[0]


def test_device_publishes_only_under_its_own_topic(
        build_api: Callable[..., Api], broker: MosquittoBroker, auth_dir: Path) -> None:
    api = build_api(reload=broker.reload, mqtt_password_file=auth_dir / "passwd",
                    mqtt_acl_file=auth_dir / "acl")
    api.provisioner.add_service_account("ingest-svc", "ingest", password="ingest-pw-1")
    broker.start()  # reads the files written so far: only the ingest account
    clients: list[Client] = []
    try:
        subscriber = Client(broker, "ingest-svc", "ingest-pw-1")
        clients.append(subscriber)
        assert subscriber.wait()
        subscriber.client.subscribe("safehood/#", qos=1)
        assert subscriber.subscribed.wait(10)

        response = api.client.post("/api/v1/devices", headers=api.headers("integrator"), json={
            "device_id": "h002-door", "site": "xianlin-3", "kind": "door", "household": "h002"})
        assert response.status_code == 201, response.text
        creds = response.json()["mqtt"]
        assert creds["broker_reloaded"] is True

        device = connect_when_reloaded(broker, creds["username"], creds["password"])
        clients.append(device)
        own = "safehood/v1/xianlin-3/h002-door/event"
        other = "safehood/v1/xianlin-3/r001-band/event"
        other_site = "safehood/v1/gulou-1/h002-door/event"
        device.publish(other, b'{"forged": true}')
        device.publish(other_site, b'{"forged": true}')
        device.publish(own, b'{"event": "open"}')
        # Messages of one publisher arrive in order: once the last one is in, the forged
        # ones would have arrived before it.
        wait_until(lambda: (own, b'{"event": "open"}') in subscriber.messages, 15,
                   "the device's own message at the ingest subscriber")
        topics = [t for t, _ in subscriber.messages]
        assert other not in topics
        assert other_site not in topics

        wrong = Client(broker, "h002-door", "not-the-password")
        clients.append(wrong)
        assert wrong.wait() is False
        anonymous = Client(broker, None, None)
        clients.append(anonymous)
        assert anonymous.wait() is False

        # Deleting the device locks it out (after the broker reloads).
        assert api.client.delete("/api/v1/devices/h002-door",
                                 headers=api.headers("integrator")).status_code == 204

        def refused() -> bool:
            client = Client(broker, creds["username"], creds["password"])
            clients.append(client)
            return client.wait() is False

        wait_until(refused, 30, "mosquitto to refuse the deleted device")
    finally:
        for client in clients:
            client.close()
