"""Building and connecting paho 2 clients."""

from __future__ import annotations

import ssl
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from safehood.config import MqttEndpoint

from .const import (
    CONNECT_TIMEOUT_S,
    LOGIN_REFUSED,
    READ_BURST,
    RECONNECT_MAX_DELAY_S,
    RECONNECT_MIN_DELAY_S,
    RECV_CHUNK_BYTES,
)

ProtocolChoice = Literal["auto", "5", "3.1.1"]
_VERSIONS: dict[str, tuple[MQTTProtocolVersion, ...]] = {
    "auto": (mqtt.MQTTv5, mqtt.MQTTv311),
    "5": (mqtt.MQTTv5,),
    "3.1.1": (mqtt.MQTTv311,),
}


class BrokerUnreachable(ConnectionError):
    """The broker could not be reached, did not answer, or refused the connection."""


Publish = tuple[str, bytes, int, int, int]
"""A received PUBLISH: topic, payload, packet id, QoS, and when it was read (epoch ms)."""

_PUBACK = struct.Struct("!BBH")


class BurstClient(mqtt.Client):
    """paho's client, reading the socket in large chunks and every packet they hold at each
    wake-up of its network thread; optionally handing received messages on a batch at a
    time, and acknowledging a batch in one write.

    Draining a backlog, paho's own client made a ``recv()`` for each byte of a packet's
    header and a ``select()`` and a pass of its loop for each packet (its ``loop_read``
    takes one unless messages of its own are in flight): the larger part of the network
    thread's time (py-spy), and that thread was what held ingest back. Here ``recv()``
    fills a buffer that whole packets are cut from, and a wake-up reads packets until
    the socket has no more; after ``READ_BURST`` it lets the loop write (acknowledgements,
    pings) once the buffer is empty, so that ``select()`` sees whatever is left.

    With :attr:`on_publishes` set, a QoS 0 or 1 PUBLISH that the buffer holds whole is cut
    from it directly, skipping paho's packet state, message object, MQTT 5 properties
    (decoded, then unused: over a third of the network thread in cProfile) and topic
    matching: the messages of a wake-up go to ``on_publishes`` as one list, in order, on
    the network thread. Anything else (a packet split over two reads, QoS 2, a topic alias,
    a topic that is not UTF-8) takes paho's own path to ``on_message``, after what came
    before it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_publishes: Callable[[list[Publish]], None] | None = None
        self._received = b""
        self._taken = 0
        self._received_on: object = None
        self._received_ms = 0
        self._publishes: list[Publish] = []

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._received_on is not self._sock:  # a new connection: nothing of the old
            self._received, self._taken, self._received_on = b"", 0, self._sock
        if self._taken >= len(self._received):
            chunk = super()._sock_recv(max(bufsize, RECV_CHUNK_BYTES))
            self._received_ms = time.time_ns() // 1_000_000
            if len(chunk) <= bufsize:
                return chunk
            self._received, self._taken = chunk, 0
        start = self._taken
        self._taken = min(start + bufsize, len(self._received))
        return self._received[start:self._taken]

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        read = 0
        try:
            while True:
                if self._sock is None:
                    return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
                if self.on_publishes is not None:
                    read += self._cut_publishes()
                    if read >= READ_BURST and self._taken >= len(self._received):
                        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
                rc = self._packet_read()
                if rc > 0:
                    return self._loop_rc_handle(rc)
                if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN:
                    return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
                read += 1
                if read >= READ_BURST and self._taken >= len(self._received):
                    return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        finally:
            self._hand_on_publishes()

    def _cut_publishes(self) -> int:
        """Cut the QoS 0 and 1 PUBLISH packets at the head of the buffer for
        :attr:`on_publishes`, up to the first packet that is anything else or is not whole
        (left to :meth:`_packet_read`); returns how many.

        Read straight from the buffer: through paho's packet state (two dicts, a copy into
        a ``bytearray``, its dispatch) and a decode of each variable-length integer by a
        call, a message cost the network thread twice as much (11.5 against 5.5 us, cProfile
        and a timing of 40,000 packets).
        """
        if self._in_packet["command"] != 0 or self._received_on is not self._sock:
            return 0
        received, at = self._received, self._taken
        size, v5 = len(received), self._protocol == mqtt.MQTTv5
        publishes, received_ms = self._publishes, self._received_ms
        cut = 0
        while at + 1 < size:
            header = received[at]
            qos = (header & 0x06) >> 1
            if header & 0xF0 != mqtt.PUBLISH or qos > 1:
                break
            if received[at + 1] < 128:  # the remaining length of one byte or two, inline
                start, end = at + 2, at + 2 + received[at + 1]
            elif at + 2 < size and received[at + 2] < 128:
                start, end = at + 3, at + 3 + (received[at + 1] & 127) + (received[at + 2] << 7)
            elif (remaining := _variable_int(received, at + 1)) is not None:
                start, end = remaining[1], remaining[1] + remaining[0]
            else:
                break
            publish = _publish_at(received, start, end, qos, v5, received_ms) if (
                end <= size) else None
            if publish is None:
                break
            publishes.append(publish)
            at = end
            self._taken = at
            cut += 1
            if qos and not self._manual_ack:
                self._send_puback(publish[2])
        if cut:
            with self._msgtime_mutex:
                self._last_bytes_received = mqtt.time_func()
        return cut

    def _packet_read(self) -> mqtt.MQTTErrorCode:
        """Cut the next packet from the buffer when it holds the whole of it (paho's reader
        takes it byte by byte); otherwise paho reads it, refilling the buffer."""
        received, start = self._received, self._taken
        if (self._in_packet["command"] != 0 or self._received_on is not self._sock
                or start >= len(received)):
            return super()._packet_read()
        remaining = _variable_int(received, start + 1)
        if remaining is None:
            return super()._packet_read()
        length, at = remaining
        end = at + length
        if end > len(received):
            return super()._packet_read()
        self._taken = end
        self._in_packet = {
            "command": received[start], "have_remaining": 1, "remaining_count": [],
            "remaining_mult": 1, "remaining_length": length, "packet": bytearray(received[at:end]),
            "to_process": 0, "pos": 0}
        try:
            rc = self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = {
            "command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1,
            "remaining_length": 0, "packet": bytearray(b""), "to_process": 0, "pos": 0}
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return rc

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        if self.on_publishes is None:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        qos = (self._in_packet["command"] & 0x06) >> 1
        publish = None if qos > 1 else _publish_at(
            packet, 0, len(packet), qos, self._protocol == mqtt.MQTTv5, self._received_ms)
        if publish is None:
            return self._handle_publish_by_paho()
        self._publishes.append(publish)
        if qos and not self._manual_ack:
            return self._send_puback(publish[2])
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_publish_by_paho(self) -> mqtt.MQTTErrorCode:
        self._hand_on_publishes()  # keep the order of arrival
        return super()._handle_publish()

    def _hand_on_publishes(self) -> None:
        if self._publishes and self.on_publishes is not None:
            publishes, self._publishes = self._publishes, []
            self.on_publishes(publishes)

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge QoS 1 messages by packet id (with ``manual_ack``) in one write and
        one wake-up of the network thread (``ack`` makes both for each message)."""
        if mids:
            packets = b"".join([_PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids])
            self._packet_queue(mqtt.PUBACK, packets, 0, 0)


def _publish_at(data: bytes | bytearray, start: int, end: int, qos: int, v5: bool,
                received_ms: int) -> Publish | None:
    """The QoS 0 or 1 PUBLISH whose variable header and payload are ``data[start:end]``;
    None when paho must read it (a topic alias, a topic that is not UTF-8, a short packet)."""
    if end - start < 2:
        return None
    topic_end = start + 2 + (data[start] << 8 | data[start + 1])
    if topic_end == start + 2 or topic_end + 2 * qos > end:
        return None
    try:
        topic = data[start + 2:topic_end].decode()
    except UnicodeDecodeError:
        return None
    at = topic_end + 2 * qos
    if v5:  # skip the properties (a variable byte length, most often one byte of 0)
        if at >= end:
            return None
        if data[at] < 128:
            at += 1 + data[at]
        elif (properties := _variable_int(data, at)) is not None:
            at = sum(properties)
        else:
            return None
        if at > end:
            return None
    mid = data[topic_end] << 8 | data[topic_end + 1] if qos else 0
    return topic, bytes(data[at:end]), mid, qos, received_ms


def _variable_int(data: bytes | bytearray, at: int) -> tuple[int, int] | None:
    """MQTT's variable byte integer at ``at`` (at most 4 bytes of 7 bits) and where it
    ends; None when ``data`` ends before it does, or it runs longer."""
    value = 0
    for position in range(at, min(at + 4, len(data))):
        byte = data[position]
        value |= (byte & 127) << 7 * (position - at)
        if not byte & 128:
            return value, position + 1
    return None


def connect(
    endpoint: MqttEndpoint,
    client_id: str,
    *,
    protocol: ProtocolChoice = "auto",
    session_expiry_s: int | None = None,
    manual_ack: bool = False,
    will: tuple[str, bytes] | None = None,
    keepalive_s: int = 30,
    timeout_s: float = CONNECT_TIMEOUT_S,
    setup: Callable[[BurstClient], None] | None = None,
) -> BurstClient:
    """A paho 2 client connected to ``endpoint``, its network loop running.

    Credentials and TLS (CA file, client certificate) come from the endpoint.
    ``"auto"`` tries MQTT 5 and falls back to 3.1.1 when the broker does not take 5.
    ``session_expiry_s`` asks for a persistent session (clean start off) that the broker
    keeps that long after a disconnect; otherwise the session is clean. ``will`` is a
    retained QoS 1 last will. ``setup`` installs the caller's callbacks before connecting;
    its ``on_connect`` sees every CONNACK but a first refusal (that one is raised, or
    answered with the fallback). paho reconnects on its own afterwards.

    Raises :class:`BrokerUnreachable` when the socket cannot be opened, no CONNACK comes
    within ``timeout_s``, the login is refused, or no protocol version is accepted.
    """
    failure = f"no answer within {timeout_s:g} s"
    for version in _VERSIONS[protocol]:
        client = _build(endpoint, client_id, version, persistent=session_expiry_s is not None,
                        manual_ack=manual_ack, will=will)
        if setup is not None:
            setup(client)
        connack = _Connack(client)
        try:
            if version == mqtt.MQTTv5:
                properties = Properties(PacketTypes.CONNECT)
                if session_expiry_s is not None:
                    properties.SessionExpiryInterval = session_expiry_s
                client.connect(endpoint.host, endpoint.port, keepalive=keepalive_s,
                               clean_start=session_expiry_s is None, properties=properties)
            else:
                client.connect(endpoint.host, endpoint.port, keepalive=keepalive_s)
        except OSError as exc:  # ssl.SSLError included
            raise BrokerUnreachable(
                f"cannot reach broker {endpoint.url}: {exc.strerror or exc}") from None
        client.loop_start()
        reason = connack.wait(timeout_s)
        if reason is not None and not reason.is_failure:
            return client
        client.disconnect()
        client.loop_stop()
        if reason is not None and reason.value in LOGIN_REFUSED:
            raise BrokerUnreachable(f"broker {endpoint.url} refused the login: {reason}")
        if reason is not None:
            failure = str(reason)
    versions = " or ".join("5" if v == mqtt.MQTTv5 else "3.1.1" for v in _VERSIONS[protocol])
    raise BrokerUnreachable(f"broker {endpoint.url} did not accept MQTT {versions} ({failure})")


def _build(endpoint: MqttEndpoint, client_id: str, version: MQTTProtocolVersion, *,
           persistent: bool, manual_ack: bool,
           will: tuple[str, bytes] | None) -> BurstClient:
    kwargs: dict[str, Any] = {}
    if version != mqtt.MQTTv5:
        kwargs["clean_session"] = not persistent
    client = BurstClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=version, manual_ack=manual_ack, **kwargs)
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        context = ssl.create_default_context(cafile=endpoint.ca_file)
        if endpoint.cert_file:
            context.load_cert_chain(endpoint.cert_file, endpoint.key_file)
        client.tls_set_context(context)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(RECONNECT_MIN_DELAY_S, RECONNECT_MAX_DELAY_S)
    return client


class _Connack:
    """Waits for the answer to CONNECT, passing it on to the caller's ``on_connect``."""

    def __init__(self, client: mqtt.Client) -> None:
        self._callers: Callable[..., None] | None = client.on_connect
        self._answered = threading.Event()
        self._reason: Any = None
        client.on_connect = self._on_connect

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        first = not self._answered.is_set()
        if self._callers is not None and not (first and reason.is_failure):
            self._callers(client, userdata, flags, reason, properties)
        if first:
            self._reason = reason
            self._answered.set()

    def wait(self, timeout_s: float) -> Any:
        """The CONNACK's reason code, or ``None`` when none came in time."""
        self._answered.wait(timeout_s)
        return self._reason
