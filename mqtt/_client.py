"""Building and connecting paho 2 clients."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
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


class BurstClient(mqtt.Client):
    """paho's client, reading the socket in large chunks and every packet they hold at each
    wake-up of its network thread.

    Draining a backlog, paho's own client made a ``recv()`` for each byte of a packet's
    header and a ``select()`` and a pass of its loop for each packet (its ``loop_read``
    takes one unless messages of its own are in flight): the larger part of the network
    thread's time (py-spy), and that thread was what held ingest back. Here ``recv()``
    fills a buffer that the packet reader takes from, and a wake-up reads packets until
    the socket has no more; after ``READ_BURST`` it lets the loop write (acknowledgements,
    pings) once the buffer is empty, so that ``select()`` sees whatever is left.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._received = b""
        self._taken = 0
        self._received_on: object = None

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._received_on is not self._sock:  # a new connection: nothing of the old
            self._received, self._taken, self._received_on = b"", 0, self._sock
        if self._taken >= len(self._received):
            chunk = super()._sock_recv(max(bufsize, RECV_CHUNK_BYTES))
            if len(chunk) <= bufsize:
                return chunk
            self._received, self._taken = chunk, 0
        start = self._taken
        self._taken = min(start + bufsize, len(self._received))
        return self._received[start:self._taken]

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        read = 0
        while True:
            if self._sock is None:
                return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN:
                return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
            read += 1
            if read >= READ_BURST and self._taken >= len(self._received):
                return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS


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
    setup: Callable[[mqtt.Client], None] | None = None,
) -> mqtt.Client:
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
           will: tuple[str, bytes] | None) -> mqtt.Client:
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
