"""How long the API's event loop pauses: a task that asks to sleep a short while and
measures how late it wakes up."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from .const import LOOP_LAG_INTERVAL_S, LOOP_LAG_WINDOW_S


class LoopLagMonitor:
    """Every pause of the event loop shows as lag, whatever its cause: a full pass of the
    garbage collector, another thread holding the GIL, blocking work run on the loop.
    Keeps each wake-up's lag (seconds) of the last ``window_s`` and the sum of all.

    :meth:`run` runs on the loop it watches (the app's lifespan starts it); the readers
    may be called from any thread."""

    def __init__(self, interval_s: float = LOOP_LAG_INTERVAL_S,
                 window_s: float = LOOP_LAG_WINDOW_S) -> None:
        self.interval_s = interval_s
        self._recent: deque[float] = deque(maxlen=max(1, round(window_s / interval_s)))
        self.total_s = 0.0

    async def run(self) -> None:
        """Measure until cancelled."""
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self.interval_s)
            self.record(time.perf_counter() - asked - self.interval_s)

    def record(self, lag_s: float) -> None:
        lag_s = max(0.0, lag_s)
        self._recent.append(lag_s)
        self.total_s += lag_s

    @property
    def worst_s(self) -> float:
        """The longest pause of the last window (0 before the first wake-up)."""
        return max(tuple(self._recent), default=0.0)
