"""Alerting: the alert lifecycle, CAP 1.2 rendering and notifications.

Detector decisions go into :class:`AlertManager`, which runs them through an
:class:`AlertPipeline` of stages assembled by :func:`build_pipeline` (deduplication,
auto-resolve, flapping, one mute stage for silences and inhibitions, escalation,
reminders), keeps alerts in an :class:`AlertRepository` and publishes every
:class:`AlertChange` to its subscribers; a :class:`NotificationDispatcher` subscribed to it
delivers them through a :class:`Notifier` and records them in its :class:`NotificationLog`.

No database here: the SQL repository is an edge, ``safehood.database.SqlAlertRepository``;
this package depends on nothing heavier than pydantic, orjson, apprise and prometheus.
"""

from ._cap import render_cap, render_cap_feed
from ._dispatcher import DispatcherStats, NotificationDispatcher, NotificationLog
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
from ._models import (
    AlertChange,
    AlertQuery,
    AlertRecord,
    DeliveryAttempt,
    HistoryEntry,
    Silence,
    WeeklyWindow,
    open_key,
)
from ._mute import Mute, Muter
from ._notify import (
    AppriseNotifier,
    DeliveryResult,
    Notification,
    Notifier,
    RecordingNotifier,
    Target,
    mask_url,
)
from ._pipeline import AlertPipeline, build_pipeline
from ._policy import AlertPolicy, EscalationTier, InhibitRule, TypePolicy
from ._repository import AlertRepository, InMemoryAlertRepository
from ._response import (
    HandoverReport,
    ResponseRow,
    ShiftSchedule,
    handover_report,
    response_metrics,
)
from ._routing import ContactDirectory

__all__ = [
    "AlertChange",
    "AlertManager",
    "AlertNotFound",
    "AlertPipeline",
    "AlertPolicy",
    "AlertQuery",
    "AlertRecord",
    "AlertRepository",
    "AlertingError",
    "AppriseNotifier",
    "ContactDirectory",
    "DeliveryAttempt",
    "DeliveryResult",
    "DispatcherStats",
    "EscalationTier",
    "HandoverReport",
    "HistoryEntry",
    "InMemoryAlertRepository",
    "InhibitRule",
    "InvalidSilence",
    "InvalidTransition",
    "Mute",
    "Muter",
    "NotFound",
    "Notification",
    "NotificationDispatcher",
    "NotificationLog",
    "Notifier",
    "PolicyError",
    "RecordingNotifier",
    "ResponseRow",
    "ShiftSchedule",
    "Silence",
    "SilenceNotFound",
    "StorageError",
    "Target",
    "TypePolicy",
    "WeeklyWindow",
    "WriteConflict",
    "build_pipeline",
    "handover_report",
    "mask_url",
    "open_key",
    "render_cap",
    "render_cap_feed",
    "response_metrics",
]
