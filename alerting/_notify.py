"""Notifications: who is told of a change (routing), what they read, and how it is sent.

:class:`ContactDirectory` turns an audience of a change into concrete targets: the family
contacts of the alert's resident (or of everyone in its household) from the registry, and
the officer, supervisor and emergency channels of the site from the policy. A
:class:`Notifier` sends one notification to one target: :class:`AppriseNotifier` through
Apprise (any Apprise URL, routed by tags), :class:`RecordingNotifier` into a list.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import apprise

from safehood.protocol import Alert, AlertStatus, Registry, Severity, parse_ts_ms

from . import const
from ._cap import alert_link
from ._models import AlertChange
from ._policy import AlertPolicy

logger = logging.getLogger(__name__)

# Apprise reports an HTTP failure as "..., error=500."; 4xx other than these is permanent.
_HTTP_ERROR = re.compile(r"error=(\d{3})")
_RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Target:
    """One place to deliver to. ``id`` is stable and free of secrets
    (``audience:owner:digest``); ``url`` is the Apprise URL and may hold secrets: it is never
    logged or stored, ``label`` (the URL with secrets masked) is."""

    id: str
    audience: str
    url: str = field(repr=False)
    label: str = ""


@dataclass(frozen=True, slots=True)
class Notification:
    """One message about one change of one alert, for one target.

    ``key`` (alert id, change, tier, target) is what the notification log deduplicates on.
    """

    key: str
    alert_id: str
    change: str
    revision: int
    tier: int | None
    target: Target
    title: str
    body: str
    severity: Severity
    link: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How one delivery went. A failure is ``retryable`` (network, 5xx, timeouts) or
    permanent (bad URL or configuration, 4xx): only the first kind is retried."""

    ok: bool
    retryable: bool = False
    error: str | None = None

    @classmethod
    def delivered(cls) -> DeliveryResult:
        return cls(True)

    @classmethod
    def retry(cls, error: str) -> DeliveryResult:
        return cls(False, True, error)

    @classmethod
    def permanent(cls, error: str) -> DeliveryResult:
        return cls(False, False, error)


class Notifier(Protocol):
    """Sends one notification; may block on the network (the dispatcher calls it from its
    own thread) but never raises for a delivery failure: it returns a result."""

    def send(self, notification: Notification) -> DeliveryResult:
        ...


class RecordingNotifier:
    """Keeps every notification it is given, for tests of the pure logic.

    ``fail(target_id, times, retryable=True)`` makes the next ``times`` sends to that target
    fail. ``sent`` holds the delivered notifications, ``attempts`` every send.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, deque[DeliveryResult]] = defaultdict(deque)
        self.sent: list[Notification] = []
        self.attempts: list[Notification] = []

    def fail(self, target_id: str, times: int = 1, *, retryable: bool = True,
             error: str = "simulated failure") -> None:
        result = DeliveryResult(False, retryable, error)
        with self._lock:
            self._failures[target_id].extend([result] * times)

    def send(self, notification: Notification) -> DeliveryResult:
        with self._lock:
            self.attempts.append(notification)
            failures = self._failures.get(notification.target.id)
            if failures:
                return failures.popleft()
            self.sent.append(notification)
            return DeliveryResult.delivered()


class AppriseNotifier:
    """Delivers through Apprise. Each target's URL is added once, tagged with the target id
    and its audience (``audience:<name>``), and every send is routed by the target's tag, so
    one failing URL is retried alone and the others are never paged twice.

    Apprise's own retries are left to the URL (none by default); the dispatcher retries.
    """

    def __init__(self, asset: apprise.AppriseAsset | None = None) -> None:
        self._apprise = apprise.Apprise(asset=asset) if asset else apprise.Apprise()
        self._added: set[str] = set()
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> DeliveryResult:
        target = notification.target
        with self._lock:
            if target.id not in self._added:
                tags = [target.id, f"audience:{target.audience}"]
                if not self._apprise.add(target.url, tag=tags):
                    return DeliveryResult.permanent(f"not a usable Apprise URL: {target.label}")
                self._added.add(target.id)
            try:
                result = self._apprise.notify(
                    body=notification.body, title=notification.title, tag=target.id,
                    notify_type=_notify_type(notification))
            except Exception as exc:  # a plugin bug must not kill the dispatcher
                return DeliveryResult.retry(f"{type(exc).__name__}: {exc}")
        if result:
            return DeliveryResult.delivered()
        status = getattr(result, "status", None)
        if result is None or getattr(status, "name", "") == "NOMATCH":
            return DeliveryResult.permanent(f"no Apprise service for {target.label}")
        error = _last_problem(result) or f"delivery to {target.label} failed"
        match = _HTTP_ERROR.search(error)
        if match and 400 <= int(match[1]) < 500 and int(match[1]) not in _RETRYABLE_4XX:
            return DeliveryResult.permanent(error)
        return DeliveryResult.retry(error)


def _last_problem(result: object) -> str | None:
    """The last warning or error Apprise logged for this call (Apprise 2 results)."""
    logs = getattr(result, "logs", None)
    if logs is None:
        return None
    message = None
    try:
        for entry in logs():
            level = getattr(entry, "level", logging.WARNING)
            if isinstance(level, str):
                level = logging.getLevelName(level.upper())
            if isinstance(level, int) and level >= logging.WARNING:
                message = str(getattr(entry, "message", entry))
    except Exception:  # only an error text; never fail the delivery result over it
        logger.debug("could not read Apprise's logs", exc_info=True)
    return message


def _notify_type(notification: Notification) -> apprise.NotifyType:
    if notification.change == const.RESOLVED:
        return apprise.NotifyType.SUCCESS
    if notification.change == const.ACKNOWLEDGED:
        return apprise.NotifyType.INFO
    if notification.severity in (Severity.EXTREME, Severity.SEVERE):
        return apprise.NotifyType.FAILURE
    return apprise.NotifyType.WARNING


@lru_cache(maxsize=4096)
def mask_url(url: str) -> str:
    """An Apprise URL with its secrets masked and its options dropped, for logs and records."""
    try:
        plugin = apprise.Apprise.instantiate(url)
        if plugin is not None:
            return str(plugin.url(privacy=True)).split("?", 1)[0]
    except Exception:  # masking must never fail; fall back to the scheme alone
        pass
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://****"


class ContactDirectory:
    """Resolves the audiences of a change to targets.

    ``family``: the contacts of the alert's resident, or of every resident of its household
    when the alert names no resident (a shared space has no family). ``officers``,
    ``supervisor``, ``emergency``: the site's channels in ``policy.channels`` (and those of
    ``"*"``). Thread safe; :meth:`set_registry` swaps the registry.
    """

    def __init__(self, registry: Registry | None = None, policy: AlertPolicy | None = None) -> None:
        self._registry = registry
        self._policy = policy or AlertPolicy()

    @property
    def registry(self) -> Registry | None:
        return self._registry

    def set_registry(self, registry: Registry | None) -> None:
        self._registry = registry

    def targets(self, alert: Alert, audience: str) -> list[Target]:
        if audience == const.FAMILY:
            owners = self._family(alert)
        else:
            owners = [(alert.site, url) for url in self._policy.site_channels(alert.site, audience)]
        seen: dict[str, Target] = {}
        for owner, url in owners:
            digest = hashlib.sha256(url.encode()).hexdigest()[:10]
            target_id = f"{audience}:{owner}:{digest}"
            seen.setdefault(target_id, Target(target_id, audience, url, mask_url(url)))
        return list(seen.values())

    def _family(self, alert: Alert) -> list[tuple[str, str]]:
        registry = self._registry
        if registry is None:
            return []
        if alert.resident:
            resident = registry.residents.get(alert.resident)
            residents = [resident] if resident is not None else []
        elif alert.household:
            residents = registry.household_residents(alert.household)
        else:
            residents = []
        return [(r.id, url) for r in residents for url in r.contacts]


_TITLES = {
    const.RAISED: "{event}",
    const.UPDATED: "Update: {event}",
    const.ESCALATED: "Escalated: {event}",
    const.REMINDER: "Reminder, not yet acknowledged: {event}",
    const.ACKNOWLEDGED: "Being handled: {event}",
    const.RESOLVED: "Resolved: {event}",
}


def render_message(change: AlertChange, registry: Registry | None = None,
                   public_url: str | None = None, audience: str | None = None
                   ) -> tuple[str, str]:
    """Title and body of a notification for one audience: what happened, to whom, where,
    when (the household's local time and UTC) and a link to the alert in the dashboard."""
    alert = change.alert
    event = const.EVENT_NAMES.get(alert.type, alert.type.value)
    resident = registry.residents.get(alert.resident) if registry and alert.resident else None
    household = (registry.households.get(alert.household)
                 if registry and alert.household else None)
    device = registry.device(alert.device_id) if registry and alert.device_id else None
    who = f"{resident.name} ({resident.id})" if resident else alert.resident
    place = ", ".join(p for p in (
        f"household {alert.household}" if alert.household else None,
        f"room {device.room}" if device and device.room else None,
        # The address, when there is one, names the building itself.
        household.address if household and household.address else
        f"building {household.building}" if household and household.building else None,
        f"site {alert.site}",
    ) if p)
    title = _TITLES.get(change.kind, "{event}").format(event=event)
    title = f"[{alert.severity.value}] {title}" + (f" - {who}" if who else f" - {place}")
    if alert.exercise:
        title = f"[EXERCISE] {title}"
    zone = household.timezone if household else "UTC"
    lines = [
        f"What: {event}, {alert.severity.value}"
        f"{'' if alert.confirmed else ' (unconfirmed)'}"
        + (f", seen {alert.count} times" if alert.count > 1 else ""),
    ]
    if who:
        lines.append(f"Who: {who}")
    lines.append(f"Where: {place}")
    lines.append(f"When: {_when(alert.started_at, zone)}")
    status = alert.status.value
    if change.kind == const.ESCALATED and change.tier is not None:
        status += f", escalated to tier {change.tier} ({', '.join(change.audience)})"
    actions = {change.kind, const.AUTO_RESOLVED} if change.kind == const.RESOLVED else {change.kind}
    last = next((e for e in reversed(alert.history) if e.action in actions), None)
    if change.kind in (const.ACKNOWLEDGED, const.RESOLVED) and last is not None:
        status += f" by {last.actor} at {_when(last.at, zone)}"
        if last.note:
            status += f": {last.note}"
    lines.append(f"Status: {status}")
    if alert.status == AlertStatus.FIRING and change.kind != const.RESOLVED:
        lines.append("The duty officers have been told." if audience == const.FAMILY
                     else "Please acknowledge in the dashboard when someone is on it.")
    if public_url:
        lines.append(f"Open: {alert_link(public_url, alert.id)}")
    return title, "\n".join(lines)


def _when(rfc3339: str, zone: str) -> str:
    moment = datetime.fromtimestamp(parse_ts_ms(rfc3339) / 1000, tz=UTC)
    utc = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    if zone == "UTC":
        return utc
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.strftime('%Y-%m-%d %H:%M:%S')} {local.tzname()} ({zone}) / {utc}"


def targets_for(directory: ContactDirectory, change: AlertChange) -> dict[str, Sequence[Target]]:
    """Targets of each audience of a change (an audience with no target maps to ``[]``)."""
    return {audience: directory.targets(change.alert, audience) for audience in change.audience}
