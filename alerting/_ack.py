"""Acknowledge links: short-lived signed tokens, each scoped to one alert and one recipient,
so that a push notification's "Acknowledge" button works without a login.

A token is ``<payload>.<signature>``, both base64url without padding: the payload is the
JSON ``{"a": alert id, "r": recipient (target id), "e": expiry, epoch ms}``, the signature
HMAC-SHA256 of the payload with the installation's secret. Pure: callers pass the time in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

import orjson

from safehood.protocol import AlertStatus

from . import const
from ._errors import AlertingError
from ._models import AlertChange


class InvalidAckToken(AlertingError):
    """The token is malformed, forged, for another alert, or expired."""


@dataclass(frozen=True, slots=True)
class AckGrant:
    """What a valid token allows: ``recipient`` may acknowledge alert ``alert_id``."""

    alert_id: str
    recipient: str
    expires_ms: int


class AckTokens:
    """Mints and checks acknowledge tokens with ``secret``; a token lives ``ttl_s``."""

    def __init__(self, secret: bytes, ttl_s: float) -> None:
        if len(secret) < 16:
            raise ValueError("the acknowledge token secret must be at least 16 bytes")
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self._secret = secret
        self._ttl_ms = int(ttl_s * 1000)

    def mint(self, alert_id: str, recipient: str, now_ms: int) -> str:
        payload = _b64(orjson.dumps({"a": alert_id, "r": recipient, "e": now_ms + self._ttl_ms}))
        return f"{payload}.{_b64(self._sign(payload))}"

    def verify(self, token: str, alert_id: str, now_ms: int) -> AckGrant:
        """The grant of ``token`` for ``alert_id``; raises :class:`InvalidAckToken` when it
        is not one this installation signed, names another alert, or has expired."""
        payload, _, signature = token.partition(".")
        try:
            given = _unb64(signature)
            data = orjson.loads(_unb64(payload))
            grant = AckGrant(str(data["a"]), str(data["r"]), int(data["e"]))
        except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
            raise InvalidAckToken("not an acknowledge token") from None
        if not hmac.compare_digest(given, self._sign(payload)):
            raise InvalidAckToken("the token's signature does not match")
        if grant.alert_id != alert_id:
            raise InvalidAckToken("the token is for another alert")
        if now_ms >= grant.expires_ms:
            raise InvalidAckToken("the token has expired")
        return grant

    def _sign(self, payload: str) -> bytes:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()


def ack_url(public_url: str, alert_id: str, token: str) -> str:
    """The acknowledge link of an alert (the API's ``/ack/{alert_id}`` route)."""
    return f"{public_url.rstrip('/')}/ack/{quote(alert_id, safe='')}?token={token}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AckLinks:
    """Acknowledge links for the notifications of a dispatcher: one per (alert, recipient),
    only for a firing alert and a change that asks someone to act."""

    def __init__(self, tokens: AckTokens, public_url: str) -> None:
        self._tokens = tokens
        self._public_url = public_url

    def link(self, change: AlertChange, recipient: str, now_ms: int) -> str | None:
        alert = change.alert
        if alert.status != AlertStatus.FIRING or change.kind not in const.ASKS_FOR_ACK:
            return None
        return ack_url(self._public_url, alert.id, self._tokens.mint(alert.id, recipient, now_ms))
