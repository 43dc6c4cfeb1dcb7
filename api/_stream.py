"""The live stream of alert changes (Server-Sent Events), fanned out per client.

Alert changes arrive on the alerting threads; :meth:`AlertBroadcaster.publish` hands them to
the event loop (``call_soon_threadsafe``), which puts them on each client's bounded queue.
A client that falls ``queue_size`` events behind is dropped, loudly, rather than holding
memory or slowing everyone else; its browser's EventSource reconnects and reloads.

Each client receives the alert as its role may see it (``_disclosure.alert_document_view``, the view
the REST routes use too). Revoking a token ends its streams at once (:meth:`end_token`);
a token revoked or expired elsewhere (another process) is noticed at the next keepalive.
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

from ._disclosure import alert_document_view
from ._roles import Role
from .const import STREAM_KEEPALIVE_S, STREAM_QUEUE_SIZE

log = logging.getLogger(__name__)

_END = object()
_DROPPED = object()
_REVOKED = object()
_REVOKED_EVENT = 'event: revoked\ndata: {"detail": "the token was revoked or expired"}\n\n'


@dataclass(eq=False, slots=True)
class StreamClient:
    """One open stream: whose (token and role), which alerts it may see, its queue of
    encoded events, and ``authorized``, asked at every keepalive whether the token is
    still good."""

    name: str
    token_id: str
    role: Role
    accepts: Callable[[Alert], bool]
    queue: asyncio.Queue[Any]
    authorized: Callable[[], bool] = lambda: True
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
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is gone
            loop.call_soon_threadsafe(self._fan_out, event_id, kind, alert)

    def _fan_out(self, event_id: int, kind: str, alert: Alert) -> None:
        messages: dict[Role, str] = {}  # one encoding per role, not per client
        document = alert.model_dump(mode="json")
        for client in list(self._clients):
            if client.dropped:
                continue
            try:
                if not client.accepts(alert):
                    continue
            except Exception:
                log.exception("stream filter of %s failed", client.name)
                continue
            message = messages.get(client.role)
            if message is None:
                view = alert_document_view(document, client.role)
                data = orjson.dumps({"kind": kind, "alert": view}).decode()
                message = messages[client.role] = f"id: {event_id}\nevent: alert\ndata: {data}\n\n"
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

    def connect(self, name: str, token_id: str, role: Role, accepts: Callable[[Alert], bool],
                authorized: Callable[[], bool] = lambda: True) -> StreamClient:
        """Register a client (on the event loop)."""
        client = StreamClient(name, token_id, role, accepts,
                              asyncio.Queue(maxsize=self.queue_size), authorized)
        if self._closed.is_set():
            client.queue.put_nowait(_END)
        self._clients.add(client)
        return client

    def end_token(self, token_id: str) -> None:
        """End the open streams of a token (it was revoked). Thread safe: from another
        thread the streams end as soon as the event loop runs."""

        def end() -> None:
            for client in list(self._clients):
                if client.token_id == token_id:
                    _replace_queue_contents(client.queue, _REVOKED)

        loop = self._loop
        if loop is None or _running_loop() is loop:
            end()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(end)

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
                    # A database read: off the event loop, which 200 clients' keepalives
                    # would otherwise hold up 13 times a second.
                    if not await asyncio.to_thread(client.authorized):
                        yield _REVOKED_EVENT
                        return
                    yield ": keepalive\n\n"
                    continue
                if item is _END:
                    return
                if item is _REVOKED:
                    yield _REVOKED_EVENT
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
