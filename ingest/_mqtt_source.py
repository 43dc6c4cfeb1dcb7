"""The MQTT edge of ingest: a persistent QoS 1 session whose messages are acknowledged only
after the consumer has stored them."""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from safehood.config import MqttEndpoint

from .const import PROTOCOL_PROBE_TIMEOUT_S, RECONNECT_MAX_DELAY_S, RECONNECT_MIN_DELAY_S

log = logging.getLogger(__name__)


class BrokerUnreachable(ConnectionError):
    """The broker could not be reached or refused the connection."""


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as it came off the wire, before any validation."""

    topic: str
    payload: bytes
    received_ms: int
    mid: int
    qos: int
    generation: int


def make_client(
    endpoint: MqttEndpoint,
    client_id: str,
    *,
    protocol: MQTTProtocolVersion = mqtt.MQTTv5,
    persistent: bool = False,
    manual_ack: bool = False,
    ca_file: str | None = None,
) -> mqtt.Client:
    """A paho 2.x client for ``endpoint`` (credentials and TLS applied), not yet connected."""
    kwargs: dict[str, Any] = {}
    if protocol != mqtt.MQTTv5:
        kwargs["clean_session"] = not persistent
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        manual_ack=manual_ack,
        **kwargs,
    )
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        context = ssl.create_default_context(cafile=ca_file)
        client.tls_set_context(context)
    client.reconnect_delay_set(RECONNECT_MIN_DELAY_S, RECONNECT_MAX_DELAY_S)
    return client


def connect_properties(session_expiry_s: int) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    return props


def probe_protocol(endpoint: MqttEndpoint, ca_file: str | None = None) -> MQTTProtocolVersion:
    """Find whether the broker speaks MQTT 5; fall back to 3.1.1 when it does not.

    Raises :class:`BrokerUnreachable` when neither handshake succeeds.
    """
    failure = "no answer"
    for protocol in (mqtt.MQTTv5, mqtt.MQTTv311):
        client = make_client(endpoint, f"safehood-probe-{uuid.uuid4().hex[:8]}",
                             protocol=protocol, ca_file=ca_file)
        answered = threading.Event()
        result: dict[str, Any] = {}

        def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any,
                       result: dict[str, Any] = result, answered: threading.Event = answered) -> None:
            result["reason"] = reason
            answered.set()

        client.on_connect = on_connect
        try:
            client.connect(endpoint.host, endpoint.port, keepalive=10)
        except OSError as exc:
            raise BrokerUnreachable(f"cannot reach {endpoint.url}: {exc}") from exc
        client.loop_start()
        answered.wait(PROTOCOL_PROBE_TIMEOUT_S)
        client.disconnect()
        client.loop_stop()
        reason = result.get("reason")
        if reason is not None and not reason.is_failure:
            return protocol
        if reason is not None and getattr(reason, "value", None) in (4, 5, 134, 135):
            raise BrokerUnreachable(f"{endpoint.url} refused the login: {reason}")
        failure = str(reason) if reason is not None else "no CONNACK"
    raise BrokerUnreachable(f"{endpoint.url} accepted neither MQTT 5 nor 3.1.1 ({failure})")


class MqttSource:
    """Subscribes to the contract topics in a persistent session and feeds a bounded queue.

    The session survives restarts (fixed client id, clean start off, session expiry), so what
    is published while ingest is down is delivered when it returns. Messages are acknowledged
    by :meth:`ack` once the consumer has stored them; paho's network thread never does more
    than enqueue, and blocks when the queue is full (back-pressure up to the broker).
    """

    def __init__(
        self,
        endpoint: MqttEndpoint,
        *,
        topics: list[str],
        client_id: str,
        session_expiry_s: int,
        keepalive_s: int = 30,
        protocol: str = "auto",
        queue_size: int = 10_000,
        ca_file: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.topics = topics
        self.client_id = client_id
        self.session_expiry_s = session_expiry_s
        self.keepalive_s = keepalive_s
        self.ca_file = ca_file
        self.queue: queue.Queue[RawMessage] = queue.Queue(maxsize=queue_size)
        self.connected = threading.Event()
        self._protocol_setting = protocol
        self._generation = 0
        self._stopping = False
        self._client: mqtt.Client | None = None
        self.protocol: MQTTProtocolVersion = mqtt.MQTTv5

    def start(self) -> None:
        """Connect (raising :class:`BrokerUnreachable` if the broker is not there) and start."""
        if self._protocol_setting == "5":
            self.protocol = mqtt.MQTTv5
        elif self._protocol_setting == "3.1.1":
            self.protocol = mqtt.MQTTv311
        else:
            self.protocol = probe_protocol(self.endpoint, self.ca_file)
        client = make_client(
            self.endpoint, self.client_id, protocol=self.protocol, persistent=True,
            manual_ack=True, ca_file=self.ca_file,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        try:
            if self.protocol == mqtt.MQTTv5:
                client.connect(
                    self.endpoint.host, self.endpoint.port, keepalive=self.keepalive_s,
                    clean_start=False, properties=connect_properties(self.session_expiry_s),
                )
            else:
                client.connect(self.endpoint.host, self.endpoint.port, keepalive=self.keepalive_s)
        except OSError as exc:
            raise BrokerUnreachable(f"cannot reach {self.endpoint.url}: {exc}") from exc
        client.loop_start()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish on the ingest connection (thread safe; used for dead letters)."""
        if self._client is not None:
            self._client.publish(topic, payload, qos=qos, retain=retain)

    def ack(self, message: RawMessage) -> None:
        """Acknowledge a stored message. Acks for a previous connection are skipped: the
        broker redelivers those, and their packet ids may now name other messages."""
        if message.qos > 0 and message.generation == self._generation and self._client:
            self._client.ack(message.mid, message.qos)

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

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        raw = RawMessage(
            topic=message.topic,
            payload=bytes(message.payload),
            received_ms=time.time_ns() // 1_000_000,
            mid=message.mid,
            qos=message.qos,
            generation=self._generation,
        )
        self.queue.put(raw)
