"""MQTT over TLS against a real mosquitto whose TLS listener uses a CA the test makes."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from safehood._broker import MosquittoBroker, TlsListener
from safehood.cli import main
from safehood.config import MqttEndpoint, Settings
from safehood.ingest import MqttSource
from safehood.mqtt import BrokerUnreachable, Publisher, connect
from tests._tls import ThrowawayCa

pytestmark = pytest.mark.skipif(
    not (shutil.which("mosquitto") and shutil.which("openssl")), reason="needs mosquitto and openssl"
)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCa:
    return ThrowawayCa.create(tmp_path_factory.mktemp("tls"))


def _tls_broker(ca: ThrowawayCa, data_dir: Path, *, require_certificate: bool) -> MosquittoBroker:
    cert, key = ca.issue(f"server-{data_dir.name}", ip="127.0.0.1")
    broker = MosquittoBroker(data_dir, tls=TlsListener(ca.cert_file, cert, key,
                                                       require_certificate=require_certificate))
    broker.start()
    return broker


@pytest.fixture(scope="module")
def tls_broker(ca: ThrowawayCa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    broker = _tls_broker(ca, tmp_path_factory.mktemp("mqtts"), require_certificate=False)
    yield broker
    broker.stop()


def _settings(broker: MosquittoBroker, ca: ThrowawayCa, **extra: object) -> Settings:
    return Settings.load(mqtt_url=broker.url, mqtt_ca_file=ca.cert_file, **extra)


def test_ingest_receives_what_a_publisher_sends_over_tls(
        tls_broker: MosquittoBroker, ca: ThrowawayCa) -> None:
    endpoint = _settings(tls_broker, ca).mqtt
    assert endpoint.tls and endpoint.url.startswith("mqtts://")
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    source = MqttSource(endpoint, topics=[f"{topic}/#"], client_id=f"ingest-{topic}",
                        session_expiry_s=60)
    source.start()
    try:
        assert source.connected.wait(10)
        publisher = Publisher(endpoint, f"pub-{topic}")
        publisher.publish(f"{topic}/a", b"over tls")
        assert publisher.flush()
        publisher.close()
        batch = source.receive(10, timeout_s=10)
        assert [m.payload for m in batch.messages] == [b"over tls"]
        batch.ack()
    finally:
        source.stop()


def test_a_client_that_does_not_trust_the_ca_is_refused(
        tls_broker: MosquittoBroker, ca: ThrowawayCa, tmp_path: Path) -> None:
    other_ca = ThrowawayCa.create(tmp_path, "other-ca")
    trusting_system = _settings(tls_broker, ca).mqtt
    for endpoint in (replace(trusting_system, ca_file=None),
                     replace(trusting_system, ca_file=str(other_ca.cert_file))):
        with pytest.raises(BrokerUnreachable, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
            connect(endpoint, f"untrusting-{uuid.uuid4().hex[:6]}", timeout_s=5)


def test_plain_mqtt_is_not_answered_on_the_tls_listener(tls_broker: MosquittoBroker) -> None:
    plain = MqttEndpoint(host=tls_broker.host, port=tls_broker.port, tls=False,
                         username=None, password=None)
    with pytest.raises(BrokerUnreachable):
        connect(plain, f"plain-{uuid.uuid4().hex[:6]}", timeout_s=3)


def test_a_listener_requiring_certificates_takes_a_client_cert_from_its_ca(
        ca: ThrowawayCa, tmp_path: Path) -> None:
    broker = _tls_broker(ca, tmp_path / "strict", require_certificate=True)
    try:
        without = _settings(broker, ca).mqtt
        with pytest.raises(BrokerUnreachable):
            connect(without, "no-client-cert", timeout_s=3)
        cert, key = ca.issue("device-1")
        endpoint = _settings(broker, ca, mqtt_cert_file=cert, mqtt_key_file=key).mqtt
        client = connect(endpoint, "device-1")
        client.disconnect()
        client.loop_stop()
    finally:
        broker.stop()


def test_a_broker_url_given_on_the_command_line_keeps_the_tls_files(ca: ThrowawayCa) -> None:
    endpoint = Settings.load(mqtt_url="mqtts://a.example:8883", mqtt_ca_file=ca.cert_file,
                             mqtt_username="u", mqtt_password="p").mqtt
    moved = endpoint.moved_to("mqtts://b.example")
    assert (moved.host, moved.port, moved.ca_file, moved.username) == (
        "b.example", 8883, str(ca.cert_file), "u")


def test_safehood_replay_publishes_over_tls_with_the_ca_from_the_settings(
        tls_broker: MosquittoBroker, ca: ThrowawayCa, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = f"tls{uuid.uuid4().hex[:8]}"
    recording = tmp_path / "traffic.jsonl"
    recording.write_bytes(orjson.dumps({
        "topic": "safehood/v1/s1/d1/telemetry",
        "payload": {"ts": 1_772_409_600_000, "kind": "motion", "occupancy": True}}) + b"\n")
    endpoint = _settings(tls_broker, ca).mqtt
    source = MqttSource(endpoint, topics=[f"{prefix}/#"], client_id=f"ingest-{prefix}",
                        session_expiry_s=60)
    source.start()
    monkeypatch.setenv("SAFEHOOD_MQTT_CA_FILE", str(ca.cert_file))
    try:
        assert main(["replay", str(recording), "--broker", tls_broker.url,
                     "--topic-prefix", prefix]) == 0
        batch = source.receive(10, timeout_s=10)
        assert [m.topic for m in batch.messages] == [f"{prefix}/v1/s1/d1/telemetry"]
        batch.ack()
    finally:
        source.stop()
    monkeypatch.delenv("SAFEHOOD_MQTT_CA_FILE")
    assert main(["replay", str(recording), "--broker", tls_broker.url]) != 0
