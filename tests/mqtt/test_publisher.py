"""The QoS 1 publisher against a real mosquitto that restarts under it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from safehood._broker import MosquittoBroker
from safehood.config import MqttEndpoint
from safehood.mqtt import Publisher, connect
from tests._mqtt import wait_until

COUNT = 600


def test_a_publisher_keeps_its_order_through_a_broker_restart(tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path / "broker")
    broker.start()
    endpoint = MqttEndpoint(host=broker.host, port=broker.port, tls=False, username=None,
                            password=None)
    received: list[int] = []
    subscribed = threading.Event()

    def setup(client: mqtt.Client) -> None:
        client.on_message = lambda _c, _u, message: received.append(int(message.payload))
        client.on_subscribe = lambda *_a: subscribed.set()

    # A persistent session: what is published while it reconnects is kept for it.
    subscriber = connect(endpoint, "order-subscriber", protocol="5", session_expiry_s=600,
                         setup=setup)
    subscriber.subscribe("order/#", qos=1)
    assert subscribed.wait(10)
    publisher = Publisher(endpoint, "order-publisher")
    failures: list[BaseException] = []

    def publish_all() -> None:
        try:
            for seq in range(COUNT):
                publisher.publish("order/readings", str(seq).encode())
                time.sleep(0.002)  # still publishing while paho reconnects
            assert publisher.flush(timeout_s=60)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=publish_all)
    try:
        thread.start()
        wait_until(lambda: publisher.published >= COUNT // 4, what="a quarter published")
        broker.stop()
        broker.start()
        thread.join()
        assert not failures
        wait_until(lambda: len(set(received)) >= COUNT, timeout_s=60, what="every message")
        # In the order published: a message resent after the restart may come twice, but
        # never after a newer one it had been published before.
        first_seen = list(dict.fromkeys(received))
        assert first_seen == list(range(COUNT))
    finally:
        thread.join()
        publisher.close()
        subscriber.disconnect()
        subscriber.loop_stop()
        broker.stop()
