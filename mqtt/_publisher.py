"""A QoS 1 publisher with a bound on what is unacknowledged."""

from __future__ import annotations

import contextlib
import socket
import time
from collections import deque

import paho.mqtt.client as mqtt

from safehood.config import MqttEndpoint

from ._client import BrokerUnreachable, ProtocolChoice, connect
from .const import MAX_INFLIGHT, PUBLISH_WINDOW, RECONNECT_WAIT_S


class Publisher:
    """One MQTT connection publishing at QoS 1, with a bound on unacknowledged messages.
    When the connection drops, :meth:`publish` waits until paho has reconnected and the
    broker has taken what was in flight, so that messages arrive in the order published.

    ``publish`` is called from one thread; paho's network loop runs in its own. Raises
    :class:`BrokerUnreachable` when it cannot connect. :meth:`close` disconnects cleanly;
    :meth:`cut` drops the socket without DISCONNECT, so that the broker publishes the
    connection's last will.

    ``max_inflight`` bounds the messages sent and not yet acknowledged. A broker may store
    them out of order when it fails some and takes later ones (NATS losing a stream leader
    with several in flight): those it failed come again after the later ones. With one,
    messages reach the broker in the order published, as from a device that sends its
    next reading once the last was acknowledged.
    """

    def __init__(self, endpoint: MqttEndpoint, client_id: str, *,
                 will: tuple[str, bytes] | None = None, keepalive_s: int = 30,
                 timeout_s: float = 10.0, protocol: ProtocolChoice = "auto",
                 max_inflight: int = MAX_INFLIGHT) -> None:
        self.endpoint = endpoint
        self.client_id = client_id

        def limit_queues(client: mqtt.Client) -> None:
            client.max_inflight_messages_set(max_inflight)
            client.max_queued_messages_set(0)

        self._client = connect(endpoint, client_id, protocol=protocol, will=will,
                               keepalive_s=keepalive_s, timeout_s=timeout_s, setup=limit_queues)
        self._inflight: deque[mqtt.MQTTMessageInfo] = deque()
        self.published = 0

    @property
    def protocol(self) -> ProtocolChoice:
        """The MQTT version the broker accepted: pass it on to further connections to the
        same broker to spare them the fallback."""
        return "5" if self._client.protocol == mqtt.MQTTv5 else "3.1.1"

    @property
    def connected(self) -> bool:
        """Whether the connection to the broker is up now (paho reconnects by itself)."""
        return self._client.is_connected()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        if not self._client.is_connected():
            self._resume()
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN:
            # The connection dropped just now: paho keeps the message and sends it once it
            # has reconnected, but its info would raise on every wait.
            info.rc = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        self.published += 1
        self._inflight.append(info)
        while len(self._inflight) > PUBLISH_WINDOW:
            self._inflight.popleft().wait_for_publish(timeout=30)
        while self._inflight and self._inflight[0].is_published():
            self._inflight.popleft()

    def _resume(self) -> None:
        """Wait until paho has reconnected and the broker has acknowledged what paho sent
        again: a message handed to paho before that goes out ahead of older ones (during
        the handshake, or as the resent ones take their turns), and readings arrive out of
        order. Raises :class:`BrokerUnreachable` after ``RECONNECT_WAIT_S``."""
        deadline = time.monotonic() + RECONNECT_WAIT_S
        while not self._client.is_connected():
            if time.monotonic() > deadline:
                raise BrokerUnreachable(
                    f"{self.endpoint.host}:{self.endpoint.port} did not come back within "
                    f"{RECONNECT_WAIT_S:.0f} s")
            time.sleep(0.05)
        if not self.flush(timeout_s=RECONNECT_WAIT_S):
            raise BrokerUnreachable(f"{self.endpoint.host}:{self.endpoint.port} did not "
                                    "acknowledge what was sent again after reconnecting")

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until the broker acknowledged everything published; False on timeout."""
        while self._inflight:
            info = self._inflight[0]
            try:
                info.wait_for_publish(timeout=timeout_s)
            except (RuntimeError, ValueError):
                return False
            if not info.is_published():
                return False
            self._inflight.popleft()
        return True

    def close(self) -> None:
        self.flush()
        self._client.disconnect()
        self._client.loop_stop()

    def cut(self) -> None:
        """Drop the connection as a dying device would: no DISCONNECT, the socket just closes."""
        self.flush()
        sock = self._client.socket()
        self._client.loop_stop()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
