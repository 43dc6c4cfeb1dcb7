"""The InfluxDB reading store: every batch goes through one durable log (the disk spool)
and one forwarder thread that sends it on; InfluxQL reads.

Why one log: ingest acknowledges a batch to the broker as soon as :meth:`write` returns, so
from then on the store alone must keep it, through a crash and through an outage. The
spool does both jobs with one file and one thread: :meth:`write` commits the batch to the
spool's journal and returns; the forwarder sends the journal in batches and deletes what
InfluxDB took; when InfluxDB is away the journal moves to the spool's outage buffer, which
the forwarder re-sends once ``/ping`` answers. There is no second copy in memory, no
in-flight bookkeeping between a client-side batching queue and the spool, and no retry
loop beside the spool's own.

The buffer drains in requests of up to ``drain_batch_size`` messages, however small the
batches it was filled with, and ``/ping`` is asked only while InfluxDB is away: the drain
outruns live traffic, which meanwhile queues behind it. The log says when InfluxDB went
away, when it came back and when the buffer was empty again; nothing per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import WriteOptions, WriteType

from safehood.protocol import Message

from . import _metrics
from ._base import ReadingStore, StoredReading, StoreError
from ._influxql import InfluxQLReader, quote_string
from ._line_protocol import to_line
from ._spool import DiskSpool, SpooledBatch
from .const import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_DRAIN_BATCH_SIZE,
    DEFAULT_FLUSH_INTERVAL_S,
    DEFAULT_MAX_RETRY_DELAY_S,
    DEFAULT_RETRY_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    SPOOL_FILE_NAME,
)

if TYPE_CHECKING:
    from safehood.config import Settings

log = logging.getLogger(__name__)

# influxdb-client annotates precision as WritePrecision but its values are plain strings.
_MS = cast(WritePrecision, WritePrecision.MS)


def _is_retryable(exc: BaseException) -> bool:
    """Network trouble, 429 and 5xx may pass; any other HTTP status will not."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status > 0:
        return status == 429 or status >= 500
    return True


def _quoted(value: str) -> str:
    """A string inside an InfluxDB 2 delete predicate's double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    message = getattr(exc, "message", None) or str(exc)
    prefix = f"HTTP {status}: " if isinstance(status, int) and status > 0 else ""
    return f"{prefix}{type(exc).__name__}: {message}"[:500]


class InfluxReadingStore(ReadingStore):
    """Readings in InfluxDB (1.8+ for ``/api/v2/write``, 2.x, 3.x).

    :meth:`write` turns the messages into line protocol and commits them to the disk spool
    (``spool_path``, SQLite); once it returns, neither a crash nor an outage loses them. A
    forwarder thread sends what the spool's journal holds, ``batch_size`` lines at a time
    or what ``flush_interval_s`` gathered, through influxdb-client. A batch that fails for
    a reason that may pass (network, 5xx) moves with the rest of the journal to the spool's
    outage buffer, and what is written meanwhile joins it; the forwarder re-sends it oldest
    first, ``drain_batch_size`` messages a request, once ``/ping`` answers, backing off from
    ``retry_interval_s`` to ``max_retry_delay_s``. A batch refused for good (4xx) is kept
    in the spool's ``rejected`` table and counted. Points are keyed by measurement, tags and millisecond
    time, so re-writing a message overwrites it: writes are idempotent.

    Reads use InfluxQL on ``/query`` over httpx. Thread safe.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        org: str,
        bucket: str,
        *,
        spool_path: str | Path,
        batch_size: int = DEFAULT_BATCH_SIZE,
        drain_batch_size: int = DEFAULT_DRAIN_BATCH_SIZE,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        retry_interval_s: float = DEFAULT_RETRY_INTERVAL_S,
        max_retry_delay_s: float = DEFAULT_MAX_RETRY_DELAY_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if min(batch_size, drain_batch_size, flush_interval_s, timeout_s, retry_interval_s) <= 0:
            raise ValueError("batch_size, drain_batch_size, flush_interval_s, retry_interval_s"
                             " and timeout_s must be positive")
        self.url = url.rstrip("/")
        self.org = org
        self.bucket = bucket
        database, _, retention_policy = bucket.partition("/")
        self.batch_size = batch_size
        self.drain_batch_size = max(drain_batch_size, batch_size)
        self.flush_interval_s = flush_interval_s
        self._retry_interval_s = retry_interval_s
        self._max_retry_delay_s = max(max_retry_delay_s, retry_interval_s)
        # Long enough for the send under way and one more.
        self._default_flush_timeout_s = flush_interval_s + 2 * timeout_s + 5.0
        self.spool = DiskSpool(spool_path)
        _metrics.SPOOL_DEPTH.set(self.spool.pending_messages)
        # Whether InfluxDB is known to be away (a buffer left by the last run: not known to
        # be back), and since when the buffer drains: the forwarder's state, for the log.
        self._away = self.spool.pending_messages > 0
        self._drain_started: float | None = None
        self._reader = InfluxQLReader(
            self.url, token, database, retention_policy or None, timeout_s
        )
        self._client = InfluxDBClient(
            url=self.url, token=token or "", org=org, timeout=int(timeout_s * 1000)
        )
        # One request per send and no retries of the client's own: the spool is the retry.
        self._write_api = self._client.write_api(
            write_options=WriteOptions(write_type=WriteType.synchronous, max_retries=0)
        )
        # Signalled when something is written, a flush waits, the store closes, or the
        # journal was sent.
        self._changed = threading.Condition()
        self._flushes = 0
        self._closed = False
        self._forwarder = threading.Thread(
            target=self._forward_loop, name="influx-forwarder", daemon=True
        )
        self._forwarder.start()

    @classmethod
    def from_settings(cls, settings: Settings) -> InfluxReadingStore:
        """The store ``settings`` describe (``influx_*``, ``store_*``, spool in ``data_dir``)."""
        if settings.influx_url is None:
            raise ValueError("settings name no InfluxDB (SAFEHOOD_INFLUX_URL is not set)")
        token = settings.influx_token.get_secret_value() if settings.influx_token else None
        return cls(
            settings.influx_url, token, settings.influx_org, settings.influx_bucket,
            spool_path=settings.data_dir / SPOOL_FILE_NAME,
            batch_size=settings.store_batch_size,
            flush_interval_s=settings.store_flush_interval_s,
        )

    # -- writing ---------------------------------------------------------------------------

    def write(self, messages: Sequence[Message]) -> None:
        """Commit a batch to the spool for the forwarder to send.

        Returns before InfluxDB has it; :meth:`flush` waits. Raises :class:`StoreError`
        when the store is closed or the spool cannot be written.
        """
        if not messages:
            return
        if self._closed:
            raise StoreError("the InfluxDB store is closed", retryable=False)
        body = b"\n".join(to_line(m).encode() for m in messages)
        try:
            spooled = self.spool.add(body, len(messages))
        except Exception as exc:
            raise StoreError(
                f"cannot write to the spool {self.spool.path}: {exc}", retryable=True
            ) from exc
        if spooled:
            _metrics.SPOOLED.inc(len(messages))
            _metrics.SPOOL_DEPTH.set(self.spool.pending_messages)
        with self._changed:
            self._changed.notify_all()

    def flush(self, timeout_s: float | None = None) -> None:
        """Block until every message handed to :meth:`write` is in InfluxDB or waits in the
        spool's outage buffer. It does not wait for that buffer to drain (see :attr:`spooled`).
        """
        timeout = self._default_flush_timeout_s if timeout_s is None else timeout_s
        with self._changed:
            self._flushes += 1
            self._changed.notify_all()
            try:
                sent = self._changed.wait_for(
                    lambda: self.spool.journaled_messages() == 0, timeout)
            finally:
                self._flushes -= 1
        if not sent:
            raise StoreError(
                f"{self.spool.journaled_messages()} messages still on their way to InfluxDB"
                f" after {timeout:.0f}s", retryable=True)

    @property
    def spooled(self) -> int:
        """Messages in the spool's outage buffer, waiting for InfluxDB to come back."""
        return self.spool.pending_messages

    # -- the forwarder -----------------------------------------------------------------------

    def _forward_loop(self) -> None:
        backoff = self._retry_interval_s
        while True:
            try:
                if self.spool.pending_messages:
                    if self._closed:
                        return  # it waits in the spool for the next start
                    if self._drain():
                        backoff = self._retry_interval_s
                    else:
                        self._wait(backoff)
                        backoff = min(backoff * 2, self._max_retry_delay_s)
                elif self.spool.journaled_messages():
                    self._wait(self.flush_interval_s, batch_ready=True)
                    self._send_journal()
                elif self._closed:
                    return
                else:
                    self._wait(None)
            except Exception:
                log.exception("cannot use the spool %s", self.spool.path)
                self._wait(backoff)
                backoff = min(backoff * 2, self._max_retry_delay_s)

    def _wait(self, timeout_s: float | None, *, batch_ready: bool = False) -> None:
        """Sleep until ``timeout_s`` passed or the store closes; with ``batch_ready``, also
        until a full batch is journaled or a flush waits; with no timeout, until written to."""
        def wake() -> bool:
            if self._closed:
                return True
            if batch_ready:
                return bool(self._flushes) or self.spool.journaled_messages() >= self.batch_size
            return timeout_s is None and bool(
                self.spool.journaled_messages() or self.spool.pending_messages)

        with self._changed:
            self._changed.wait_for(wake, timeout_s)

    def _post(self, body: bytes) -> Exception | None:
        try:
            self._write_api.write(self.bucket, self.org, body, _MS)
        except Exception as exc:
            return exc
        return None

    def _send_journal(self) -> None:
        batches = self.spool.journaled(self.batch_size)
        messages = sum(b.messages for b in batches)
        error = self._post(b"\n".join(b.body for b in batches))
        if error is None:
            self.spool.remove(batches)
            _metrics.WRITTEN.labels("influx").inc(messages)
        elif _is_retryable(error):
            _metrics.RETRIES.inc()
            self._went_away(error)
            _metrics.SPOOLED.inc(self.spool.spill(_describe(error)))
            _metrics.SPOOL_DEPTH.set(self.spool.pending_messages)
        else:
            self._reject_each(batches, error)
        with self._changed:
            self._changed.notify_all()

    def _drain(self) -> bool:
        """Send the oldest part of the outage buffer, up to ``drain_batch_size`` messages in
        one request; False when InfluxDB is (still) away."""
        if self._away and not self._reader.ping():
            return False
        batches = self.spool.pending(self.drain_batch_size)
        if not batches:
            return True
        error = self._post(b"\n".join(b.body for b in batches))
        if error is not None and _is_retryable(error):
            _metrics.RETRIES.inc()
            self._went_away(error)
            return False
        self._came_back()
        if error is None:
            messages = sum(b.messages for b in batches)
            self.spool.remove(batches)
            _metrics.RESUBMITTED.inc(messages)
            _metrics.WRITTEN.labels("influx").inc(messages)
        else:
            self._reject_each(batches, error)
        _metrics.SPOOL_DEPTH.set(self.spool.pending_messages)
        if not self.spool.pending_messages and self._drain_started is not None:
            log.info("InfluxDB spool drained in %.1f s", time.monotonic() - self._drain_started)
            self._drain_started = None
        return True

    def _went_away(self, error: Exception) -> None:
        if not self._away:
            self._away = True
            log.warning("InfluxDB unavailable (%s): spooling to %s until it is back",
                        _describe(error), self.spool.path)

    def _came_back(self) -> None:
        if self._away:
            self._away = False
            if self._drain_started is None:
                self._drain_started = time.monotonic()
            log.info("InfluxDB is back: draining %d spooled messages", self.spool.pending_messages)

    def _reject_each(self, batches: list[SpooledBatch], error: Exception) -> None:
        """A request refused for good: alone, the batch goes to ``rejected``; several are
        sent again one by one, so that only the refused ones are kept there."""
        if len(batches) == 1:
            self._reject(batches, error)
            return
        for batch in batches:
            alone = self._post(batch.body)
            if alone is None:
                self.spool.remove([batch])
                _metrics.WRITTEN.labels("influx").inc(batch.messages)
            elif _is_retryable(alone):
                return  # away again: the rest waits in the spool
            else:
                self._reject([batch], alone)

    def _reject(self, batches: list[SpooledBatch], error: Exception) -> None:
        messages = sum(b.messages for b in batches)
        log.error("InfluxDB refused %d messages: %s", messages, _describe(error))
        _metrics.REJECTED.inc(messages)
        self.spool.move_to_rejected(batches, _describe(error))

    # -- reading -----------------------------------------------------------------------------

    def query(
        self, device_id: str, start_ms: int, end_ms: int, *, limit: int = 10_000,
        channels: Collection[str] | None = None,
    ) -> list[StoredReading]:
        """Readings of one device with ``start_ms <= ts < end_ms``, oldest first, across
        measurements; only those of ``channels`` when given."""
        self._check_open()
        return self._reader.query(device_id, start_ms, end_ms, limit, channels)

    def count(self, *, site: str | None = None, channel: str | None = None) -> int:
        """How many messages InfluxDB holds (optionally of one site or channel)."""
        self._check_open()
        return self._reader.count(site, channel)

    def delete_before(self, cutoff_ms: int) -> None:
        """Delete readings with ``ts < cutoff_ms`` from the bucket (meant for safehood alone).
        On InfluxDB 2 a bucket retention period does the same job server-side."""
        self.flush()
        self._reader.delete(f"time < {int(cutoff_ms)}ms", self.org, self.bucket, "", cutoff_ms)

    def delete_devices(self, device_ids: Collection[str]) -> None:
        """Delete every reading of ``device_ids``, one request per device."""
        self.flush()
        for device_id in sorted(device_ids):
            self._reader.delete(f"device_id = {quote_string(device_id)}", self.org, self.bucket,
                                f'device_id="{_quoted(device_id)}"', None)

    def ping(self) -> bool:
        """True when InfluxDB answers ``/ping``."""
        return not self._closed and self._reader.ping()

    def check(self) -> None:
        """Raise :class:`StoreError` with the reason unless InfluxDB answers and the
        database (bucket, through DBRP on 2.x) can be queried."""
        self._check_open()
        self._reader.check()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the InfluxDB store is closed", retryable=False)

    def close(self) -> None:
        """Send what is journaled (or move it to the outage buffer), stop the forwarder,
        release connections. What waits in the spool stays there for the next start.
        Idempotent."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
        self._forwarder.join(timeout=self._default_flush_timeout_s)
        self._write_api.close()
        self._client.close()
        self._reader.close()
        self.spool.close()

    def __repr__(self) -> str:
        return f"InfluxReadingStore({self.url!r}, bucket={self.bucket!r})"
