"""The app factory: one FastAPI app per :class:`ApiContext`, no globals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from swagger_ui_bundle import swagger_ui_path

from ._context import ApiContext, Services
from ._dashboard import DashboardFiles
from ._errors import install_error_handlers
from ._loop_lag import LoopLagMonitor
from ._metrics import api_registry
from ._models import ErrorPublic
from ._provisioning import Provisioner
from ._registry import RegistryService
from ._security import (
    BodyLimitMiddleware,
    FailedAuthLimiter,
    SecurityHeadersMiddleware,
    install_docs,
)
from ._stream import AlertBroadcaster
from ._tokens import TokenStore
from .const import API_PREFIX
from .routes import (
    alerts,
    care,
    deadletters,
    devices,
    duty,
    integrations,
    meta,
    personal_data,
    registry,
    silences,
    sites,
    stream,
    tokens,
    wellbeing,
)

log = logging.getLogger(__name__)

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic, "description": "no token, or an unknown, revoked or expired one"},
    429: {"model": ErrorPublic,
          "description": "too many failed token attempts from this client (see Retry-After)"},
    403: {"model": ErrorPublic, "description": "the token's role may not do this"},
    404: {"model": ErrorPublic, "description": "unknown, or outside the token's scope"},
    413: {"model": ErrorPublic, "description": "the request body is too large"},
    422: {"model": ErrorPublic, "description": "the request is not valid; detail says why"},
}

DESCRIPTION = """\
The HTTP API of safehood: alerts and their lifecycle, the registry of households,
residents and devices (with device provisioning), readings, dead letters, device health,
silences, tokens, and a live stream of alert changes.

Every `/api/v1` route needs `Authorization: Bearer <token>`; what a token may see and do
depends on its role (officer, family, integrator, admin) and scope (sites, residents).
Errors are JSON `{"detail": "..."}`.
"""


def _dashboard() -> DashboardFiles | None:
    try:
        from safehood.dashboards import WEB_DIR, render_pages
    except ImportError:
        return None
    path = Path(WEB_DIR)
    return DashboardFiles(path, render_pages()) if path.is_dir() else None


def create_app(context: ApiContext) -> FastAPI:
    """Build the API for ``context``. Subscribes to the alert manager's changes while the
    app runs (its lifespan); serve it with :class:`ApiServer` so shutdown ends open streams."""
    engine = context.engine
    services = Services(
        context=context,
        tokens=TokenStore(engine, clock=context.clock),
        registry=RegistryService(engine, context.on_registry_change,
                                 loaded=context.loaded_registry),
        provisioner=context.provisioner or Provisioner.from_settings(context.settings, engine),
        streams=AlertBroadcaster(),
        auth_failures=FailedAuthLimiter(context.settings.api_auth_failures_per_minute),
        loop_lag=LoopLagMonitor(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.streams.attach(asyncio.get_running_loop())
        unsubscribe = context.alerts.subscribe(
            lambda change: services.streams.publish(change.kind, change.alert))
        lag_probe = asyncio.create_task(services.loop_lag.run(), name="loop-lag")
        try:
            yield
        finally:
            lag_probe.cancel()
            unsubscribe()
            services.streams.close()

    app = FastAPI(
        title="safehood API", version="1", description=DESCRIPTION, lifespan=lifespan,
        responses=_ERRORS, docs_url=None, redoc_url=None,
    )
    # App-wide: every route and mount, whoever adds it, is covered.
    app.add_middleware(BodyLimitMiddleware, max_bytes=context.settings.api_max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.state.services = services
    app.state.metrics = api_registry(services)
    app.state.wellbeing_cache = wellbeing.DigestCache()
    install_error_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(meta.me_router)
    api.include_router(alerts.router)
    api.include_router(care.router)
    api.include_router(stream.router)
    api.include_router(sites.router)
    api.include_router(duty.router)
    api.include_router(wellbeing.router)
    # /devices/health before /devices/{device_id}: first match wins.
    api.include_router(devices.router)
    api.include_router(registry.router)
    api.include_router(deadletters.router)
    api.include_router(silences.router)
    api.include_router(tokens.router)
    api.include_router(personal_data.router)
    api.include_router(integrations.router)
    app.include_router(api)
    app.include_router(meta.probes)
    # No bearer token: the acknowledge link's own signed token is the credential.
    app.include_router(integrations.ack_router)

    install_docs(app, swagger_ui_path)

    dashboard = _dashboard() if context.serve_ui else None
    if dashboard is not None:
        app.mount("/ui", dashboard, name="ui")

        @app.get("/", include_in_schema=False)
        def root() -> RedirectResponse:
            return RedirectResponse("/ui/")

    return app
