"""Alerting: the alert lifecycle, its store, CAP 1.2 rendering and notifications.

Detector decisions go into :class:`AlertManager` (deduplication, auto-resolve, flapping,
silences, escalation, reminders: one stage each), which keeps alerts in an
:class:`AlertRepository` and publishes every :class:`AlertChange` to its subscribers; a
:class:`NotificationDispatcher` subscribed to it delivers them through a :class:`Notifier`.
"""

from ._cap import render_cap, render_cap_feed
from ._dispatcher import DispatcherStats, NotificationDispatcher
from ._errors import (
    AlertingError,
    AlertNotFound,
    InvalidSilence,
    InvalidTransition,
    NotFound,
    PolicyError,
    SilenceNotFound,
    StorageError,
    WriteConflict,
)
from ._manager import AlertManager
from ._models import AlertChange, AlertQuery, Silence
from ._notify import (
    AppriseNotifier,
    ContactDirectory,
    DeliveryResult,
    Notification,
    Notifier,
    RecordingNotifier,
    Target,
)
from ._policy import AlertPolicy, EscalationTier, InhibitRule, TypePolicy
from ._repository import AlertRepository, InMemoryAlertRepository
from ._sql import SqlAlertRepository

__all__ = [
    "AlertChange",
    "AlertManager",
    "AlertNotFound",
    "AlertPolicy",
    "AlertQuery",
    "AlertRepository",
    "AlertingError",
    "AppriseNotifier",
    "ContactDirectory",
    "DeliveryResult",
    "DispatcherStats",
    "EscalationTier",
    "InMemoryAlertRepository",
    "InhibitRule",
    "InvalidSilence",
    "InvalidTransition",
    "NotFound",
    "Notification",
    "NotificationDispatcher",
    "Notifier",
    "PolicyError",
    "RecordingNotifier",
    "Silence",
    "SilenceNotFound",
    "SqlAlertRepository",
    "StorageError",
    "Target",
    "TypePolicy",
    "WriteConflict",
    "render_cap",
    "render_cap_feed",
]
