"""Dead letters: messages that broke the contract, with the reason (integrators, admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from safehood.database import dead_letters
from safehood.protocol import Reason, format_ts

from .._deps import IntegratorOrAdmin, ServicesDep
from .._models import DeadLetterPublic, DeadLettersPublic, DeadLetterStats
from .._time import parse_time
from ..const import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/deadletters", tags=["dead letters"])

ReasonParam = Annotated[Reason | None, Query(description="only this reason")]


@router.get("", response_model=DeadLettersPublic, summary="List dead letters, newest first")
def list_dead_letters(
    services: ServicesDep, _: IntegratorOrAdmin, reason: ReasonParam = None,
    topic: Annotated[str | None, Query(max_length=300, description="only this topic")] = None,
    since: Annotated[str | None, Query(max_length=40, description="RFC 3339 or epoch ms")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeadLettersPublic:
    conditions = []
    if reason is not None:
        conditions.append(dead_letters.c.reason == reason.value)
    if topic is not None:
        conditions.append(dead_letters.c.topic == topic)
    since_ms = parse_time(since, "since")
    if since_ms is not None:
        conditions.append(dead_letters.c.received_ms >= since_ms)
    query = (select(dead_letters).where(*conditions)
             .order_by(dead_letters.c.received_ms.desc(), dead_letters.c.id.desc())
             .limit(limit).offset(offset))
    with services.context.engine.connect() as connection:
        rows = list(connection.execute(query))
        count = connection.execute(
            select(func.count()).select_from(dead_letters).where(*conditions)).scalar_one()
    return DeadLettersPublic(count=count, data=[
        DeadLetterPublic(
            id=r.id, received_at=format_ts(r.received_ms), received_ms=r.received_ms,
            topic=r.topic, reason=r.reason, detail=r.detail,
            payload=bytes(r.payload).decode("utf-8", errors="replace"),
            payload_size=r.payload_size,
        ) for r in rows
    ])


@router.get("/stats", response_model=DeadLetterStats, summary="Dead letters counted by reason")
def dead_letter_stats(services: ServicesDep, _: IntegratorOrAdmin) -> DeadLetterStats:
    query = select(dead_letters.c.reason, func.count()).group_by(dead_letters.c.reason)
    with services.context.engine.connect() as connection:
        by_reason = {reason: int(n) for reason, n in connection.execute(query)}
    return DeadLetterStats(total=sum(by_reason.values()), by_reason=dict(sorted(by_reason.items())))
