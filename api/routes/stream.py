"""The live stream of alert changes as Server-Sent Events, filtered by the caller's scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from .._deps import ServicesDep, stream_principal
from .._roles import Principal, Role
from .._scope import AlertScope, alert_scope

router = APIRouter(tags=["alerts"])


def _stream_scope(services: ServicesDep,
                  principal: Annotated[Principal, Depends(stream_principal)]) -> AlertScope:
    if principal.role is Role.INTEGRATOR:
        raise HTTPException(403, "the integrator role may not do this "
                            "(allowed: officer, family, admin)")
    return alert_scope(services.context.engine, principal)


@router.get(
    "/stream", response_class=StreamingResponse,
    summary="Alert changes as Server-Sent Events",
    responses={200: {"content": {"text/event-stream": {}},
                     "description": 'each change: `event: alert`, `data: {"kind", "alert"}`; '
                                    "`: keepalive` every 15 s"}},
)
async def stream(services: ServicesDep,
                 scope: Annotated[AlertScope, Depends(_stream_scope)]) -> StreamingResponse:
    """Accepts the token as ``Authorization: Bearer`` or, for EventSource, ``?token=``.
    Ends with ``event: revoked`` when the token is revoked or expires."""
    # Runs on the event loop: the client's queue belongs to it.
    streams = services.streams
    principal = scope.principal
    tokens = services.tokens
    client = streams.connect(f"{principal.actor} ({principal.token_id})", principal.token_id,
                             principal.role, scope.sees,
                             authorized=lambda: tokens.is_active(principal.token_id))
    return StreamingResponse(
        streams.events(client), media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        # Also covers a client that went away before the stream started.
        background=BackgroundTask(streams.disconnect, client),
    )
