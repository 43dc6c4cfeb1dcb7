"""Defences of the HTTP edge: security headers on every response, a limit on the size of
request bodies and on failed token attempts per client, and the API docs served from local
files under a CSP that allows them."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .const import API_PREFIX, AUTH_FAILURE_WINDOW_S, DOCS_ASSETS, MAX_TRACKED_CLIENTS

# The dashboard loads only its own files; nothing may frame it or be posted elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Stream URLs carry the token (EventSource cannot send headers): never pass them on.
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


class HttpMiddleware:
    """A pure ASGI middleware that acts on HTTP requests (:meth:`handle`) and passes
    everything else (lifespan, websockets) straight to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class SecurityHeadersMiddleware(HttpMiddleware):
    """Adds :data:`SECURITY_HEADERS` to every HTTP response of the app (a route may set its
    own CSP) and ``Cache-Control: no-store`` to everything under the API prefix, where
    every answer may hold personal data. Pure ASGI: streams pass through unbuffered."""

    def __init__(self, app: ASGIApp, personal_prefix: str = API_PREFIX) -> None:
        super().__init__(app)
        self.personal_prefix = personal_prefix

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        personal = str(scope.get("path", "")).startswith(self.personal_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if personal:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware(HttpMiddleware):
    """Answers 413 (JSON, like every API error) to a request whose body is larger than
    ``max_bytes``: at once when its Content-Length says so, before reading any of it;
    otherwise as soon as the bytes read pass the limit (the app then sees the client
    disconnect, and its own answer is replaced). Pure ASGI."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        announced = Headers(scope=scope).get("content-length", "")
        if announced.isdigit() and int(announced) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a body it never got whole
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"the request body is larger than {self.max_bytes} bytes"},
            status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)


class FailedAuthLimiter:
    """Counts failed token attempts per client over a sliding window of ``window_s``: a
    client with ``limit`` failures in the window is refused (:meth:`retry_after_s`) until
    the oldest leaves it. Keeps at most ``max_clients`` clients (the least recently failed
    go first). Thread safe; ``clock`` is monotonic seconds."""

    def __init__(self, limit: int, window_s: float = AUTH_FAILURE_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_TRACKED_CLIENTS) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after_s(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None when it may now."""
        with self._lock:
            failures = self._recent(client)
            if failures is None or len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[0] + self.window_s - self.clock()))

    def fail(self, client: str) -> None:
        """Record one failed attempt of ``client``."""
        with self._lock:
            failures = self._recent(client)
            if failures is None:
                failures = self._failures[client] = deque(maxlen=self.limit)
                while len(self._failures) > self.max_clients:
                    self._failures.popitem(last=False)
            failures.append(self.clock())
            self._failures.move_to_end(client)

    def _recent(self, client: str) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        cutoff = self.clock() - self.window_s
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures


def install_docs(app: FastAPI, assets: Path) -> None:
    """Serve Swagger UI at ``/docs`` from ``assets`` (a local copy, never a CDN), under a
    CSP that allows exactly its one inline script."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    body = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - docs",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
    ).body
    page = bytes(body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page))
    # Swagger UI styles some elements inline; its script is pinned by hash.
    policy = CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", f"script-src 'self' {hashes}").replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": policy})
