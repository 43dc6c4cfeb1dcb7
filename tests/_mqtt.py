"""Test helpers that speak MQTT to the real broker, through the same edge as ingest."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt

from safehood.config import MqttEndpoint
from safehood.mqtt import Publisher, connect


def _endpoint(host: str, port: int) -> MqttEndpoint:
    return MqttEndpoint(host=host, port=port, tls=False, username=None, password=None)


def publish_all(host: str, port: int, messages: Iterable[tuple[str, bytes]]) -> int:
    """Publish every ``(topic, payload)`` at QoS 1 and wait until the broker has acknowledged all."""
    publisher = Publisher(_endpoint(host, port), f"test-pub-{uuid.uuid4().hex[:8]}")
    for topic, payload in messages:
        publisher.publish(topic, payload)
    assert publisher.flush(), "the broker did not acknowledge a publish"
    publisher.close()
    return publisher.published


class Subscriber:
    """Collects every message on ``topic`` (a wildcard subscription) in a list."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()

        def setup(client: mqtt.Client) -> None:
            client.on_message = self._on_message
            client.on_subscribe = lambda *_a: subscribed.set()

        self.client = connect(_endpoint(host, port), f"test-sub-{uuid.uuid4().hex[:8]}",
                              protocol="5", setup=setup)
        self.client.subscribe(topic, qos=1)
        assert subscribed.wait(10), "subscription was not acknowledged"

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(condition: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; fail the test with ``what`` when it never does."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
