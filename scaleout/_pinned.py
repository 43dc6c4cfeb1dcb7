"""Pulling from a consumer with a pinned priority group (NATS 2.11+), by plain JetStream API
requests: nats-py 2.16 has no priority-group API yet. Replace this module's insides when it
has; nothing else knows how pinning is spoken.

Every worker keeps asking each partition's consumer for messages; the server hands them to
one instance only (the pinned one, told by the ``Nats-Pin-Id`` header of what it gets) and
answers the others' requests with nothing. When the pinned instance stops asking for longer
than the consumer's ``priority_timeout`` (it died), the server pins another: failover by the
server, not by us.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

_PIN_HEADER = "Nats-Pin-Id"
_STATUS_HEADER = "Status"
# 404 no messages, 408 request expired, 409 consumer/leader changes: ask again.
# 423: our pin id is stale (another instance holds the pin now).
_PIN_LOST = "423"
_NS_PER_S = 1_000_000_000


@dataclass(slots=True)
class Pulled:
    """What one request brought: messages in stream order, and whether this instance holds
    the pin (it does when it got messages, until the server says otherwise)."""

    messages: list[Msg]
    pinned: bool
    # The server pinned us anew (another instance may have held the partition meanwhile).
    new_pin: bool = False


class PinnedConsumer:
    """Pull requests for ``consumer`` of ``stream`` in priority ``group``; one per partition
    per worker, used from one task."""

    def __init__(self, client: Client, stream: str, consumer: str, group: str) -> None:
        self._client = client
        self._subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._unpin_subject = f"$JS.API.CONSUMER.UNPIN.{stream}.{consumer}"
        self._group = group
        self.pin_id: str | None = None

    async def pull(self, batch: int, expires_s: float) -> Pulled:
        """Wait up to ``expires_s`` for up to ``batch`` messages."""
        request: dict[str, object] = {"batch": batch, "expires": int(expires_s * _NS_PER_S),
                                      "group": self._group}
        if self.pin_id is not None:
            request["id"] = self.pin_id
        inbox = self._client.new_inbox()
        subscription = await self._client.subscribe(inbox)
        messages: list[Msg] = []
        previous = self.pin_id
        try:
            await self._client.publish(self._subject, orjson.dumps(request), reply=inbox)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + expires_s + 1.0
            while len(messages) < batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    message = await subscription.next_msg(timeout=remaining)
                except TimeoutError:
                    break
                headers = message.headers or {}
                status = headers.get(_STATUS_HEADER)
                if status is not None:
                    if status == _PIN_LOST:
                        self.pin_id = None
                    break
                pin = headers.get(_PIN_HEADER)
                if pin:
                    self.pin_id = pin
                messages.append(message)
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        return Pulled(messages, self.pin_id is not None,
                      new_pin=self.pin_id is not None and self.pin_id != previous)

    async def unpin(self) -> None:
        """Give the partition up (a clean stop, or rebalancing): the server pins another
        waiting instance at once instead of after the priority timeout."""
        if self.pin_id is None:
            return
        self.pin_id = None
        with contextlib.suppress(Exception):
            await self._client.request(self._unpin_subject,
                                       orjson.dumps({"group": self._group}), timeout=5)
