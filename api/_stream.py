"""The live stream of alert changes (Server-Sent Events), fanned out per client.

Alert changes arrive on the alerting threads; :meth:`AlertBroadcaster.publish` hands them to
the event loop (``call_soon_threadsafe``), which puts them on each client's bounded queue.
A client that falls ``queue_size`` events behind is dropped, loudly, rather than holding
memory or slowing everyone else; its browser's EventSource reconnects and reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from safehood.protocol import Alert

from .const import STREAM_KEEPALIVE_S, STREAM_QUEUE_SIZE

log = logging.getLogger(__name__)

_END = object()
_DROPPED = object()


@dataclass(eq=False, slots=True)
class StreamClient:
    """One open stream: what it may see, and its queue of encoded events."""

    name: str
    accepts: Callable[[Alert], bool]
    queue: asyncio.Queue[Any]
    dropped: bool = False
    sent: int = field(default=0)


class AlertBroadcaster:
    """Fans alert changes out to the open streams. ``publish`` may be called from any
    thread; everything else runs on the event loop given to :meth:`attach`."""

    def __init__(self, queue_size: int = STREAM_QUEUE_SIZE,
                 keepalive_s: float = STREAM_KEEPALIVE_S) -> None:
        self.queue_size = queue_size
        self.keepalive_s = keepalive_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[StreamClient] = set()
        self._closed = threading.Event()
        self._ids = itertools.count(1)
        self.dropped_clients = 0

    @property
    def clients(self) -> int:
        return len(self._clients)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on ``loop`` (the server's event loop). After :meth:`close` streams end at
        once, attached or not: closing is final."""
        self._loop = loop

    def publish(self, kind: str, alert: Alert) -> None:
        """Queue one change for every client allowed to see it. Thread safe, never blocks."""
        loop = self._loop
        if loop is None or self._closed.is_set():
            return
        event_id = next(self._ids)
        data = orjson.dumps({"kind": kind, "alert": alert.model_dump(mode="json")})
        message = f"id: {event_id}\nevent: alert\ndata: {data.decode()}\n\n"
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is gone
            loop.call_soon_threadsafe(self._fan_out, alert, message)

    def _fan_out(self, alert: Alert, message: str) -> None:
        for client in list(self._clients):
            if client.dropped:
                continue
            try:
                if not client.accepts(alert):
                    continue
            except Exception:
                log.exception("stream filter of %s failed", client.name)
                continue
            try:
                client.queue.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(client)

    def _drop(self, client: StreamClient) -> None:
        client.dropped = True
        self.dropped_clients += 1
        log.warning("dropping live-stream client %s: %d events behind", client.name,
                    client.queue.qsize())
        _replace_queue_contents(client.queue, _DROPPED)

    def connect(self, name: str, accepts: Callable[[Alert], bool]) -> StreamClient:
        """Register a client (on the event loop)."""
        client = StreamClient(name, accepts, asyncio.Queue(maxsize=self.queue_size))
        if self._closed.is_set():
            client.queue.put_nowait(_END)
        self._clients.add(client)
        return client

    def disconnect(self, client: StreamClient) -> None:
        self._clients.discard(client)

    def close(self) -> None:
        """End every open stream and make new ones end at once (server shutdown). Thread
        safe."""
        self._closed.set()
        loop = self._loop
        if loop is None:
            return

        def end_all() -> None:
            for client in list(self._clients):
                _replace_queue_contents(client.queue, _END)

        if _running_loop() is loop:
            end_all()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(end_all)

    async def events(self, client: StreamClient) -> AsyncIterator[str]:
        """The SSE text of one client: changes as ``event: alert``, a keepalive comment
        every ``keepalive_s``; ends on shutdown or when the client is dropped."""
        try:
            yield "retry: 3000\n: connected\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(client.queue.get(), self.keepalive_s)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if item is _END:
                    return
                if item is _DROPPED:
                    yield ('event: dropped\ndata: {"detail": "too slow: events were lost; '
                           'reload the alert list and reconnect"}\n\n')
                    return
                client.sent += 1
                yield item
        finally:
            self.disconnect(client)


def _replace_queue_contents(queue: asyncio.Queue[Any], item: object) -> None:
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(item)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
