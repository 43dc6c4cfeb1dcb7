"""A QoS 1 publisher with a bound on what is unacknowledged."""

from __future__ import annotations

import contextlib
import socket
from collections import deque

import paho.mqtt.client as mqtt

from safehood.config import MqttEndpoint

from ._client import ProtocolChoice, connect
from .const import MAX_INFLIGHT, PUBLISH_WINDOW


def _limit_queues(client: mqtt.Client) -> None:
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(0)


class Publisher:
    """One MQTT connection publishing at QoS 1, with a bound on unacknowledged messages.
    What is published while the connection is down is sent once paho has reconnected.

    ``publish`` is called from one thread; paho's network loop runs in its own. Raises
    :class:`BrokerUnreachable` when it cannot connect. :meth:`close` disconnects cleanly;
    :meth:`cut` drops the socket without DISCONNECT, so that the broker publishes the
    connection's last will.
    """

    def __init__(self, endpoint: MqttEndpoint, client_id: str, *,
                 will: tuple[str, bytes] | None = None, keepalive_s: int = 30,
                 timeout_s: float = 10.0, protocol: ProtocolChoice = "auto") -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self._client = connect(endpoint, client_id, protocol=protocol, will=will,
                               keepalive_s=keepalive_s, timeout_s=timeout_s, setup=_limit_queues)
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
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN:
            # The connection is down (a broker node died): paho keeps the message and sends
            # it once it has reconnected, but its info would raise on every wait.
            info.rc = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        self.published += 1
        self._inflight.append(info)
        while len(self._inflight) > PUBLISH_WINDOW:
            self._inflight.popleft().wait_for_publish(timeout=30)
        while self._inflight and self._inflight[0].is_published():
            self._inflight.popleft()

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
