"""The HTTP edge: security headers everywhere, docs without a CDN, a limit on failed token
attempts, early 413 for large bodies."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from safehood._broker import free_port
from safehood.api import ApiServer
from safehood.api._security import FailedAuthLimiter

from .conftest import Api, ApiBuilder

CSP_DIRECTIVES = {"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                  "object-src 'none'"}


def _csp(response: httpx.Response) -> set[str]:
    return {part.strip() for part in response.headers["content-security-policy"].split(";")}


@pytest.mark.parametrize(("path", "personal"), [
    ("/api/v1/alerts", True), ("/api/v1/residents/r001/status", True),
    ("/api/v1/nowhere", True), ("/ui/", False), ("/ui/app.js", False), ("/healthz", False),
    ("/openapi.json", False),
])
def test_every_response_carries_the_security_headers(shared_api: Api, path: str,
                                                     personal: bool) -> None:
    response = shared_api.client.get(path, headers=shared_api.headers("admin"))
    assert response.status_code in (200, 404), response.text
    assert _csp(response) >= CSP_DIRECTIVES
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert (response.headers.get("cache-control") == "no-store") is personal


def test_ui_pages_are_served_whole_and_their_frame_is_not(shared_api: Api) -> None:
    page = shared_api.client.get("/ui/building.html")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert '<a href="building.html" aria-current="page"' in page.text
    assert 'id="login-form"' in page.text and "{%" not in page.text
    assert shared_api.client.get("/ui/frame.html").status_code == 404
    assert shared_api.client.get("/ui/app.js").status_code == 200


def test_routes_added_later_get_the_headers_too(shared_api: Api) -> None:
    # Another package's router (say, a wellbeing digest) mounted after create_app.
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/api/v1/test-added-later")
    def added() -> dict[str, str]:
        return {"resident": "r001"}

    shared_api.app.include_router(router)
    response = shared_api.client.get("/api/v1/test-added-later")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"


def test_docs_load_nothing_from_a_cdn(shared_api: Api) -> None:
    page = shared_api.client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text
    csp = _csp(page)
    [scripts] = [d for d in csp if d.startswith("script-src")]
    assert scripts.startswith("script-src 'self' 'sha256-") and "unsafe" not in scripts
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        assert f"/docs/assets/{asset}" in page.text
        served = shared_api.client.get(f"/docs/assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 100
    assert shared_api.client.get("/redoc").status_code == 404


def test_failed_token_attempts_are_limited_per_client(build_api: ApiBuilder) -> None:
    api = build_api(api_auth_failures_per_minute=10)
    bad = {"Authorization": "Bearer shd_0123456789ab_guessed"}
    statuses = [api.client.get("/api/v1/alerts", headers=bad).status_code for _ in range(10)]
    assert statuses == [401] * 10
    refused = api.client.get("/api/v1/alerts", headers=bad)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["detail"]
    # The stream's ?token= is the same door.
    assert api.client.get("/api/v1/stream", params={"token": "shd_x"}).status_code == 429
    # Even the right token waits: guessing must not be told when it succeeds.
    assert api.client.get("/api/v1/alerts", headers=api.headers("admin")).status_code == 429
    # Requests without a token guess nothing and are not counted or refused.
    assert api.client.get("/healthz").status_code == 200


def test_the_limit_slides_and_is_per_client() -> None:
    now = [1000.0]
    limiter = FailedAuthLimiter(3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after_s("10.0.0.1") is None
        limiter.fail("10.0.0.1")
    assert limiter.retry_after_s("10.0.0.1") == 60
    assert limiter.retry_after_s("10.0.0.2") is None
    now[0] += 59.5
    assert limiter.retry_after_s("10.0.0.1") == 1
    now[0] += 0.5
    assert limiter.retry_after_s("10.0.0.1") is None


def test_the_limiter_forgets_the_least_recent_clients_first() -> None:
    limiter = FailedAuthLimiter(1, window_s=60, clock=lambda: 0.0, max_clients=2)
    for client in ("a", "b", "c"):
        limiter.fail(client)
    assert [limiter.retry_after_s(c) is None for c in ("a", "b", "c")] == [True, False, False]


@pytest.fixture
def server(build_api: ApiBuilder) -> Iterator[tuple[Api, ApiServer]]:
    api = build_api(test_client=False, api_max_body_bytes=64 * 1024)
    server = ApiServer(api.app, host="127.0.0.1", port=free_port())
    server.start()
    yield api, server
    server.stop()


def test_a_large_body_is_refused_before_it_is_read(server: tuple[Api, ApiServer]) -> None:
    api, live = server
    port = int(live.url.rsplit(":", 1)[1])
    # Announce 10 MB and send none of it: the answer must come without waiting for it.
    request = (f"POST /api/v1/registry/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {api.tokens.admin}\r\n"
               "Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(4096):  # the server closes the connection after it
            answer += chunk
    text = answer.decode(errors="replace")
    assert text.startswith("HTTP/1.1 413"), text
    assert '{"detail":' in text
    # A body within the limit is read as usual.
    with httpx.Client(base_url=live.url, timeout=30) as client:
        small = client.post("/api/v1/registry/import", headers=api.headers("admin"), json={})
        assert small.status_code == 200, small.text
        big = client.post("/api/v1/registry/import", headers=api.headers("admin"),
                          content=b"[" + b"0," * 40_000 + b"0]")
        assert big.status_code == 413
        assert "larger than 65536 bytes" in big.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b"["
            for _ in range(100):
                yield b"0," * 1000
            yield b"0]"

        streamed = client.post("/api/v1/registry/import", content=chunks(),
                               headers={**api.headers("admin"),
                                        "Content-Type": "application/json"})
        assert streamed.status_code == 413
        assert streamed.json()["detail"]
