"""The ingest worker: ingest's own :class:`~ingest.IngestService` (validate, store,
dead-letter), fed from the readings stream by a competing consumer. Any number of them share
the stream's ``ingest`` consumer; each reading is acknowledged once the store took it."""

from __future__ import annotations

import time
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import Engine

from safehood.config import Settings
from safehood.ingest import DeadLetterRecorder, IngestService, RawMessage, Received
from safehood.protocol import Registry, deadletter_topic
from safehood.store import ReadingStore

from . import const
from ._jetstream import JetStreamConnection, reading_topic


class JetStreamSource:
    """A :class:`~ingest.ReadingSource` on the readings stream's ``ingest`` consumer: a
    batch is delivered again (to any worker) when it is not acknowledged within the ack wait.
    """

    def __init__(self, connection: JetStreamConnection, topic_prefix: str) -> None:
        self._connection = connection
        self._topic_prefix = topic_prefix
        self._subscription: JetStreamContext.PullSubscription = connection.run(
            connection.jetstream.pull_subscribe_bind(const.INGEST_CONSUMER,
                                                     const.READINGS_STREAM))

    def receive(self, max_messages: int, timeout_s: float) -> Received:
        try:
            pulled = self._connection.run(
                self._subscription.fetch(max_messages, timeout=max(timeout_s, 0.05)))
        except TimeoutError:
            pulled = []
        except Exception:
            # The cluster is failing over: nothing taken, ask again next time.
            time.sleep(min(timeout_s, 0.5))
            pulled = []
        now_ms = time.time_ns() // 1_000_000
        raw = [RawMessage(reading_topic(m.subject, self._topic_prefix)[0], m.data, now_ms)
               for m in pulled]
        return Received(raw, lambda: self._ack(pulled))

    def _ack(self, messages: list[Msg]) -> None:
        async def ack_all() -> None:
            for message in messages:
                await message.ack()

        self._connection.run(ack_all())

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish on an MQTT topic (dead letters) through NATS: MQTT subscribers see it."""
        self._connection.run(self._connection.client.publish(topic.replace("/", "."), payload))


def build_ingest_worker(settings: Settings, connection: JetStreamConnection, engine: Engine,
                        store: ReadingStore, registry: Callable[[], Registry]) -> IngestService:
    """An ingest worker on ``connection`` writing to ``store`` and to the database of
    ``engine`` (dead letters), checking readings against the registry ``registry()`` gives
    at the time; the caller starts and stops it and closes what it passed."""
    source = JetStreamSource(connection, settings.topic_prefix)
    deadletters = DeadLetterRecorder(
        engine, topic=deadletter_topic(settings.topic_prefix), publish=source.publish,
        max_payload=settings.deadletter_max_payload_bytes)
    return IngestService(
        source, store, deadletters, registry=registry,
        topic_prefix=settings.topic_prefix, batch_size=settings.store_batch_size,
        dedup_window=settings.dedup_window, dedup_retention_s=settings.dedup_retention_s)
