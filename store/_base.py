from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, Self

from safehood.protocol import Message, Scalar


class StoreError(Exception):
    """The store could not take or give readings. ``retryable`` separates a server that is
    down or busy (try again later) from a request it will never accept."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class StoredReading:
    """One stored message as read back: event time, channel and its fields.

    ``fields`` holds the readings with stable types (numbers as floats, ``seq`` and
    ``samples`` as ints), plus ``battery``, ``seq``, ``event``/``credential`` of event
    messages and the wearable's accel summary (``accel_peak_g``, ``accel_min_g``,
    ``accel_mean_g``, ``samples``, ``hz``). ``kind`` is ``None`` for a status message of a
    device the registry did not name.
    """

    ts_ms: int
    site: str
    device_id: str
    kind: str | None
    channel: str
    fields: dict[str, Scalar]
    household: str | None = None


class ReadingStore(Protocol):
    """Where validated messages are kept. Writes are idempotent: writing the same message
    (device, channel, event time) twice keeps one copy. Implementations are thread safe:
    one thread writes while others query."""

    def write(self, messages: Sequence[Message]) -> None:
        """Write a batch; raises :class:`StoreError` when it could not be stored.

        May return before the batch is stored (InfluxDB batches in the background);
        :meth:`flush` waits for it.
        """

    def flush(self, timeout_s: float | None = None) -> None:
        """Block until everything handed to :meth:`write` is stored or safely spooled.

        Raises :class:`StoreError` (retryable) when that takes longer than ``timeout_s``.
        """

    def query(
        self, device_id: str, start_ms: int, end_ms: int, *, limit: int = 10_000,
        channels: Collection[str] | None = None,
    ) -> list[StoredReading]:
        """Readings of one device with ``start_ms <= ts < end_ms``, oldest first; only
        those of ``channels`` when given (e.g. leaving out the status check-ins)."""

    def count(self, *, site: str | None = None, channel: str | None = None) -> int:
        """How many messages are stored (optionally of one site or channel)."""

    def delete_before(self, cutoff_ms: int) -> None:
        """Delete every reading with an event time before ``cutoff_ms`` (retention)."""

    def delete_devices(self, device_ids: Collection[str]) -> None:
        """Delete every reading of these devices (erasing a resident's personal data)."""

    def ping(self) -> bool:
        """True when the store answers."""

    def check(self) -> None:
        """Raise :class:`StoreError` with a one-line reason unless the store answers and
        its database can be read: for a fail-fast start."""

    def close(self) -> None:
        """Flush what is pending and release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
