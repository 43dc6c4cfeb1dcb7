"""The alert model shared by detectors, alerting, the API and the offline tools."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ._scope import Scope, ScopeFields


class AlertType(StrEnum):
    FIRE = "fire"
    SMOKE = "smoke"
    FALL = "fall"
    SOS = "sos"
    WATER_LEAK = "water_leak"
    INACTIVITY = "inactivity"
    NIGHT_WANDERING = "night_wandering"
    DOOR_LEFT_OPEN = "door_left_open"
    FORCED_ENTRY = "forced_entry"
    DEVICE_OFFLINE = "device_offline"
    SITE_OFFLINE = "site_offline"
    BATTERY_LOW = "battery_low"
    TAMPER = "tamper"
    ABNORMAL_ROUTINE = "abnormal_routine"


class Severity(StrEnum):
    """CAP 1.2 severity, most severe first."""

    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.EXTREME: 4, Severity.SEVERE: 3, Severity.MODERATE: 2, Severity.MINOR: 1}


class AlertStatus(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class DecisionAction(StrEnum):
    RAISE = "raise"
    UPDATE = "update"
    CLEAR = "clear"


_NO_EVIDENCE: Mapping[str, Any] = MappingProxyType({})


def _is_none(value: object) -> bool:
    return value is None


# An optional field added to a record after its first release is left out of the JSON
# while it is None, so that the record serialises as it did before the field was added.
_OMITTED_WHEN_NONE: Any = Field(default=None, exclude_if=_is_none)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertDecision(Scope):
    """What a detector decided about one message: raise, update or clear an alert.

    ``subject`` identifies what the alert is about within its type (a device, household or
    site id); alerting keeps at most one open alert per ``(type, subject)``.
    ``ts_ms`` is the event time of the message that led to the decision. ``key``, when
    set, makes the decision idempotent: alerting applies a decision with a given key once,
    however often it is replayed (the scale-out workers key it by stream position).
    """

    action: DecisionAction
    type: AlertType
    severity: Severity
    subject: str
    ts_ms: int
    evidence: Mapping[str, Any] = field(default_factory=lambda: _NO_EVIDENCE)
    confirmed: bool = True
    nuisance: bool = False
    key: str | None = None


class AlertEvent(BaseModel):
    """One step of an alert's history."""

    model_config = ConfigDict(frozen=True)

    at: str
    action: str
    actor: str
    note: str | None = None
    # Structured part of a person's action (incident log): whom, outcome, service, cause.
    detail: dict[str, Any] | None = _OMITTED_WHEN_NONE


class AlertNotification(BaseModel):
    """One attempt to notify someone of an alert (the notification log; secrets masked)."""

    model_config = ConfigDict(frozen=True)

    at: str
    change: str
    tier: int | None = None
    audience: str
    target: str
    url: str | None = None
    attempt: int = 1
    ok: bool
    result: str
    error: str | None = None


class Alert(ScopeFields):
    """An alert as it leaves safehood: the JSON of ``safehood detect`` and of the API."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: AlertType
    severity: Severity
    status: AlertStatus
    subject: str
    started_at: str
    updated_at: str | None = None
    resolved_at: str | None = None
    count: int = 1
    evidence: dict[str, Any] = Field(default_factory=dict)
    history: list[AlertEvent] = Field(default_factory=list)
    # Lifecycle details kept by alerting (optional; absent in older alert files).
    last_seen_at: str | None = None
    acknowledged_at: str | None = None
    cleared_at: str | None = None
    confirmed: bool = True
    exercise: bool = False
    flapping: bool = False
    tier: int | None = None
    silenced_by: str | None = None
    inhibited_by: str | None = None
    notifications: list[AlertNotification] = Field(default_factory=list)
    # Why it was resolved, as the officer who resolved it said: real, false_alarm, test,
    # device_fault (None: not resolved, or resolved without a cause).
    resolution: str | None = _OMITTED_WHEN_NONE
