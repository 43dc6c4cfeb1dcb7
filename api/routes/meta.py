"""Liveness, readiness, Prometheus metrics (no token) and ``/api/v1/me``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text

from .._deps import AnyRole, ServicesDep
from .._models import MePublic, Readiness

log = logging.getLogger(__name__)

probes = APIRouter(tags=["operations"])
me_router = APIRouter(tags=["auth"])


@probes.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _probe(name: str, check: Callable[[], bool]) -> str:
    try:
        return "ok" if check() else f"{name} does not answer"
    except Exception as exc:  # a probe must report, never fail the request
        log.warning("readiness probe %s failed: %s", name, exc)
        return f"{name} failed: {exc.__class__.__name__}: {exc}"


@probes.get("/readyz", response_model=Readiness, summary="Readiness: broker, store, database",
            responses={503: {"model": Readiness, "description": "a component is down"}})
def readyz(services: ServicesDep) -> JSONResponse:
    context = services.context

    def database() -> bool:
        with context.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    components = {
        "broker": _probe("broker", context.broker_ready),
        "store": _probe("store", context.store.ping),
        "database": _probe("database", database),
    }
    ready = all(v == "ok" for v in components.values())
    body = Readiness(status="ready" if ready else "not_ready", components=components)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@probes.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    """The process's default registry (ingest, store, alerting counters) plus the API's own
    gauges computed at scrape time (alerts by type and status, stored dead letters)."""
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@me_router.get("/me", response_model=MePublic, summary="Who the token belongs to")
def me(principal: AnyRole) -> MePublic:
    return MePublic(name=principal.name, role=principal.role, sites=sorted(principal.sites),
                    residents=sorted(principal.residents))
