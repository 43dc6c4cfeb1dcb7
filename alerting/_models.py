"""Value objects of the alert path: stored alert state, history, changes, silences, queries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safehood.protocol import Alert, AlertStatus, AlertType, Scope, Severity, format_ts, parse_hhmm

from ._errors import InvalidSilence

_NO_EVIDENCE: Mapping[str, Any] = MappingProxyType({})

OPEN_STATUSES = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecord(Scope):
    """The stored state of one alert (times in UTC epoch milliseconds, event time).

    ``tiers`` holds the escalation tiers already notified; ``escalation_delay_ms`` is how much
    later than planned the chain started (a silence or flapping held it back), and shifts
    the later tiers alike. ``revision`` grows by one with every committed change and guards
    optimistic writes between processes.
    ``hold_until_ms`` delays notifications of a flapping alert; ``silenced_by`` names the
    silence that matched it when it last changed, ``inhibited_by`` the open alert that
    covers it (a fire covers the smoke alerts of its household).
    """

    id: str
    type: AlertType
    severity: Severity
    status: AlertStatus
    subject: str
    started_ms: int
    updated_ms: int
    last_seen_ms: int
    acknowledged_ms: int | None = None
    resolved_ms: int | None = None
    cleared_ms: int | None = None
    count: int = 1
    confirmed: bool = True
    exercise: bool = False
    flapping: bool = False
    evidence: Mapping[str, Any] = field(default_factory=lambda: _NO_EVIDENCE)
    tiers: frozenset[int] = frozenset()
    escalation_delay_ms: int = 0
    next_reminder_ms: int | None = None
    hold_until_ms: int | None = None
    silenced_by: str | None = None
    inhibited_by: str | None = None
    revision: int = 0

    @property
    def is_open(self) -> bool:
        return self.status != AlertStatus.RESOLVED

    @property
    def open_key(self) -> str | None:
        """Unique among open alerts: the database enforces one open alert per (type, subject)."""
        return open_key(self.type, self.subject) if self.is_open else None


def open_key(alert_type: AlertType | str, subject: str) -> str:
    return f"{AlertType(alert_type).value}|{subject}"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One step of an alert's history (becomes a ``protocol.AlertEvent``). ``detail`` holds
    the structured part of a person's action: whom they called and the outcome, the service
    they handed over to, the cause of a resolution."""

    at_ms: int
    action: str
    actor: str
    note: str | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One attempt to deliver one notification to one target: the notification log.

    ``key`` is (alert id, change, tier, target): once an attempt with this key succeeded,
    the dispatcher never sends it again. ``url`` is the target with secrets masked.
    """

    alert_id: str
    key: str
    change: str
    revision: int
    tier: int | None
    audience: str
    target: str
    url: str
    attempt: int
    at_ms: int
    ok: bool
    result: str
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": format_ts(self.at_ms), "change": self.change, "tier": self.tier,
            "audience": self.audience, "target": self.target, "url": self.url,
            "attempt": self.attempt, "ok": self.ok, "result": self.result, "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class AlertChange:
    """What happened to one alert, as published to subscribers and the dispatcher.

    ``kind`` is one of raised, updated, acknowledged, escalated, resolved, reminder.
    ``notify`` is false when nobody should be told (a repeat, a silenced or flapping alert,
    no audience yet). ``tier`` is the escalation tier this change notifies, if any;
    ``audience`` who should be told (officers, supervisor, family, emergency).
    ``revision`` is the alert's revision this change produced; with ``kind`` and ``tier``
    it identifies the change for the notification log.
    """

    alert: Alert
    kind: str
    notify: bool
    tier: int | None = None
    audience: tuple[str, ...] = ()
    revision: int = 0

    @property
    def key(self) -> str:
        tier = "-" if self.tier is None else str(self.tier)
        return f"{self.alert.id}:{self.kind}@{self.revision}:{tier}"


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """A recurring window of local time: on each of ``days`` (0 Monday ... 6 Sunday) from
    ``start`` to ``end`` (``"HH:MM"``); an end at or before the start runs past midnight
    into the next day."""

    days: tuple[int, ...]
    start: str
    end: str

    def __post_init__(self) -> None:
        days = tuple(sorted(set(_as_tuple(self.days))))
        if not days or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            raise InvalidSilence("a weekly window needs days from 0 (Monday) to 6 (Sunday)")
        try:
            parse_hhmm(self.start)
            parse_hhmm(self.end)
        except ValueError as exc:
            raise InvalidSilence(str(exc)) from None
        object.__setattr__(self, "days", days)

    def covers(self, local: datetime) -> bool:
        moment, start, end = local.time(), parse_hhmm(self.start), parse_hhmm(self.end)
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        if start < end:
            return today in self.days and start <= moment < end
        return (today in self.days and moment >= start) or (yesterday in self.days
                                                            and moment < end)

    def as_dict(self) -> dict[str, Any]:
        return {"days": list(self.days), "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence or maintenance window: alerts it matches are recorded, not notified.

    It matches an alert when every one of ``site``, ``household`` and ``device_id`` that is
    set equals the alert's, and the alert's type is in ``types`` (any type when empty);
    it is active from ``starts_ms`` (inclusive) to ``ends_ms`` (exclusive), in event time.
    ``id`` and ``created_ms`` are filled in by :meth:`AlertManager.add_silence` when empty.
    With ``weekly`` windows it recurs (quiet hours, a weekly maintenance window): between
    ``starts_ms`` and ``ends_ms`` it is active only inside one of them, in local time of
    ``timezone``.
    """

    starts_ms: int
    ends_ms: int
    created_by: str
    comment: str = ""
    site: str | None = None
    household: str | None = None
    device_id: str | None = None
    types: tuple[AlertType, ...] = ()
    id: str = ""
    created_ms: int | None = None
    weekly: tuple[WeeklyWindow, ...] = ()
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.site is None and self.household is None and self.device_id is None:
            raise InvalidSilence("a silence must name a site, a household or a device")
        if self.ends_ms <= self.starts_ms:
            raise InvalidSilence("a silence must end after it starts")
        if not self.created_by:
            raise InvalidSilence("a silence must name who created it")
        try:
            types = tuple(AlertType(t) for t in _as_tuple(self.types))
        except ValueError as exc:
            raise InvalidSilence(str(exc)) from None
        object.__setattr__(self, "types", types)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidSilence(f"unknown IANA time zone {self.timezone!r}") from None
        object.__setattr__(self, "weekly", tuple(
            w if isinstance(w, WeeklyWindow) else WeeklyWindow(**w) for w in self.weekly))

    def active_at(self, at_ms: int) -> bool:
        if not self.starts_ms <= at_ms < self.ends_ms:
            return False
        if not self.weekly:
            return True
        local = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(self.timezone))
        return any(w.covers(local) for w in self.weekly)

    def matches(self, alert: AlertRecord) -> bool:
        return (
            (self.site is None or self.site == alert.site)
            and (self.household is None or self.household == alert.household)
            and (self.device_id is None or self.device_id == alert.device_id)
            and (not self.types or alert.type in self.types)
        )


Order = Literal["newest", "severity"]


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters for listing alerts; every filter that is set must hold (tuples: any of).

    ``since_ms`` (inclusive) and ``until_ms`` (exclusive) bound ``started_at``.
    ``order``: ``"newest"`` first, or ``"severity"`` (most severe first, then newest).
    A bare string is accepted for any tuple filter. ``limit=None`` means no limit.
    """

    sites: tuple[str, ...] = ()
    households: tuple[str, ...] = ()
    residents: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    types: tuple[AlertType, ...] = ()
    statuses: tuple[AlertStatus, ...] = ()
    severities: tuple[Severity, ...] = ()
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int | None = 100
    offset: int = 0
    order: Order = "newest"

    def __post_init__(self) -> None:
        for name in ("sites", "households", "residents", "devices"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        object.__setattr__(self, "types", tuple(AlertType(t) for t in _as_tuple(self.types)))
        object.__setattr__(
            self, "statuses", tuple(AlertStatus(s) for s in _as_tuple(self.statuses)))
        object.__setattr__(
            self, "severities", tuple(Severity(s) for s in _as_tuple(self.severities)))
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must not be negative")
        if self.offset < 0:
            raise ValueError("offset must not be negative")
        if self.order not in ("newest", "severity"):
            raise ValueError(f"order must be 'newest' or 'severity', not {self.order!r}")

    def matches(self, alert: AlertRecord) -> bool:
        """The filter part of the query applied to one record (in-memory repositories)."""
        return (
            _within(self.sites, alert.site)
            and _within(self.households, alert.household)
            and _within(self.residents, alert.resident)
            and _within(self.devices, alert.device_id)
            and _within(self.types, alert.type)
            and _within(self.statuses, alert.status)
            and _within(self.severities, alert.severity)
            and (self.since_ms is None or alert.started_ms >= self.since_ms)
            and (self.until_ms is None or alert.started_ms < self.until_ms)
        )


def _within(allowed: Iterable[Any], value: Any) -> bool:
    allowed = tuple(allowed)
    return not allowed or value in allowed
