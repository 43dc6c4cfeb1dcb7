"""MQTT connections of the live simulator and the replayer (paho-mqtt 2.x, QoS 1)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections import deque

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from safehood.config import MqttEndpoint

_WINDOW = 2_000  # publishes in flight or queued in paho before we wait for acknowledgements


class BrokerUnreachable(ConnectionError):
    """The broker could not be reached, or refused the connection."""


def parse_broker_url(url: str, username: str | None = None,
                     password: str | None = None) -> MqttEndpoint:
    """``mqtt://[user:pass@]host[:port]`` (or ``mqtts://``) as an endpoint.

    Raises ``ValueError`` for anything else.
    """
    return MqttEndpoint.from_url(url, username, password)


class Connection:
    """One MQTT connection publishing at QoS 1, with a bound on unacknowledged messages.

    ``publish`` is called from one thread (the simulator's or replayer's); paho's network
    loop runs in its own. :meth:`close` disconnects cleanly; :meth:`cut` drops the socket
    without DISCONNECT, so that the broker publishes the connection's last will.
    """

    def __init__(self, endpoint: MqttEndpoint, client_id: str, *,
                 will: tuple[str, bytes] | None = None, keepalive_s: int = 30,
                 timeout_s: float = 10.0) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                   client_id=client_id, protocol=mqtt.MQTTv311,
                                   clean_session=True)
        self._client.max_inflight_messages_set(100)
        self._client.max_queued_messages_set(0)
        if endpoint.username:
            self._client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            self._client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        if will is not None:
            self._client.will_set(will[0], will[1], qos=1, retain=True)
        self._connected = threading.Event()
        self._refusal: str | None = None
        self._client.on_connect = self._on_connect
        self._inflight: deque[mqtt.MQTTMessageInfo] = deque()
        self.published = 0
        try:
            self._client.connect(endpoint.host, endpoint.port, keepalive=keepalive_s)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerUnreachable(
                f"cannot reach broker {endpoint.url}: {exc.strerror or exc}"
                if isinstance(exc, OSError) else f"cannot reach broker {endpoint.url}: {exc}"
            ) from None
        self._client.loop_start()
        if not self._connected.wait(timeout_s):
            self._client.loop_stop()
            raise BrokerUnreachable(f"broker {endpoint.url} did not answer within {timeout_s:g} s")
        if self._refusal is not None:
            self._client.loop_stop()
            raise BrokerUnreachable(f"broker {endpoint.url} refused the connection: {self._refusal}")

    def _on_connect(self, _client: mqtt.Client, _userdata: object, _flags: object,
                    reason: object, _properties: object) -> None:
        if getattr(reason, "is_failure", False):
            self._refusal = str(reason)
        self._connected.set()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        self.published += 1
        self._inflight.append(info)
        while len(self._inflight) > _WINDOW:
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
