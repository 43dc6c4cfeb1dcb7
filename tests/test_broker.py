"""The broker that the demo and the tests start keeps its persistence file: what a
persistent session has queued survives a broker restart."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from safehood._broker import MosquittoBroker
from safehood.config import MqttEndpoint
from safehood.mqtt import connect
from tests._mqtt import publish_all, wait_until

CLIENT_ID = "persistent-subscriber"


def _subscriber(broker: MosquittoBroker, received: list[bytes]) -> mqtt.Client:
    """A QoS 1 subscriber with a persistent session (clean start off, kept an hour)."""
    lock = threading.Lock()

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with lock:
            received.append(message.payload)

    def setup(client: mqtt.Client) -> None:
        client.on_message = on_message

    endpoint = MqttEndpoint(host=broker.host, port=broker.port, tls=False, username=None,
                            password=None)
    return connect(endpoint, CLIENT_ID, protocol="5", session_expiry_s=3600, setup=setup)


def test_queued_messages_survive_a_broker_restart(tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path / "mosquitto")
    broker.start()
    try:
        subscriber = _subscriber(broker, [])
        subscribed = threading.Event()
        subscriber.on_subscribe = lambda *_a: subscribed.set()
        subscriber.subscribe("queued/#", qos=1)
        assert subscribed.wait(10)
        subscriber.disconnect()
        subscriber.loop_stop()

        sent = [f"m{i}".encode() for i in range(50)]
        publish_all(broker.host, broker.port, [("queued/x", payload) for payload in sent])
        broker.stop()
        assert (broker.data_dir / "mosquitto.db").exists(), "no persistence file written"
        broker.start()

        received: list[bytes] = []
        subscriber = _subscriber(broker, received)
        wait_until(lambda: len(received) >= len(sent), what="the queued messages")
        subscriber.disconnect()
        subscriber.loop_stop()
        assert sorted(received) == sorted(sent)
    finally:
        broker.stop()
    assert "Permission denied" not in broker.log_path.read_text()
