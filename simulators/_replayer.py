"""Publishing a replay file to a broker at a chosen speed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from safehood.config import MqttEndpoint
from safehood.mqtt import Publisher
from safehood.mqtt.const import MAX_INFLIGHT
from safehood.protocol import parse_ts_ms, read_replay


@dataclass(slots=True)
class ReplayStats:
    """What a replay has published so far."""

    published: int = 0
    retained: int = 0
    unpaced: int = 0  # lines without a readable ``ts``: published without waiting
    max_lag_s: float = 0.0
    wall_s: float = 0.0
    first_ts: int | None = None
    last_ts: int | None = None
    errors: list[str] = field(default_factory=list)


class Replayer:
    """Publish the messages of a replay file in order, QoS 1, retained where recorded.

    Pacing follows the recorded event times (``ts``): gaps are divided by ``speed``
    (``None`` or ``0``: as fast as possible); a line whose ``ts`` goes back in time (a
    duplicate, a retry) goes out at once. With ``topic_prefix`` the recorded prefix is
    replaced. ``max_inflight`` bounds the messages sent and not yet acknowledged (see
    :class:`~safehood.mqtt.Publisher`; 1 keeps their order through a broker's failover).
    :meth:`run` blocks; :meth:`start`, :meth:`stop` and :meth:`join` run it in a
    thread. Raises :class:`~safehood.mqtt.BrokerUnreachable` when the broker cannot be reached
    and ``ValueError`` for a line that is not a replay record.
    """

    def __init__(
        self,
        path: str | Path,
        broker: str | MqttEndpoint,
        *,
        speed: float | None = 1.0,
        topic_prefix: str | None = None,
        client_id: str = "safehood-replay",
        max_inflight: int = MAX_INFLIGHT,
    ) -> None:
        if speed is not None and speed < 0:
            raise ValueError("speed must be positive (or 0 for as fast as possible)")
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path} is not a file")
        self.endpoint = MqttEndpoint.from_url(broker) if isinstance(broker, str) else broker
        self.speed = speed or None
        self.topic_prefix = topic_prefix.strip("/") if topic_prefix else None
        self.client_id = client_id
        self.max_inflight = max_inflight
        self.stats = ReplayStats()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self) -> int:
        """How many messages the file holds (non-empty lines), e.g. for a progress bar."""
        count = 0
        with open(self.path, "rb") as handle:
            for line in handle:
                if line.strip():
                    count += 1
        return count

    def _topic(self, topic: str) -> str:
        if self.topic_prefix is None:
            return topic
        parts = topic.split("/")
        if len(parts) >= 5 and parts[-4] == "v1":
            return "/".join([self.topic_prefix, *parts[-4:]])
        return topic  # not a contract topic: replayed as it was recorded

    def run(self, progress: Callable[[int], None] | None = None) -> ReplayStats:
        """Publish the whole file (or until :meth:`stop`); ``progress(n)`` after each batch."""
        connection = Publisher(self.endpoint, self.client_id, max_inflight=self.max_inflight)
        began = time.monotonic()
        stats = self.stats
        base_ts: int | None = None
        latest: int | None = None
        pending = 0
        try:
            for record in read_replay(self.path):
                if self._stop.is_set():
                    break
                ts = _ts_of(record.payload)
                if ts is None:
                    stats.unpaced += 1
                else:
                    latest = ts if latest is None else max(latest, ts)
                    if base_ts is None:
                        base_ts = ts
                        stats.first_ts = ts
                    stats.last_ts = latest
                    if self.speed is not None:
                        delay = began + (latest - base_ts) / 1000 / self.speed - time.monotonic()
                        if delay > 0:
                            if self._stop.wait(delay):
                                break
                        elif -delay > stats.max_lag_s:
                            stats.max_lag_s = -delay
                connection.publish(self._topic(record.topic), record.payload_bytes(),
                                   retain=record.retain)
                stats.published += 1
                stats.retained += record.retain
                pending += 1
                if progress is not None and pending >= 500:
                    progress(pending)
                    pending = 0
            if not connection.flush():
                stats.errors.append("the broker did not acknowledge every message")
        finally:
            connection.close()
            stats.wall_s = time.monotonic() - began
        if progress is not None and pending:
            progress(pending)
        return stats

    def start(self) -> None:
        def target() -> None:
            try:
                self.run()
            except BaseException as exc:  # reported through .error
                self.error = exc

        self._thread = threading.Thread(target=target, name="replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True


def _ts_of(payload: object) -> int | None:
    if not isinstance(payload, dict):
        return None
    try:
        return parse_ts_ms(payload.get("ts"))
    except (TypeError, ValueError):
        return None
