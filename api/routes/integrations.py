"""Systems out: acknowledging an alert through a notification's link (no login: the signed
token is the credential) and the delivery log of signed webhooks (admins)."""

from __future__ import annotations

import html
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from safehood.alerting import AckTokens, InvalidAckToken
from safehood.alerting.const import FAMILY, RESPONDING, WEBHOOK

from .._context import Services
from .._deps import AdminOnly, ServicesDep
from .alerts import AlertId

ack_router = APIRouter(tags=["acknowledge"])
router = APIRouter(tags=["webhooks"])

AckToken = Annotated[str, Query(min_length=10, max_length=1000,
                                description="the signed token of the acknowledge link")]
_ACK_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the token is not valid for this alert, or has expired"},
    409: {"description": "the alert is not firing (acknowledged or resolved already)"},
}


def _grant_recipient(services: Services, request: Request, alert_id: str, token: str) -> str:
    """The recipient the token lets acknowledge ``alert_id``; 403 (429 after too many
    failures from one client, as for bearer tokens) otherwise."""
    client = request.client.host if request.client else "unknown"
    retry_after = services.auth_failures.retry_after_s(client)
    if retry_after is not None:
        raise HTTPException(429, "too many failed token attempts; try again later",
                            headers={"Retry-After": str(retry_after)})
    tokens: AckTokens | None = services.context.ack_tokens
    if tokens is None:
        raise HTTPException(403, "acknowledge links are not enabled here")
    try:
        return tokens.verify(token, alert_id, services.context.clock()).recipient
    except InvalidAckToken as exc:
        services.auth_failures.fail(client)
        raise HTTPException(403, str(exc)) from None


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'>"
                        f"<meta name='viewport' content='width=device-width'>"
                        f"<title>{html.escape(title)}</title></head>"
                        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")


@ack_router.get("/ack/{alert_id}", response_class=HTMLResponse, responses=_ACK_ERRORS,
                summary="The page of an acknowledge link: a button that acknowledges")
def ack_page(alert_id: AlertId, token: AckToken, services: ServicesDep,
             request: Request) -> HTMLResponse:
    # A GET never acknowledges: mail scanners and link previews follow links on their own.
    _grant_recipient(services, request, alert_id, token)
    alert = services.context.alerts.get(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    action = html.escape(f"/ack/{quote(alert_id, safe='')}?token={quote(token, safe='')}")
    return _page(f"Alert {alert.type.value} ({alert.status.value})",
                 f"<form method='post' action='{action}'>"
                 "<button type='submit'>Acknowledge: I am on it</button></form>")


@ack_router.post("/ack/{alert_id}", responses=_ACK_ERRORS,
                 summary="Acknowledge a firing alert with the token of a notification's link")
def ack_by_link(alert_id: AlertId, token: AckToken, services: ServicesDep,
                request: Request) -> Any:
    recipient = _grant_recipient(services, request, alert_id, token)
    alerts = services.context.alerts
    if recipient.split(":", 1)[0] == FAMILY:
        # A family's button says "on my way" to the officers; it does not stop their chain.
        alert = alerts.log_action(alert_id, recipient, RESPONDING, note="acknowledge link")
        if "text/html" in request.headers.get("accept", ""):
            return _page("Thank you", "<p>The duty officers see that you are on your way; "
                                      "they stay on the alert until someone is there.</p>")
        return {"id": alert.id, "status": alert.status.value, "responding": recipient}
    alert = alerts.acknowledge(alert_id, recipient, "acknowledge link")
    if "text/html" in request.headers.get("accept", ""):
        return _page("Acknowledged", "<p>Thank you: the duty officers see that you are on it.</p>")
    return {"id": alert.id, "status": alert.status.value, "acknowledged_by": recipient}


@router.get("/webhooks/deliveries", summary="The newest signed-webhook deliveries (admins)")
def webhook_deliveries(services: ServicesDep, _: AdminOnly,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    attempts = services.context.alerts.repository.recent_attempts(WEBHOOK, limit)
    return {"data": [{"alert_id": a.alert_id, "delivery": a.key, **a.as_dict()}
                     for a in attempts]}
