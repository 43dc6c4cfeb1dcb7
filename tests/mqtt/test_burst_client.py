"""BurstClient's own decoding of PUBLISH packets and its acknowledgement of a batch in one
write, against a real mosquitto: what paho would have handed on, in the same order."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from safehood._broker import MosquittoBroker
from safehood.config import MqttEndpoint
from safehood.mqtt import BurstClient, ProtocolChoice, Publish, connect
from safehood.mqtt._client import _variable_int
from tests._mqtt import wait_until

COUNT = 3_000


def _endpoint(broker: MosquittoBroker) -> MqttEndpoint:
    return MqttEndpoint(host=broker.host, port=broker.port, tls=False, username=None,
                        password=None)


def _publish(broker: MosquittoBroker, messages: list[tuple[str, bytes, int]]) -> None:
    """Publish with MQTT 5 properties that the fast path must skip over."""
    publisher = connect(_endpoint(broker), "burst-publisher", protocol="5")
    properties = Properties(PacketTypes.PUBLISH)
    properties.ContentType = "application/json"
    properties.UserProperty = [("origin", "test" * 40)]  # a properties length over 127 bytes
    infos = [publisher.publish(topic, payload, qos=qos, properties=properties)
             for topic, payload, qos in messages]
    for info in infos:
        info.wait_for_publish(30)
    publisher.disconnect()
    publisher.loop_stop()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_publishes_arrive_whole_and_in_order_and_batch_acks_hold(
        mosquitto: MosquittoBroker, topic_prefix: str, protocol: ProtocolChoice) -> None:
    prefix = f"{topic_prefix}/{protocol}"
    received: list[Publish] = []
    by_paho: list[mqtt.MQTTMessage] = []
    subscribed = threading.Event()

    def setup(client: BurstClient) -> None:
        def on_publishes(publishes: list[Publish]) -> None:
            # The broker sends 100 unacknowledged messages at most: all arrive only if
            # these acknowledgements reach it. Queued before the messages are counted:
            # the test disconnects once it counts them all, and acks queued after the
            # DISCONNECT never reach the broker, which then delivers them again.
            client.ack_many([mid for _topic, _payload, mid, qos, _ms in publishes if qos])
            received.extend(publishes)

        client.on_publishes = on_publishes
        client.on_message = lambda _c, _u, message: by_paho.append(message)
        client.on_subscribe = lambda *_a: subscribed.set()

    def session() -> BurstClient:
        subscribed.clear()
        client = connect(_endpoint(mosquitto), f"burst-{protocol}-{topic_prefix}",
                         protocol=protocol, session_expiry_s=600, manual_ack=True, setup=setup)
        client.subscribe(f"{prefix}/#", qos=1)
        assert subscribed.wait(10)
        return client

    client = session()
    # Payloads from empty to past a socket read of 64 KiB, so that packets straddle reads.
    sizes = [0, 1, 200, 70_000, *range(2, COUNT - 1)]
    messages = [(f"{prefix}/d{i % 7}/é", bytes([i % 251]) * size, i % 2)
                for i, size in enumerate(sizes)]
    _publish(mosquitto, messages)
    wait_until(lambda: len(received) >= len(messages), what="every message received")
    assert not by_paho
    # The broker keeps the order within a QoS (QoS 0 is not held back by the in-flight limit).
    for level in (0, 1):
        assert [(topic, payload) for topic, payload, _mid, qos, _ms in received if qos == level] \
            == [(topic, payload) for topic, payload, qos in messages if qos == level]
    assert all(ms > 0 for *_rest, ms in received)
    # Acknowledged messages are not delivered again to the same session.
    client.disconnect()
    client.loop_stop()
    received.clear()
    client = session()
    marker = (f"{prefix}/marker", b"last", 1)
    _publish(mosquitto, [marker])
    wait_until(lambda: len(received) >= 1, what="the marker")
    assert [(topic, payload, qos) for topic, payload, _mid, qos, _ms in received] == [marker]
    client.disconnect()
    client.loop_stop()


def test_qos_2_takes_pahos_path(mosquitto: MosquittoBroker, topic_prefix: str) -> None:
    fast: list[str] = []
    by_paho: list[str] = []
    subscribed = threading.Event()

    def setup(client: BurstClient) -> None:
        client.on_publishes = lambda publishes: fast.extend(p[0] for p in publishes)
        client.on_message = lambda _c, _u, message: by_paho.append(message.topic)
        client.on_subscribe = lambda *_a: subscribed.set()

    client = connect(_endpoint(mosquitto), f"burst-qos2-{topic_prefix}", protocol="5",
                     setup=setup)
    client.subscribe(f"{topic_prefix}/#", qos=2)
    assert subscribed.wait(10)
    messages = [(f"{topic_prefix}/{i}", b"x", 2 if i % 10 == 5 else 1) for i in range(100)]
    _publish(mosquitto, messages)
    wait_until(lambda: len(fast) + len(by_paho) >= len(messages), what="every message")
    # QoS 2 is handed on at PUBREL, so its order among the others is the broker's to choose.
    assert fast == [topic for topic, _payload, qos in messages if qos == 1]
    assert by_paho == [topic for topic, _payload, qos in messages if qos == 2]
    client.disconnect()
    client.loop_stop()


@pytest.mark.parametrize(("data", "at", "expected"), [
    (b"\x00", 0, (0, 1)),
    (b"\x30\x7f", 1, (127, 2)),
    (b"\x80\x01rest", 0, (128, 2)),
    (b"\xff\xff\xff\x7f", 0, (268_435_455, 4)),  # the largest MQTT allows
    (b"\xff\xff\xff\xff\x01", 0, None),  # a fifth byte: malformed
    (b"\x80\x80", 0, None),  # the rest not read yet
])
def test_variable_byte_integers_decode_as_mqtt_defines_them(
        data: bytes, at: int, expected: tuple[int, int] | None) -> None:
    assert _variable_int(data, at) == expected
