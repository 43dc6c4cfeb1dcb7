"""The connection to NATS and the streams, consumers and KV bucket of the scale-out engine.

nats-py is asynchronous and ingest's service is not: :class:`JetStreamConnection` runs the
client on an event loop in a thread of its own, and the workers call into it with
:meth:`JetStreamConnection.run`. Streams and consumers are made with JetStream API requests
(plain JSON), so that every field NATS 2.11+ has (source subject transforms, priority
groups) is ours to set whatever nats-py's models know.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from safehood.config import Settings
from safehood.mqtt import connect

from . import const

T = TypeVar("T")

_NS_PER_S = 1_000_000_000


class ScaleOutError(Exception):
    """NATS refused or did not answer what the scale-out engine needs."""


def nats_servers(url: str) -> list[str]:
    """``nats://a:4222,nats://b:4222`` as the list the client takes."""
    return [part.strip() for part in url.split(",") if part.strip()]


class JetStreamConnection:
    """One NATS connection on an event loop thread; closes with :meth:`close`.

    Reconnects by itself (to any node of the cluster) for as long as it is open.
    """

    def __init__(self, url: str, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-{name}",
                                        daemon=True)
        self._thread.start()
        self.client: Client = self.run(nats.connect(
            nats_servers(url), name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            connect_timeout=5))
        self.jetstream: JetStreamContext = self.client.jetstream(
            timeout=const.JETSTREAM_API_TIMEOUT_S)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run ``coroutine`` on the connection's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout_s)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    async def api(self, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One JetStream API request (``$JS.API.<subject>``); raises :class:`ScaleOutError`
        on an error answer."""
        try:
            reply = await self.client.request(f"$JS.API.{subject}", orjson.dumps(body or {}),
                                              timeout=const.JETSTREAM_API_TIMEOUT_S)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            raise ScaleOutError(f"JetStream did not answer {subject}: {exc!r}") from exc
        answer: dict[str, Any] = orjson.loads(reply.data)
        if "error" in answer:
            raise ScaleOutError(f"JetStream refused {subject}: {answer['error']}")
        return answer

    def close(self) -> None:
        # Closing a connection to a dead cluster may fail: nothing is left to do then.
        with contextlib.suppress(Exception):
            self.run(self.client.close(), 10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def readings_transform(settings: Settings) -> dict[str, str]:
    """MQTT subjects ``<prefix>.v1.<site>.<device>.<channel>`` to
    ``sh.<partition>.<site>.<device>.<channel>``: NATS hashes the site into a partition, so
    each site's readings stay in order in one partition."""
    return {
        "src": f"{const.MQTT_SUBJECT_PREFIX}.{settings.topic_prefix}.v1.*.*.*",
        "dest": (f"{const.READINGS_SUBJECT}.{{{{partition({settings.nats_partitions},1)}}}}"
                 ".{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}"),
    }


async def _ensure_streams(connection: JetStreamConnection, settings: Settings,
                          timeout_s: float) -> KeyValue:
    replicas = settings.nats_replicas
    # Capturing the MQTT subjects directly in a stream loses acknowledged messages when its
    # leader dies (measured: issue 12); sourcing from NATS's own MQTT stream does not.
    await connection.api(f"STREAM.CREATE.{const.READINGS_STREAM}", {
        "name": const.READINGS_STREAM, "storage": "file", "num_replicas": replicas,
        "retention": "limits", "max_age": 7 * 24 * 3600 * _NS_PER_S,
        "sources": [{"name": const.MQTT_STREAM,
                     "subject_transforms": [readings_transform(settings)]}],
    })
    common = {"ack_policy": "explicit", "ack_wait": int(const.ACK_WAIT_S * _NS_PER_S),
              "max_ack_pending": 20_000, "deliver_policy": "all"}
    await connection.api(f"CONSUMER.CREATE.{const.READINGS_STREAM}.{const.INGEST_CONSUMER}", {
        "stream_name": const.READINGS_STREAM,
        "config": {"durable_name": const.INGEST_CONSUMER, **common}})
    for partition in range(settings.nats_partitions):
        name = const.DETECTOR_CONSUMER.format(partition=partition)
        await connection.api(f"CONSUMER.CREATE.{const.READINGS_STREAM}.{name}", {
            "stream_name": const.READINGS_STREAM,
            "config": {"durable_name": name, **common,
                       # One batch out at a time: while a worker that lost the pin (or
                       # died) still holds readings, nobody gets later ones; they come back
                       # first, soon after the pin moved. So a site's readings stay in order.
                       "max_ack_pending": const.FETCH_BATCH,
                       "ack_wait": int(2 * settings.nats_pin_timeout_s * _NS_PER_S),
                       "filter_subject": f"{const.READINGS_SUBJECT}.{partition}.>",
                       "priority_groups": [const.DETECTOR_GROUP],
                       "priority_policy": "pinned_client",
                       "priority_timeout": int(settings.nats_pin_timeout_s * _NS_PER_S)}})
    try:
        bucket = await connection.jetstream.key_value(const.STATE_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        bucket = await connection.jetstream.create_key_value(
            bucket=const.STATE_BUCKET, history=1, replicas=replicas)
    try:
        await connection.jetstream.key_value(const.MEMBERS_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        await connection.jetstream.create_key_value(
            bucket=const.MEMBERS_BUCKET, history=1, replicas=replicas, ttl=const.MEMBER_TTL_S)
    # Until the source's consumer on the MQTT stream is running, that stream (interest
    # retention) drops what devices publish: nothing may be accepted before.
    deadline = time.monotonic() + timeout_s
    while True:
        info = await connection.api(f"STREAM.INFO.{const.READINGS_STREAM}")
        if any(source.get("active", -1) >= 0 for source in info.get("sources", [])):
            return bucket
        if time.monotonic() > deadline:
            raise ScaleOutError(f"{const.READINGS_STREAM} does not source from "
                                f"{const.MQTT_STREAM} (has an MQTT client connected yet?)")
        await asyncio.sleep(0.1)


def ensure_streams(connection: JetStreamConnection, settings: Settings,
                   timeout_s: float = 30.0) -> None:
    """Make (or keep) the readings stream, its consumers and the detector state bucket;
    safe to call from every worker at every start. Returns once the stream sources from
    NATS's MQTT stream, which NATS makes at the first MQTT connection: when there has been
    none, this connects to ``settings.mqtt_url`` (a NATS MQTT listener) once."""
    try:
        connection.run(connection.api(f"STREAM.INFO.{const.MQTT_STREAM}"))
    except ScaleOutError:
        client = connect(settings.mqtt, f"safehood-setup-{uuid.uuid4().hex[:8]}",
                         protocol="3.1.1")
        client.disconnect()
        client.loop_stop()
    connection.run(_ensure_streams(connection, settings, timeout_s))


def reading_topic(subject: str, topic_prefix: str) -> tuple[str, str]:
    """``sh.<partition>.<site>.<device>.<channel>`` back to the MQTT topic and the site."""
    _, _, site, rest = subject.split(".", 3)
    return f"{topic_prefix}/v1/{site}/{rest.replace('.', '/')}", site
