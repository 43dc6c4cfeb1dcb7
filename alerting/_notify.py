"""Notifiers, the edge where notifications leave: a :class:`Notifier` sends one
notification to one target; :class:`AppriseNotifier` through Apprise (any Apprise URL,
routed by tags), :class:`RecordingNotifier` into a list."""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol
from urllib.parse import quote

import apprise
import orjson

from safehood.protocol import Alert, Severity

from . import const

logger = logging.getLogger(__name__)

# Apprise reports an HTTP failure as "..., error=500."; 4xx other than these is permanent.
_HTTP_ERROR = re.compile(r"error=(\d{3})")
_RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Target:
    """One place to deliver to. ``id`` is stable and free of secrets
    (``audience:owner:digest``); ``url`` is the Apprise URL and may hold secrets: it is never
    logged or stored, ``label`` (the URL with secrets masked) is. ``language`` (``zh``,
    ``en``) is the reader's where the message depends on it; ``None``: both."""

    id: str
    audience: str
    url: str = field(repr=False)
    label: str = ""
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """One message about one change of one alert, for one target.

    ``key`` (alert id, change, tier, target) is what the notification log deduplicates on.
    ``ack_url`` lets the recipient acknowledge the alert without a login (push actions);
    ``alert`` is the alert as it was after the change (webhooks send it whole).
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
    ack_url: str | None = None
    alert: Alert | None = field(default=None, repr=False, compare=False)
    site: str | None = None


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
    """Delivers through Apprise. Each target's URL is added once, to an Apprise of its own
    tagged with the target id and its audience (``audience:<name>``), so one failing URL is
    retried alone and the others are never paged twice. (One Apprise for every target made
    each send match the tags of all of them: 5 ms of CPU more a send at 600 targets, in the
    notification worker's profile under ``bench/alert_latency.py``.)

    Apprise's own retries are left to the URL (none by default); the dispatcher retries.
    """

    def __init__(self, asset: apprise.AppriseAsset | None = None) -> None:
        self._asset = asset
        self._services: dict[str, apprise.Apprise] = {}
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> DeliveryResult:
        target = notification.target
        tags = [target.id, f"audience:{target.audience}"]
        with_action = ntfy_with_ack_action(target.url, notification.ack_url)
        with self._lock:
            if with_action is not None:
                # The button's link is this notification's own: a one-off service for it.
                service = apprise.Apprise(asset=self._asset) if self._asset else apprise.Apprise()
                if not service.add(with_action, tag=tags):
                    return DeliveryResult.permanent(f"not a usable Apprise URL: {target.label}")
            else:
                known = self._services.get(target.id)
                if known is None:
                    known = apprise.Apprise(asset=self._asset) if self._asset else apprise.Apprise()
                    if not known.add(target.url, tag=tags):
                        return DeliveryResult.permanent(
                            f"not a usable Apprise URL: {target.label}")
                    self._services[target.id] = known
                service = known
            try:
                result = service.notify(
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


def ntfy_with_ack_action(url: str, ack_url: str | None) -> str | None:
    """An Apprise ntfy URL (``ntfy://``, ``ntfys://``) with an "Acknowledge" button that
    POSTs to ``ack_url`` (ntfy's ``http`` action); ``None`` for other services or no link."""
    scheme = url.partition("://")[0].lower()
    if ack_url is None or scheme not in const.NTFY_SCHEMES:
        return None
    action = orjson.dumps([{"action": "http", "label": "Acknowledge", "url": ack_url,
                            "method": "POST", "clear": True}]).decode()
    return f"{url}{'&' if '?' in url else '?'}actions={quote(action, safe='')}"


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
    """An Apprise URL with everything that may be secret or personal masked, for logs,
    records and the API: the scheme, and the host only when it names a machine (has a dot, is an
    IPv6 literal or ``localhost``); user names, passwords, e-mail addresses, tokens, paths and
    queries become ``****``. ``mailto://family@example.org`` -> ``mailto://****@example.org``.
    Idempotent, never raises."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return "****"
    rest = rest.split("#", 1)[0]
    rest, query_sep, _ = rest.partition("?")
    authority, path_sep, path = rest.partition("/")
    _, at, hostport = authority.rpartition("@")
    host, _, port = hostport.partition(":") if not hostport.startswith("[") else (hostport, "", "")
    shown_host = host if _names_a_machine(host) else "****"
    masked = f"{scheme}://" + ("****@" if at else "") + shown_host
    if port and shown_host != "****" and port.isdigit():
        masked += f":{port}"
    if path_sep and path.strip("/"):
        masked += "/****"
    if query_sep:
        masked += "?****"
    return masked


def _names_a_machine(host: str) -> bool:
    if host in ("", "****"):
        return False
    return host == "localhost" or host.startswith("[") or "." in host
