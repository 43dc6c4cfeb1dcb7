"""Signed webhooks: every change of an alert POSTed to the configured endpoints of its site,
as JSON (the alert and the change) or as CAP 1.2 XML.

Each request carries ``X-Safehood-Timestamp`` (epoch seconds, when this attempt was sent)
and ``X-Safehood-Signature: sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>`` with
the endpoint's shared secret; ``X-Safehood-Delivery`` names the delivery (the same on every
retry of it) and ``X-Safehood-Event`` the change. A receiver checks the signature, refuses a
timestamp older than a few minutes, and refuses a delivery id it has accepted before
(:func:`verify_webhook` does the first two). Delivery, retries and the delivery log are the
:class:`~alerting.NotificationDispatcher`'s; this module only routes and sends.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import httpx
import orjson

from . import const
from ._cap import render_cap
from ._models import AlertChange
from ._notify import DeliveryResult, Notification, Target, mask_url

WebhookFormat = Literal["json", "cap"]

TIMESTAMP_HEADER = "X-Safehood-Timestamp"
SIGNATURE_HEADER = "X-Safehood-Signature"
DELIVERY_HEADER = "X-Safehood-Delivery"
EVENT_HEADER = "X-Safehood-Event"
# HTTP statuses worth trying again: the receiver is busy or briefly unable.
_RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """One receiver: ``sites`` whose alerts it gets (``"*"``: every site), in ``format``."""

    name: str
    url: str = field(repr=False)
    secret: bytes = field(repr=False)
    sites: tuple[str, ...] = (const.ANY_SITE,)
    format: WebhookFormat = "json"

    @property
    def target(self) -> Target:
        return Target(f"{const.WEBHOOK}:{self.name}", const.WEBHOOK, self.url, mask_url(self.url))

    def serves(self, site: str) -> bool:
        return const.ANY_SITE in self.sites or site in self.sites


def sign_webhook(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Safehood-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_webhook(secret: bytes, body: bytes, timestamp: str, signature: str, now_s: float,
                   tolerance_s: float = const.WEBHOOK_TOLERANCE_S) -> bool:
    """Whether a received webhook is genuine and fresh: the signature matches and the
    timestamp is within ``tolerance_s`` of ``now_s``. Refusing delivery ids seen before is
    the receiver's part."""
    try:
        sent_s = int(timestamp)
    except ValueError:
        return False
    if abs(now_s - sent_s) > tolerance_s:
        return False
    return hmac.compare_digest(sign_webhook(secret, timestamp, body), signature)


class WebhookRouter:
    """Routes changes to the webhook endpoints of the alert's site (a dispatcher router).

    Every change but reminders and silent updates (a repeat of what is known) goes out,
    whether or not people are paged for it: an emergency platform follows the alert's state.
    """

    def __init__(self, endpoints: Sequence[WebhookEndpoint]) -> None:
        self._endpoints = tuple(endpoints)

    def wants(self, change: AlertChange) -> bool:
        if change.kind == const.REMINDER or (change.kind == const.UPDATED and not change.notify):
            return False
        return any(e.serves(change.alert.site) for e in self._endpoints)

    def targets(self, change: AlertChange) -> Mapping[str, Sequence[Target]]:
        return {const.WEBHOOK: [e.target for e in self._endpoints if e.serves(change.alert.site)]}


class WebhookNotifier:
    """Sends one signed POST per notification to its endpoint (looked up by target id).

    Network errors, timeouts, 5xx, 408, 425 and 429 are retryable; other statuses and an
    unknown endpoint are permanent. ``clock`` (epoch seconds) stamps each attempt.
    """

    def __init__(self, endpoints: Sequence[WebhookEndpoint], *, public_url: str | None = None,
                 cap_sender: str = const.CAP_SENDER, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._endpoints = {e.target.id: e for e in endpoints}
        self._public_url = public_url
        self._cap_sender = cap_sender
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self._clock = clock

    def body(self, notification: Notification, endpoint: WebhookEndpoint) -> tuple[bytes, str]:
        """The request body and its content type."""
        alert = notification.alert
        if alert is None:
            raise ValueError("a webhook notification must carry its alert")
        if endpoint.format == "cap":
            xml = render_cap(alert, exercise=alert.exercise, base_url=self._public_url,
                             sender=self._cap_sender)
            return xml.encode(), "application/cap+xml"
        return orjson.dumps({
            "delivery": notification.key, "change": notification.change,
            "revision": notification.revision, "tier": notification.tier,
            "alert": alert.model_dump(mode="json"),
        }), "application/json"

    def send(self, notification: Notification) -> DeliveryResult:
        endpoint = self._endpoints.get(notification.target.id)
        if endpoint is None:
            return DeliveryResult.permanent(f"no webhook endpoint {notification.target.id}")
        try:
            body, content_type = self.body(notification, endpoint)
        except ValueError as exc:
            return DeliveryResult.permanent(str(exc))
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": content_type,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign_webhook(endpoint.secret, timestamp, body),
            DELIVERY_HEADER: notification.key,
            EVENT_HEADER: notification.change,
        }
        try:
            response = self._client.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return DeliveryResult.retry(f"{endpoint.target.label}: {type(exc).__name__}: {exc}")
        status = response.status_code
        if status < 300:
            return DeliveryResult.delivered()
        error = f"{endpoint.target.label} answered {status}"
        if status >= 500 or status in _RETRYABLE_STATUS:
            return DeliveryResult.retry(error)
        return DeliveryResult.permanent(error)

    def close(self) -> None:
        self._client.close()
