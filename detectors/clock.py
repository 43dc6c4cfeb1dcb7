"""Event time: per-site watermarks, the timer queue, and the duplicate filter.

Every timer of a detector (inactivity, offline, door left open, a confirmation window) is a
deadline in event time. It fires when the watermark of its site passes it; the watermark is
the newest event time seen at the site (or given by :meth:`SiteClock.advance_to`, which is
how the wall clock moves a live site on) minus the allowed lateness. A decision made by a
timer carries the deadline as its time, so the same recording gives the same decisions
whether the watermark moves one message at a time, by wall-clock ticks, or all at once at
the end of an offline run.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(slots=True)
class SiteClock:
    """Event time of one site.

    Parameters
    ----------
    lateness_ms
        Allowed lateness: how far the watermark trails the newest event time.

    Examples
    --------
    >>> clock = SiteClock(lateness_ms=30_000)
    >>> clock.watermark_ms is None
    True
    >>> clock.observe(100_000)
    >>> clock.observe(90_000)  # out of order: the clock never goes back
    >>> clock.latest_ms, clock.watermark_ms
    (100000, 70000)
    >>> clock.is_late(60_000)
    True
    """

    lateness_ms: int
    latest_ms: int | None = None

    @property
    def watermark_ms(self) -> int | None:
        """Event time up to which the site is taken to be complete, or None before any."""
        return None if self.latest_ms is None else self.latest_ms - self.lateness_ms

    def observe(self, ts_ms: int) -> None:
        """Take the event time of a message of the site into account."""
        if self.latest_ms is None or ts_ms > self.latest_ms:
            self.latest_ms = ts_ms

    def advance_to(self, now_ms: int) -> None:
        """Move the site's event time on to at least ``now_ms`` (a wall-clock tick)."""
        self.observe(now_ms)

    def is_late(self, ts_ms: int) -> bool:
        """True when ``ts_ms`` is behind the watermark: its timers may already have fired."""
        watermark = self.watermark_ms
        return watermark is not None and ts_ms < watermark


@dataclass(slots=True)
class TimerQueue(Generic[K]):
    """Deadlines of detectors, earliest first; each key holds at most one live deadline.

    Rescheduling a key replaces its deadline. A deadline moved later (every message moves a
    device's silence deadline on) adds no heap entry: the key's earlier entry stands in for
    it and, when popped, is put back at the live deadline. Ties fire in key order, so the
    firing order never depends on when deadlines were set.

    Examples
    --------
    >>> timers: TimerQueue[str] = TimerQueue()
    >>> timers.schedule("door", 5_000)
    >>> timers.schedule("inactivity", 3_000)
    >>> timers.schedule("door", 4_000)  # moved earlier
    >>> timers.schedule("inactivity", 4_500)  # moved later
    >>> list(timers.pop_due(4_500))
    [(4000, 'door'), (4500, 'inactivity')]
    >>> timers.deadline("door") is None
    True
    """

    # Invariant: each live key has a heap entry at or before its live deadline.
    _heap: list[tuple[int, K]] = field(default_factory=list)
    _live: dict[K, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._live)

    def deadline(self, key: K) -> int | None:
        return self._live.get(key)

    def schedule(self, key: K, deadline_ms: int | None) -> None:
        """Set (or with None, cancel) the deadline of ``key``."""
        if deadline_ms is None:
            self._live.pop(key, None)
            return
        live = self._live.get(key)
        if live == deadline_ms:
            return
        self._live[key] = deadline_ms
        if live is not None and live < deadline_ms:
            return  # the entry at ``live`` (or earlier) stands in for the later deadline
        heapq.heappush(self._heap, (deadline_ms, key))
        # Stale entries pile up when deadlines keep moving earlier and are cancelled;
        # rebuild the heap once they outnumber the live ones.
        if len(self._heap) > 64 and len(self._heap) > 4 * len(self._live):
            self._heap = [(d, k) for k, d in self._live.items()]
            heapq.heapify(self._heap)

    @property
    def earliest_ms(self) -> int | None:
        """No deadline falls before this (None: none is set); cheaper than
        :meth:`next_deadline`, which drops the stale entries it finds first."""
        heap = self._heap
        return heap[0][0] if heap else None

    def next_deadline(self) -> int | None:
        heap = self._heap
        while heap:
            deadline, key = heap[0]
            live = self._live.get(key)
            if live == deadline:
                return deadline
            if live is not None and live > deadline:
                # An entry standing in for a deadline moved later: put it back at that one.
                heapq.heapreplace(heap, (live, key))
            else:
                heapq.heappop(heap)
        return None

    def pop_due(self, watermark_ms: int) -> Iterator[tuple[int, K]]:
        """Pop ``(deadline, key)`` pairs with ``deadline <= watermark_ms``, earliest first.

        A generator: deadlines scheduled while it runs are seen by it if they are due.
        """
        while True:
            deadline = self.next_deadline()
            if deadline is None or deadline > watermark_ms:
                return
            _, key = heapq.heappop(self._heap)
            del self._live[key]
            yield deadline, key
