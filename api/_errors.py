"""Exception handlers: every error leaves as JSON ``{"detail": "..."}`` with a fitting
status. Domain errors of the packages the API calls are translated here, once."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from safehood.alerting import InvalidSilence, InvalidTransition, NotFound, StorageError, WriteConflict
from safehood.store import StoreError

from ._provisioning import ProvisioningError, UnknownDevice
from ._registry import RegistryConflict, RegistryInvalid, RegistryNotFound
from ._tokens import TokenError, TokenNotFound

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides.
_STATUS: list[tuple[type[Exception], int]] = [
    (NotFound, 404),
    (RegistryNotFound, 404),
    (TokenNotFound, 404),
    (UnknownDevice, 404),
    (InvalidTransition, 409),
    (WriteConflict, 409),
    (RegistryConflict, 409),
    (IntegrityError, 409),
    (InvalidSilence, 422),
    (RegistryInvalid, 422),
    (TokenError, 422),
    (UnicodeError, 422),
    (ProvisioningError, 503),
    (StoreError, 503),
    (StorageError, 503),
    (OperationalError, 503),
]


def _message(exc: Exception, status: int) -> str:
    if isinstance(exc, IntegrityError):
        return "the change conflicts with existing data (duplicate id or entry in use)"
    if isinstance(exc, UnicodeError):
        return "text must be valid Unicode (no lone surrogates)"
    if isinstance(exc, (OperationalError, StorageError)):
        return "the database is unavailable; try again"
    if isinstance(exc, StoreError):
        return f"the time-series store is unavailable: {exc}"
    return str(exc) or exc.__class__.__name__


def _where(loc: Any) -> str:
    """``("query", "type", 0)`` -> ``type[0]``; a missing body stays ``body``."""
    parts = list(loc or ())
    if len(parts) > 1 and parts[0] in ("query", "path", "body", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_detail(errors: list[Any]) -> str:
    """FastAPI's validation errors as one line: ``limit: Input should be ...``."""
    parts = []
    for error in errors[:3]:
        where = _where(error.get("loc"))
        msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        simple = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                  for e in errors]
        return JSONResponse({"detail": validation_detail(errors), "errors": simple},
                            status_code=422)

    async def domain_error(_: Request, exc: Exception) -> JSONResponse:
        for cls, status in _STATUS:
            if isinstance(exc, cls):
                if status >= 500:
                    log.warning("%s: %s", exc.__class__.__name__, exc)
                return JSONResponse({"detail": _message(exc, status)}, status_code=status)
        raise exc  # pragma: no cover - only registered for the classes above

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for cls, _status in _STATUS:
        app.add_exception_handler(cls, domain_error)
    app.add_exception_handler(Exception, unexpected)
