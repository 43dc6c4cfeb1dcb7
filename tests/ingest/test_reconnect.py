"""Ingest comes back on its own when the broker returns, without a long backoff."""

from __future__ import annotations

from pathlib import Path

import orjson

from safehood._broker import MosquittoBroker
from safehood.config import MqttEndpoint
from safehood.ingest import MqttSource
from tests._mqtt import publish_all, wait_until

TOPIC = "reconnect/v1/xianlin-3/h001-motion-hall/event"


def test_ingest_reconnects_and_receives_after_a_broker_restart(tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path / "mosquitto")
    broker.start()
    endpoint = MqttEndpoint(host=broker.host, port=broker.port, tls=False, username=None,
                            password=None)
    source = MqttSource(endpoint, topics=["reconnect/#"], client_id="ingest-reconnect",
                        session_expiry_s=3600)
    try:
        source.start()
        assert source.connected.wait(10)
        # paho's delay between attempts: a low cap is what brings ingest back quickly.
        client = source._client
        assert client is not None and client._reconnect_max_delay <= 2

        broker.stop()
        wait_until(lambda: not source.connected.is_set(), what="ingest to notice the broker left")
        broker.start()
        wait_until(source.connected.is_set, what="ingest back on the broker")

        payloads = [orjson.dumps({"ts": 1772410500000 + i, "seq": i, "kind": "motion",
                                  "event": "motion"}) for i in range(20)]
        publish_all(broker.host, broker.port, [(TOPIC, p) for p in payloads])
        received: list[bytes] = []

        def take() -> bool:
            batch = source.receive(100, 0.1)
            received.extend(m.payload for m in batch.messages)
            batch.ack()
            return len(received) >= len(payloads)

        wait_until(take, what="messages after the restart")
        assert received == payloads
    finally:
        source.stop()
        broker.stop()
