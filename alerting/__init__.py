"""Alerting: the alert lifecycle, CAP 1.2 rendering and notifications.

Detector decisions go into :class:`AlertManager`, which runs them through an
:class:`AlertPipeline` of stages assembled by :func:`build_pipeline` (deduplication,
auto-resolve, flapping, one mute stage for silences and inhibitions, escalation,
reminders), keeps alerts in an :class:`AlertRepository` and publishes every
:class:`AlertChange` to its subscribers; a :class:`NotificationDispatcher` subscribed to it
delivers them through a :class:`Notifier` and records them in its :class:`NotificationLog`.
The same dispatcher, with a :class:`WebhookRouter` and :class:`WebhookNotifier`, sends
signed webhooks; :class:`AckTokens` sign the acknowledge links of push notifications, and
:class:`HomeAssistantDiscovery` says what Home Assistant is to be shown.

No database here: the SQL repository is an edge, ``safehood.database.SqlAlertRepository``;
this package depends on nothing heavier than pydantic, orjson, apprise, httpx and prometheus.
"""

from ._ack import AckLinks, AckTokens, InvalidAckToken
from ._cap import render_cap, render_cap_feed
from ._dispatcher import (
    AudienceRouter,
    DispatcherStats,
    NotificationDispatcher,
    NotificationLog,
    Router,
)
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
from ._home_assistant import HomeAssistantDiscovery
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
from ._repository import AlertRepository, CommitItem, InMemoryAlertRepository
from ._response import (
    HandoverReport,
    ResponseRow,
    ShiftSchedule,
    handover_report,
    response_metrics,
)
from ._routing import ContactDirectory
from ._webhook import WebhookEndpoint, WebhookNotifier, WebhookRouter, verify_webhook

__all__ = [
    "AckLinks",
    "AckTokens",
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
    "AudienceRouter",
    "CommitItem",
    "ContactDirectory",
    "DeliveryAttempt",
    "DeliveryResult",
    "DispatcherStats",
    "EscalationTier",
    "HandoverReport",
    "HistoryEntry",
    "HomeAssistantDiscovery",
    "InMemoryAlertRepository",
    "InhibitRule",
    "InvalidAckToken",
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
    "Router",
    "ShiftSchedule",
    "Silence",
    "SilenceNotFound",
    "StorageError",
    "Target",
    "TypePolicy",
    "WebhookEndpoint",
    "WebhookNotifier",
    "WebhookRouter",
    "WeeklyWindow",
    "WriteConflict",
    "build_pipeline",
    "handover_report",
    "mask_url",
    "open_key",
    "render_cap",
    "render_cap_feed",
    "response_metrics",
    "verify_webhook",
]
