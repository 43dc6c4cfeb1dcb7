"""FastAPI dependencies: the services of this app and the authenticated caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from safehood.protocol import SITE_RE

from ._context import Services
from ._roles import Principal, Role

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token (`safehood token create`); `Authorization: Bearer shd_...`.",
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _authenticate(services: Services, request: Request, token: str | None) -> Principal:
    if not token:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
    # Behind a reverse proxy this is the proxy unless uvicorn trusts its forwarded headers.
    client = request.client.host if request.client else "unknown"
    retry_after = services.auth_failures.retry_after_s(client)
    if retry_after is not None:
        raise HTTPException(429, "too many failed token attempts; try again later",
                            headers={"Retry-After": str(retry_after)})
    principal = services.tokens.authenticate(token)
    if principal is None:
        services.auth_failures.fail(client)
        raise _unauthorized("the token is unknown, revoked or expired")
    return principal


def current_principal(
    services: ServicesDep, request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from the bearer token; 401 without a valid one, 429 after too many
    failed attempts from the same client."""
    return _authenticate(services, request, credentials.credentials if credentials else None)


def stream_principal(
    services: ServicesDep, request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[str | None, Query(
        max_length=200, description="the token, for EventSource (which cannot set headers)")]
    = None,
) -> Principal:
    """Like :func:`current_principal`, also accepting ``?token=`` for EventSource."""
    return _authenticate(services, request, credentials.credentials if credentials else token)


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency that lets only ``roles`` through (403 for the others)."""
    allowed = frozenset(roles)
    names = ", ".join(r.value for r in roles)

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(403, f"the {principal.role.value} role may not do this "
                                f"(allowed: {names})")
        return principal

    return check


ALL_ROLES = (Role.OFFICER, Role.FAMILY, Role.INTEGRATOR, Role.ADMIN)
AnyRole = Annotated[Principal, Depends(require(*ALL_ROLES))]
AlertReaders = Annotated[Principal, Depends(require(Role.OFFICER, Role.FAMILY, Role.ADMIN))]
OfficerOrAdmin = Annotated[Principal, Depends(require(Role.OFFICER, Role.ADMIN))]
Operators = Annotated[Principal, Depends(require(Role.OFFICER, Role.INTEGRATOR, Role.ADMIN))]
RegistryReaders = Operators
StatusReaders = AlertReaders
IntegratorOrAdmin = Annotated[Principal, Depends(require(Role.INTEGRATOR, Role.ADMIN))]
AdminOnly = Annotated[Principal, Depends(require(Role.ADMIN))]


# Path parameters of the routes, declared once: a site id, and a household, resident or
# device id.
SitePath = Annotated[str, Path(pattern=f"^{SITE_RE.pattern}$")]
EntityPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
