"""Where alerts, their history, silences and the notification log are kept.

:class:`AlertRepository` is the interface; :class:`InMemoryAlertRepository` keeps everything in
process memory (offline runs, unit tests), ``safehood.database.SqlAlertRepository`` in the database.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Sequence

from safehood.protocol import AlertStatus, AlertType

from ._models import (
    OPEN_STATUSES,
    AlertQuery,
    AlertRecord,
    DeliveryAttempt,
    HistoryEntry,
    Silence,
    open_key,
)

# One change for :meth:`AlertRepository.commit_many`: before, after, its history entries and
# the idempotent key of the decision that made it (or None).
CommitItem = tuple[AlertRecord | None, AlertRecord, Sequence[HistoryEntry], str | None]


class AlertRepository(ABC):
    """Storage of the alert path. Implementations are thread safe.

    The one-open-alert-per-(type, subject) rule and the revision check of :meth:`commit` are
    enforced by the storage itself, so that several managers (threads or processes) sharing
    one store never create two open alerts for the same thing or lose an update.
    """

    @abstractmethod
    def get(self, alert_id: str) -> AlertRecord | None:
        """The alert with this id, or ``None``."""

    @abstractmethod
    def get_open(self, alert_type: AlertType, subject: str) -> AlertRecord | None:
        """The open (firing or acknowledged) alert of (type, subject), or ``None``."""

    @abstractmethod
    def commit(self, before: AlertRecord | None, after: AlertRecord,
               events: Sequence[HistoryEntry] = (), key: str | None = None) -> bool:
        """Store ``after`` and append ``events`` to its history, atomically.

        ``before is None``: insert a new alert; returns ``False`` when another open alert of
        the same (type, subject) exists. Otherwise update, but only if the stored revision is
        still ``before.revision``; returns ``False`` when someone else changed it meanwhile.
        ``after.revision`` must be one more than ``before``'s (1 for a new alert).
        With ``key`` (an idempotent decision's), the key is recorded in the same transaction,
        and nothing is stored (``False``) when it was recorded before: see :meth:`applied`.
        """

    def commit_many(self, items: Sequence[CommitItem]) -> list[bool]:
        """:meth:`commit` each ``(before, after, events, key)`` in order; one result each.

        Each item succeeds or fails on its own, exactly as :meth:`commit` says; a store may
        write them all in one transaction (the SQL repository does), so that a burst of
        alert changes costs one commit instead of one each.
        """
        return [self.commit(before, after, events, key) for before, after, events, key in items]

    @abstractmethod
    def applied(self, key: str) -> bool:
        """Whether a change with this idempotent key has been committed."""

    @abstractmethod
    def query(self, query: AlertQuery) -> list[AlertRecord]:
        """Alerts matching ``query``, ordered and paged as it says."""

    @abstractmethod
    def count(self, query: AlertQuery) -> int:
        """How many alerts match ``query`` (ignoring its limit and offset)."""

    def count_by_type_and_status(self) -> dict[tuple[AlertType, AlertStatus], int]:
        """How many alerts there are of each (type, status); pairs without alerts may be
        missing. A store may count them all in one pass (the SQL repository does)."""
        counts = {(t, s): self.count(AlertQuery(types=(t,), statuses=(s,)))
                  for t in AlertType for s in AlertStatus}
        return {pair: n for pair, n in counts.items() if n}

    @abstractmethod
    def count_started(self, alert_type: AlertType, subject: str, since_ms: int) -> int:
        """How many alerts of (type, subject) started at or after ``since_ms``."""

    @abstractmethod
    def history(self, alert_ids: Sequence[str]) -> dict[str, list[HistoryEntry]]:
        """History of each alert, oldest first (alerts without history may be missing)."""

    @abstractmethod
    def add_silence(self, silence: Silence) -> None:
        """Store a silence (its ``id`` must be set and new)."""

    @abstractmethod
    def list_silences(self, active_at_ms: int | None = None) -> list[Silence]:
        """Every silence, or only those active at ``active_at_ms``; by start time."""

    @abstractmethod
    def delete_silence(self, silence_id: str) -> bool:
        """Remove a silence; ``False`` if there was none with this id."""

    @abstractmethod
    def record_attempt(self, attempt: DeliveryAttempt, event: HistoryEntry | None = None) -> None:
        """Append to the notification log, and ``event`` to the alert's history."""

    @abstractmethod
    def attempts(self, alert_ids: Sequence[str]) -> dict[str, list[DeliveryAttempt]]:
        """Notification log of each alert, oldest first."""

    @abstractmethod
    def delivered(self, key: str) -> bool:
        """Whether a notification with this key was delivered successfully already."""

    @abstractmethod
    def recent_attempts(self, audience: str, limit: int) -> list[DeliveryAttempt]:
        """The newest ``limit`` attempts of one audience (e.g. webhooks), newest first."""

    def close(self) -> None:  # noqa: B027 - optional hook, most repositories hold nothing
        """Release resources (the SQL repository leaves the engine to its owner)."""


def order_records(records: list[AlertRecord], query: AlertQuery) -> list[AlertRecord]:
    """Sort and page records as ``query`` asks (the SQL repository does the same in SQL)."""
    records.sort(key=lambda r: (r.started_ms, r.id), reverse=True)
    if query.order == "severity":
        records.sort(key=lambda r: r.severity.rank, reverse=True)
    end = None if query.limit is None else query.offset + query.limit
    return records[query.offset:end]


class InMemoryAlertRepository(AlertRepository):
    """Everything in process memory, behind one lock; for offline runs and tests.

    Open alerts and the start times of each (type, subject) are indexed, as the database
    indexes them, so that an offline run with tens of thousands of alerts stays linear.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alerts: dict[str, AlertRecord] = {}
        self._open: dict[str, str] = {}
        self._started: dict[str, list[int]] = defaultdict(list)
        self._history: dict[str, list[HistoryEntry]] = defaultdict(list)
        self._silences: dict[str, Silence] = {}
        self._attempts: dict[str, list[DeliveryAttempt]] = defaultdict(list)
        self._delivered: set[str] = set()
        self._applied: set[str] = set()

    def get(self, alert_id: str) -> AlertRecord | None:
        with self._lock:
            return self._alerts.get(alert_id)

    def get_open(self, alert_type: AlertType, subject: str) -> AlertRecord | None:
        with self._lock:
            alert_id = self._open.get(open_key(alert_type, subject))
            return None if alert_id is None else self._alerts[alert_id]

    def commit(self, before: AlertRecord | None, after: AlertRecord,
               events: Sequence[HistoryEntry] = (), key: str | None = None) -> bool:
        with self._lock:
            if key is not None and key in self._applied:
                return False
            if before is None:
                if after.id in self._alerts or (after.open_key and after.open_key in self._open):
                    return False
            else:
                stored = self._alerts.get(before.id)
                if stored is None or stored.revision != before.revision:
                    return False
                if before.open_key and self._open.get(before.open_key) == before.id:
                    del self._open[before.open_key]
            if before is None:
                self._started[open_key(after.type, after.subject)].append(after.started_ms)
            self._alerts[after.id] = after
            if after.open_key:
                self._open[after.open_key] = after.id
            self._history[after.id].extend(events)
            if key is not None:
                self._applied.add(key)
            return True

    def query(self, query: AlertQuery) -> list[AlertRecord]:
        with self._lock:
            if query.statuses and set(query.statuses) <= set(OPEN_STATUSES):
                candidates = [self._alerts[i] for i in self._open.values()]
            else:
                candidates = list(self._alerts.values())
        if query.types:
            candidates = [r for r in candidates if r.type in query.types]
        return order_records([r for r in candidates if query.matches(r)], query)

    def count(self, query: AlertQuery) -> int:
        with self._lock:
            return sum(1 for r in self._alerts.values() if query.matches(r))

    def count_by_type_and_status(self) -> dict[tuple[AlertType, AlertStatus], int]:
        with self._lock:
            return dict(Counter((r.type, r.status) for r in self._alerts.values()))

    def count_started(self, alert_type: AlertType, subject: str, since_ms: int) -> int:
        with self._lock:
            started = self._started.get(open_key(alert_type, subject), ())
            return sum(1 for at in started if at >= since_ms)

    def history(self, alert_ids: Sequence[str]) -> dict[str, list[HistoryEntry]]:
        with self._lock:
            return {i: list(self._history[i]) for i in alert_ids if i in self._history}

    def add_silence(self, silence: Silence) -> None:
        with self._lock:
            if silence.id in self._silences:
                raise ValueError(f"silence {silence.id!r} exists already")
            self._silences[silence.id] = silence

    def list_silences(self, active_at_ms: int | None = None) -> list[Silence]:
        with self._lock:
            silences = [s for s in self._silences.values()
                        if active_at_ms is None or s.active_at(active_at_ms)]
        return sorted(silences, key=lambda s: (s.starts_ms, s.id))

    def delete_silence(self, silence_id: str) -> bool:
        with self._lock:
            return self._silences.pop(silence_id, None) is not None

    def record_attempt(self, attempt: DeliveryAttempt, event: HistoryEntry | None = None) -> None:
        with self._lock:
            self._attempts[attempt.alert_id].append(attempt)
            if attempt.ok:
                self._delivered.add(attempt.key)
            if event is not None and attempt.alert_id in self._alerts:
                self._history[attempt.alert_id].append(event)

    def attempts(self, alert_ids: Sequence[str]) -> dict[str, list[DeliveryAttempt]]:
        with self._lock:
            return {i: list(self._attempts[i]) for i in alert_ids if i in self._attempts}

    def delivered(self, key: str) -> bool:
        with self._lock:
            return key in self._delivered

    def recent_attempts(self, audience: str, limit: int) -> list[DeliveryAttempt]:
        with self._lock:
            mine = [a for log in self._attempts.values() for a in log if a.audience == audience]
        return sorted(mine, key=lambda a: a.at_ms, reverse=True)[:limit]
    def applied(self, key: str) -> bool:
        with self._lock:
            return key in self._applied

