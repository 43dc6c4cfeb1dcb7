"""The QoS 1 publisher against a real mosquitto that goes away and comes back."""

from __future__ import annotations

from pathlib import Path

from safehood._broker import MosquittoBroker
from safehood.config import MqttEndpoint
from safehood.mqtt import Publisher
from tests._mqtt import wait_until


def test_what_is_published_while_the_broker_is_away_is_sent_when_it_is_back(
        tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path / "broker")
    broker.start()
    endpoint = MqttEndpoint(host=broker.host, port=broker.port, tls=False, username=None,
                            password=None)
    publisher = Publisher(endpoint, "publisher-while-away")
    try:
        broker.stop()
        wait_until(lambda: not publisher.connected, timeout_s=30,
                   what="the publisher to notice the broker gone")
        for seq in range(20):
            publisher.publish(f"safehood/v1/s1/d1/telemetry/{seq}", b"{}")
        broker.start()
        assert publisher.flush(timeout_s=60)
    finally:
        publisher.close()
        broker.stop()
