"""The MQTT :class:`~ingest.ReadingSource`: a persistent QoS 1 session whose messages are
acknowledged only once ingest has stored them."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion

from safehood.config import MqttEndpoint
from safehood.mqtt import BurstClient, ProtocolChoice, Publish, connect

from ._metrics import QUEUE_DEPTH
from ._source import Inbox, RawMessage, Received

log = logging.getLogger(__name__)

# A received message with what acknowledging it takes: packet id, QoS, connection number.
_Delivery = tuple[RawMessage, int, int, int]


class MqttSource:
    """Subscribes to the contract topics in a persistent session and feeds a bounded queue.

    The session survives restarts (fixed client id, clean start off, session expiry), so what
    is published while ingest is down is delivered when it returns. A batch is acknowledged
    by its ``ack`` once the consumer has stored it; paho's network thread never does more
    than enqueue (the messages of each socket read at once), and blocks when the queue is
    full (back-pressure up to the broker).
    """

    def __init__(
        self,
        endpoint: MqttEndpoint,
        *,
        topics: list[str],
        client_id: str,
        session_expiry_s: int,
        keepalive_s: int = 30,
        protocol: ProtocolChoice = "auto",
        queue_size: int = 10_000,
    ) -> None:
        self.endpoint = endpoint
        self.topics = topics
        self.client_id = client_id
        self.session_expiry_s = session_expiry_s
        self.keepalive_s = keepalive_s
        self.connected = threading.Event()
        self._protocol_choice = protocol
        self._inbox: Inbox[_Delivery] = Inbox(queue_size)
        self._generation = 0
        self._stopping = False
        self._client: BurstClient | None = None
        # paho's network thread's CPU time so far (read on that thread), and the messages
        # it handed on: what a message costs it (the demo's status line).
        self.network_cpu_s = 0.0
        self.network_messages = 0

    @property
    def network_cpu_us_per_message(self) -> float | None:
        """CPU of paho's network thread a received message, in microseconds (None before
        the first): reading the socket, cutting packets, queueing, acknowledging."""
        if not self.network_messages:
            return None
        return self.network_cpu_s / self.network_messages * 1e6

    @property
    def protocol(self) -> MQTTProtocolVersion:
        """The MQTT version the broker accepted (valid once started)."""
        return self._client.protocol if self._client is not None else mqtt.MQTTv5

    def start(self) -> None:
        """Connect (raising :class:`~safehood.mqtt.BrokerUnreachable` if the broker is not
        there) and start receiving."""
        self._client = connect(
            self.endpoint, self.client_id, protocol=self._protocol_choice,
            session_expiry_s=self.session_expiry_s, manual_ack=True,
            keepalive_s=self.keepalive_s, setup=self._install,
        )

    def _install(self, client: BurstClient) -> None:
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publishes = self._on_publishes

    def receive(self, max_messages: int, timeout_s: float) -> Received:
        deliveries = self._inbox.take(max_messages, timeout_s)
        QUEUE_DEPTH.set(len(self._inbox))
        return Received([d[0] for d in deliveries], lambda: self._ack(deliveries))

    def _ack(self, deliveries: list[_Delivery]) -> None:
        """Acks for a previous connection are skipped: the broker redelivers those, and
        their packet ids may now name other messages."""
        client = self._client
        if client is None:
            return
        generation = self._generation
        client.ack_many([mid for _raw, mid, qos, delivered_in in deliveries
                         if qos == 1 and delivered_in == generation])
        for _raw, mid, qos, delivered_in in deliveries:
            if qos == 2 and delivered_in == generation:
                client.ack(mid, qos)

    def subscribe(self, topics: list[str]) -> None:
        """Also receive ``topics`` (those not subscribed yet), now and after reconnects."""
        new = [t for t in topics if t not in self.topics]
        if not new:
            return
        self.topics = [*self.topics, *new]
        if self._client is not None and self.connected.is_set():
            self._client.subscribe([(topic, 1) for topic in new])

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish on the ingest connection (thread safe; used for dead letters)."""
        if self._client is not None:
            self._client.publish(topic, payload, qos=qos, retain=retain)

    def stop(self) -> None:
        self._stopping = True
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker %s refused the connection: %s", self.endpoint.url, reason)
            return
        self._generation += 1
        client.subscribe([(topic, 1) for topic in self.topics])
        self.connected.set()
        log.info("connected to %s (session present: %s)", self.endpoint.url,
                 getattr(flags, "session_present", None))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if not self._stopping:
            log.warning("lost the broker %s (%s); reconnecting", self.endpoint.url, reason)

    def _on_publishes(self, publishes: list[Publish]) -> None:
        generation = self._generation
        self._inbox.put_many([(RawMessage(topic, payload, received_ms), mid, qos, generation)
                              for topic, payload, mid, qos, received_ms in publishes])
        self.network_messages += len(publishes)
        self.network_cpu_s = time.thread_time()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        """What paho decoded itself (see :class:`~safehood.mqtt.BurstClient`)."""
        raw = RawMessage(message.topic, bytes(message.payload), time.time_ns() // 1_000_000)
        self._inbox.put_many([(raw, message.mid, message.qos, self._generation)])
