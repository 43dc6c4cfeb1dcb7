"""The InfluxDB reading store: batched writes through influxdb-client, a disk spool for
outages, InfluxQL reads."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import WriteOptions, WriteType
from reactivex.scheduler import ThreadPoolScheduler

from safehood.protocol import Message

from . import _metrics
from ._base import StoredReading, StoreError
from ._influxql import InfluxQLReader
from ._line_protocol import to_line
from ._spool import DiskSpool, SpooledBatch
from .const import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EXPONENTIAL_BASE,
    DEFAULT_FLUSH_INTERVAL_S,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_DELAY_S,
    DEFAULT_MAX_RETRY_TIME_S,
    DEFAULT_RETRY_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    SPOOL_FILE_NAME,
    SPOOL_MAX_BACKOFF_S,
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


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    message = getattr(exc, "message", None) or str(exc)
    prefix = f"HTTP {status}: " if isinstance(status, int) and status > 0 else ""
    return f"{prefix}{type(exc).__name__}: {message}"[:500]


def _lines_in(body: bytes | str) -> int:
    # One message a line; newlines inside values are escaped by the line builder.
    if isinstance(body, bytes):
        return body.count(b"\n") + 1
    return body.count("\n") + 1


class InfluxReadingStore:
    """Readings in InfluxDB (1.8+ for ``/api/v2/write``, 2.x, 3.x).

    Writes go through influxdb-client's batching ``WriteApi``: :meth:`write` turns the
    messages into line protocol, journals them in the disk spool (``spool_path``, SQLite)
    and hands them over; batches of ``batch_size`` lines (or what ``flush_interval_s``
    collected) are sent from the client's own thread and retried with exponential backoff.
    A batch that still fails with a retryable error goes to the spool's pending table and
    is re-submitted once ``/ping`` answers again; until the spool is empty, new writes go
    straight to it instead of queueing behind retries in memory. A batch refused for good
    (4xx) is kept in the spool's ``rejected`` table and counted. What a crash leaves in the
    journal is re-submitted at the next start, so once :meth:`write` returns a message is
    not lost to a crash or an outage. Points are keyed by measurement, tags and millisecond
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
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_interval_s: float = DEFAULT_RETRY_INTERVAL_S,
        max_retry_delay_s: float = DEFAULT_MAX_RETRY_DELAY_S,
        max_retry_time_s: float = DEFAULT_MAX_RETRY_TIME_S,
        exponential_base: int = DEFAULT_EXPONENTIAL_BASE,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if batch_size <= 0 or flush_interval_s <= 0 or max_retries < 0 or timeout_s <= 0:
            raise ValueError(
                "batch_size, flush_interval_s and timeout_s must be positive, max_retries >= 0"
            )
        self.url = url.rstrip("/")
        self.org = org
        self.bucket = bucket
        database, _, retention_policy = bucket.partition("/")
        self._retry_interval_s = retry_interval_s
        # Long enough for a batch to wait its window, use up its retries and be spooled.
        self._default_flush_timeout_s = (
            flush_interval_s + max_retry_time_s + (max_retries + 2) * timeout_s + 5.0
        )
        self._cond = threading.Condition()
        self._pending = 0  # lines handed to the WriteApi and not yet written or spooled
        # Journal ids of the batches in the WriteApi with their unanswered lines, oldest
        # first: the client answers for lines in the order they were handed over.
        self._inflight: deque[list[int]] = deque()
        self._submit_lock = threading.Lock()
        self._closed = False
        self._spool_lock = threading.Lock()
        self.spool = DiskSpool(spool_path)
        # While the spool holds anything, new writes join it rather than pile up in memory.
        self._spool_first = self.spool.pending_messages > 0
        _metrics.SPOOL_DEPTH.set(self.spool.pending_messages)

        self._reader = InfluxQLReader(
            self.url, token, database, retention_policy or None, timeout_s
        )
        self._client = InfluxDBClient(
            url=self.url, token=token or "", org=org, timeout=int(timeout_s * 1000)
        )
        # A scheduler of our own: WriteOptions' default one is shared by every client.
        self._scheduler = ThreadPoolScheduler(1)
        self.write_options = WriteOptions(
            write_type=WriteType.batching,
            batch_size=batch_size,
            flush_interval=int(flush_interval_s * 1000),
            retry_interval=int(retry_interval_s * 1000),
            max_retries=max_retries,
            max_retry_delay=int(max_retry_delay_s * 1000),
            max_retry_time=int(max_retry_time_s * 1000),
            exponential_base=exponential_base,
            max_close_wait=int(self._default_flush_timeout_s * 1000),
            write_scheduler=self._scheduler,
        )
        self._write_api = self._client.write_api(
            write_options=self.write_options,
            success_callback=self._on_success,
            error_callback=self._on_error,
            retry_callback=self._on_retry,
        )
        # The spool is re-submitted synchronously, one batch at a time, without client
        # retries: the drain loop does its own backoff.
        self._resubmit_api = self._client.write_api(
            write_options=WriteOptions(write_type=WriteType.synchronous, max_retries=0)
        )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._drainer = threading.Thread(
            target=self._drain_loop, name="influx-spool-drainer", daemon=True
        )
        self._drainer.start()

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
        """Hand a batch to the background writer (or the spool while InfluxDB is away).

        Returns before the batch is stored; :meth:`flush` waits. Raises
        :class:`StoreError` only when the store is closed or the spool cannot be written.
        """
        if not messages:
            return
        lines = [to_line(m).encode() for m in messages]
        body = b"\n".join(lines)
        if self._closed:
            raise StoreError("the InfluxDB store is closed", retryable=False)
        if self._spool_first:
            with self._spool_lock:
                if self._spool_first:
                    self._spool_put(body, len(lines), "InfluxDB was unavailable")
                    return
        with self._submit_lock:
            if self._closed:
                raise StoreError("the InfluxDB store is closed", retryable=False)
            # Journaled first: a crash before InfluxDB answers loses nothing (see DiskSpool).
            try:
                journal_id = self.spool.journal(body, len(lines))
            except Exception as exc:
                raise StoreError(
                    f"cannot write to the spool {self.spool.path}: {exc}", retryable=True
                ) from exc
            with self._cond:
                self._pending += len(lines)
                self._inflight.append([journal_id, len(lines)])
            self._write_api.write(self.bucket, self.org, lines, _MS)

    def _spool_put(self, body: bytes, messages: int, reason: str) -> None:
        try:
            self.spool.put(body, messages, reason)
        except Exception as exc:
            raise StoreError(
                f"cannot write to the spool {self.spool.path}: {exc}", retryable=True
            ) from exc
        _metrics.SPOOLED.inc(messages)
        _metrics.SPOOL_DEPTH.set(self.spool.pending_messages)
        self._wake.set()

    def _done(self, lines: int, *, settle: bool = True) -> None:
        """``lines`` more lines were answered for; forget the journal rows now complete
        (unless they could not be kept elsewhere: then the next start recovers them)."""
        complete: list[int] = []
        with self._cond:
            self._pending -= lines
            while lines > 0 and self._inflight:
                head = self._inflight[0]
                taken = min(lines, head[1])
                head[1] -= taken
                lines -= taken
                if head[1] == 0:
                    complete.append(head[0])
                    self._inflight.popleft()
            if self._pending <= 0:
                self._cond.notify_all()
        if settle and complete:
            try:
                self.spool.settle(complete)
            except Exception:
                log.exception("cannot clear %d batches from the journal", len(complete))

    def _on_success(self, _conf: tuple[str, str, str], data: bytes | str) -> None:
        lines = _lines_in(data)
        _metrics.WRITTEN.labels("influx").inc(lines)
        self._done(lines)

    def _on_error(self, _conf: tuple[str, str, str], data: bytes | str, exc: Exception) -> None:
        body = data if isinstance(data, bytes) else data.encode()
        lines = _lines_in(body)
        reason = _describe(exc)
        kept = False
        try:
            if _is_retryable(exc):
                log.warning("InfluxDB did not take %d messages, spooling them: %s", lines, reason)
                with self._spool_lock:
                    self._spool_put(body, lines, reason)
                    self._spool_first = True
            else:
                log.error("InfluxDB refused %d messages: %s", lines, reason)
                _metrics.REJECTED.inc(lines)
                self.spool.reject(body, lines, reason)
            kept = True
        except Exception:
            # Their journal rows stay: the next start re-submits them.
            log.exception("could not spool %d messages InfluxDB did not take", lines)
        finally:
            self._done(lines, settle=kept)

    def _on_retry(self, _conf: tuple[str, str, str], _data: Any, exc: Exception) -> None:
        _metrics.RETRIES.inc()
        log.info("InfluxDB write will be retried: %s", _describe(exc))

    def flush(self, timeout_s: float | None = None) -> None:
        """Block until every message handed to :meth:`write` is in InfluxDB or the spool.

        It does not wait for the spool to drain (see :attr:`spooled`).
        """
        timeout = self._default_flush_timeout_s if timeout_s is None else timeout_s
        with self._cond:
            if not self._cond.wait_for(lambda: self._pending <= 0, timeout):
                raise StoreError(
                    f"{self._pending} messages still on their way to InfluxDB after {timeout:.0f}s",
                    retryable=True,
                )

    @property
    def spooled(self) -> int:
        """Messages in the disk spool, waiting for InfluxDB to come back."""
        return self.spool.pending_messages

    # -- the spool ---------------------------------------------------------------------------

    def _drain_loop(self) -> None:
        backoff = self._retry_interval_s
        while not self._stop.is_set():
            self._wake.clear()
            try:
                batch = self.spool.oldest()
            except Exception:
                log.exception("cannot read the spool %s", self.spool.path)
                batch = None
            if batch is None:
                with self._spool_lock:
                    if self.spool.pending_messages == 0:
                        self._spool_first = False
                self._wake.wait()
                backoff = self._retry_interval_s
                continue
            if self._resubmit(batch):
                backoff = self._retry_interval_s
            else:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, SPOOL_MAX_BACKOFF_S)

    def _resubmit(self, batch: SpooledBatch) -> bool:
        """Send one spooled batch; False when InfluxDB is (still) away."""
        if not self._reader.ping():
            return False
        try:
            self._resubmit_api.write(self.bucket, self.org, batch.body, _MS)
        except Exception as exc:
            if _is_retryable(exc):
                log.info("spooled batch not taken yet: %s", _describe(exc))
                return False
            log.error("InfluxDB refused %d spooled messages: %s", batch.messages, _describe(exc))
            _metrics.REJECTED.inc(batch.messages)
            self.spool.move_to_rejected(batch, _describe(exc))
        else:
            self.spool.remove(batch)
            _metrics.RESUBMITTED.inc(batch.messages)
            _metrics.WRITTEN.labels("influx").inc(batch.messages)
        _metrics.SPOOL_DEPTH.set(self.spool.pending_messages)
        return True

    # -- reading -----------------------------------------------------------------------------

    def query(
        self, device_id: str, start_ms: int, end_ms: int, *, limit: int = 10_000
    ) -> list[StoredReading]:
        """Readings of one device with ``start_ms <= ts < end_ms``, oldest first, across
        measurements."""
        self._check_open()
        return self._reader.query(device_id, start_ms, end_ms, limit)

    def count(self, *, site: str | None = None, channel: str | None = None) -> int:
        """How many messages InfluxDB holds (optionally of one site or channel)."""
        self._check_open()
        return self._reader.count(site, channel)

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
        """Write what is batched (or spool it), stop the drain loop, release connections.

        What is still in the spool stays there for the next start. Idempotent.
        """
        with self._submit_lock:
            if self._closed:
                return
            self._closed = True
        # Closing the batching WriteApi sends what it holds and waits for the callbacks.
        self._write_api.close()
        self._stop.set()
        self._wake.set()
        self._drainer.join(timeout=30)
        self._resubmit_api.close()
        self._client.close()
        self._reader.close()
        self._scheduler.executor.shutdown(wait=False)
        self.spool.close()

    def __enter__(self) -> InfluxReadingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"InfluxReadingStore({self.url!r}, bucket={self.bucket!r})"
