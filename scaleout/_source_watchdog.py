"""Keeps the readings stream sourcing from NATS's MQTT stream after a node dies.

When the node that led both streams dies, the readings stream's new leader may ask for its
source consumer before ``$MQTT_msgs`` has a leader again; nats-server 2.15.1 then waits for
an answer that never comes and retries only ~40 s later (measured in the soak test: the
readings stream stood still while ``$MQTT_msgs`` held 3,000 readings). Asking the readings
stream's leader to step down makes the next one set its source up anew, within seconds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from dataclasses import dataclass

from . import const
from ._jetstream import JetStreamConnection, ScaleOutError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SourceStall:
    """Decides from successive looks at both streams whether the sourcing stalled: readings
    wait in ``$MQTT_msgs`` (an interest stream: what the source took is removed) and neither
    its first sequence nor the readings stream's last one has moved for ``stall_s``. After a
    stall it stays quiet for ``cooldown_s`` (the new leader needs a moment)."""

    stall_s: float
    cooldown_s: float
    _position: tuple[int, int] | None = None
    _since_s: float = 0.0
    _quiet_until_s: float = 0.0

    def stalled_one(self, waiting: int, mqtt_first_seq: int, readings_last_seq: int,
                    now_s: float) -> bool:
        position = (mqtt_first_seq, readings_last_seq)
        if waiting == 0 or position != self._position:
            self._position, self._since_s = position, now_s
            return False
        if now_s - self._since_s < self.stall_s or now_s < self._quiet_until_s:
            return False
        self._since_s, self._quiet_until_s = now_s, now_s + self.cooldown_s
        return True


class SourceWatchdog:
    """Looks at both streams every ``interval_s`` on the connection's loop and makes the
    readings stream's leader step down when its sourcing stalled. :meth:`start`, then
    :meth:`stop`."""

    def __init__(self, connection: JetStreamConnection, *, interval_s: float = 1.0,
                 stall_s: float = const.SOURCE_STALL_S,
                 cooldown_s: float = const.SOURCE_STALL_COOLDOWN_S) -> None:
        self._connection = connection
        self._interval_s = interval_s
        self._stall = SourceStall(stall_s, cooldown_s)
        self._stopping = threading.Event()
        self._task: concurrent.futures.Future[None] | None = None
        self.step_downs = 0

    def start(self) -> None:
        self._task = asyncio.run_coroutine_threadsafe(self._run(), self._connection.loop)

    def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        api = self._connection.api
        while not self._stopping.is_set():
            await asyncio.sleep(self._interval_s)
            try:
                mqtt = (await api(f"STREAM.INFO.{const.MQTT_STREAM}"))["state"]
                readings = (await api(f"STREAM.INFO.{const.READINGS_STREAM}"))["state"]
                if self._stall.stalled_one(mqtt["messages"], mqtt["first_seq"],
                                           readings["last_seq"], loop.time()):
                    log.warning("%s has not taken readings from %s for %.0f s: asking its "
                                "leader to step down", const.READINGS_STREAM,
                                const.MQTT_STREAM, self._stall.stall_s)
                    self.step_downs += 1
                    await api(f"STREAM.LEADER.STEPDOWN.{const.READINGS_STREAM}")
            except ScaleOutError as exc:
                # NATS failing over: look again next time.
                log.debug("source watchdog: %s", exc)
