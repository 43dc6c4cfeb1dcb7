"""The role matrix: every route against every role, allowed and forbidden.

Roles: ``admin``; ``officer`` of xianlin-3; ``gulou`` = officer of gulou-1 only (another
site's officer); ``family`` of r001; ``integrator``. The seed alert is r001's fall at
xianlin-3, so the gulou officer gets 404 for it (out of scope looks like absent), and the
family member may read it but not act on it (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from safehood.database import households

from .conftest import Api, ApiBuilder

ROLES = ("admin", "officer", "gulou", "family", "integrator")
TOKEN_OF = {"gulou": "officer_gulou"}

NEW_HOUSEHOLD = {"id": "h777", "site": "xianlin-3"}
NEW_RESIDENT = {"id": "r777", "household": "h002", "name": "Test Person"}
NEW_DEVICE = {"device_id": "h002-water", "site": "xianlin-3", "kind": "water", "household": "h002"}
NEW_SILENCE = {"site": "xianlin-3", "ends_at": "2026-01-01T06:00:00Z", "comment": "drill"}
NEW_TOKEN = {"name": "New", "role": "officer", "sites": ["xianlin-3"]}
REGISTRY_FILE = {"households": [{"id": "h888", "site": "gulou-1"}]}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    expect: dict[str, int]  # role -> status
    body: Any = None


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def _only(status: int, *roles: str, others: int = 403) -> dict[str, int]:
    return {role: status if role in roles else others for role in ROLES}


def _alerts(ok: int, act: bool) -> dict[str, int]:
    """Alert routes on the seed alert: officers of its site and admins (families too, when
    reading); the other site's officer sees nothing; integrators are not for alerts."""
    return {"admin": ok, "officer": ok, "gulou": 404, "family": 403 if act else ok,
            "integrator": 403}


REGISTRY_WRITE = _only(200, "admin", "integrator")
OPERATORS = {"admin": 200, "officer": 200, "gulou": 200, "family": 403, "integrator": 200}
# Entities of xianlin-3: the gulou officer gets 404.
OPERATORS_XIANLIN = {**OPERATORS, "gulou": 404}

ROUTES = [
    Route("GET", "/api/v1/me", _all(200)),
    Route("GET", "/api/v1/alerts", {**_all(200), "integrator": 403}),
    Route("GET", "/api/v1/alerts/{alert}", _alerts(200, act=False)),
    Route("POST", "/api/v1/alerts/{alert}/acknowledge", _alerts(200, act=True), {"note": "x"}),
    Route("POST", "/api/v1/alerts/{alert}/escalate", _alerts(200, act=True), {}),
    Route("POST", "/api/v1/alerts/{alert}/resolve", _alerts(200, act=True), {"note": "ok"}),
    Route("GET", "/api/v1/alerts/{alert}/cap", _alerts(200, act=False)),
    Route("GET", "/api/v1/cap/feed", {**_all(200), "integrator": 403}),
    Route("GET", "/api/v1/sites", OPERATORS),
    Route("GET", "/api/v1/sites/xianlin-3/overview", OPERATORS_XIANLIN),
    Route("GET", "/api/v1/residents/r001/status",
          {"admin": 200, "officer": 200, "gulou": 404, "family": 200, "integrator": 403}),
    Route("GET", "/api/v1/residents/r002/status",
          {"admin": 200, "officer": 200, "gulou": 404, "family": 404, "integrator": 403}),
    Route("GET", "/api/v1/devices/health", OPERATORS),
    Route("GET", "/api/v1/devices/r001-band/readings", OPERATORS_XIANLIN),
    Route("GET", "/api/v1/households/h001/readings", OPERATORS_XIANLIN),
    Route("GET", "/api/v1/households", OPERATORS),
    Route("POST", "/api/v1/households", _only(201, "admin", "integrator"), NEW_HOUSEHOLD),
    Route("GET", "/api/v1/households/h001", OPERATORS_XIANLIN),
    Route("PUT", "/api/v1/households/h001", REGISTRY_WRITE, {"site": "xianlin-3"}),
    Route("PATCH", "/api/v1/households/h001", REGISTRY_WRITE, {"building": "b9"}),
    Route("DELETE", "/api/v1/households/h900", _only(204, "admin", "integrator")),
    Route("GET", "/api/v1/residents", OPERATORS),
    Route("POST", "/api/v1/residents", _only(201, "admin", "integrator"), NEW_RESIDENT),
    Route("GET", "/api/v1/residents/r001", OPERATORS_XIANLIN),
    Route("PUT", "/api/v1/residents/r001", REGISTRY_WRITE, {"household": "h001", "name": "W F"}),
    Route("PATCH", "/api/v1/residents/r001", REGISTRY_WRITE, {"dementia": True}),
    Route("DELETE", "/api/v1/residents/r003", _only(204, "admin", "integrator")),
    Route("GET", "/api/v1/devices", OPERATORS),
    Route("POST", "/api/v1/devices", _only(201, "admin", "integrator"), NEW_DEVICE),
    Route("GET", "/api/v1/devices/r001-band", OPERATORS_XIANLIN),
    Route("PUT", "/api/v1/devices/stair-smoke", REGISTRY_WRITE,
          {"site": "xianlin-3", "kind": "smoke", "room": "stairs"}),
    Route("PATCH", "/api/v1/devices/stair-smoke", REGISTRY_WRITE, {"room": "stairs"}),
    Route("DELETE", "/api/v1/devices/stair-smoke", _only(204, "admin", "integrator")),
    Route("POST", "/api/v1/devices/r001-band/credentials", REGISTRY_WRITE),
    Route("POST", "/api/v1/registry/import", REGISTRY_WRITE, REGISTRY_FILE),
    Route("GET", "/api/v1/registry/export", REGISTRY_WRITE),
    Route("GET", "/api/v1/deadletters", REGISTRY_WRITE),
    Route("GET", "/api/v1/deadletters/stats", REGISTRY_WRITE),
    Route("GET", "/api/v1/silences", OPERATORS),
    Route("POST", "/api/v1/silences",
          {"admin": 201, "officer": 201, "gulou": 403, "family": 403, "integrator": 201},
          NEW_SILENCE),
    Route("DELETE", "/api/v1/silences/{silence}",
          {"admin": 204, "officer": 204, "gulou": 404, "family": 403, "integrator": 204}),
    Route("GET", "/api/v1/tokens", _only(200, "admin")),
    Route("POST", "/api/v1/tokens", _only(201, "admin"), NEW_TOKEN),
    Route("DELETE", "/api/v1/tokens/{token}", _only(204, "admin")),
    Route("GET", "/healthz", _all(200)),
    Route("GET", "/readyz", _all(200)),
    Route("GET", "/metrics", _all(200)),
]
PUBLIC = {"/healthz", "/readyz", "/metrics"}


def _url(api: Api, route: Route) -> str:
    return route.path.format(alert=api.seed.alert_id, silence=api.seed.silence_id,
                             token=api.seed.spare_token_id)


def _call(api: Api, route: Route, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if route.body is not None:
        kwargs["json"] = route.body
    return api.client.request(route.method, _url(api, route), **kwargs)


def _add_spare_household(api: Api) -> Api:
    # A household with nobody and nothing in it, so that deleting it is allowed.
    with api.engine.begin() as connection:
        connection.execute(households.insert().values(
            id="h900", site="xianlin-3", lives_alone=False, timezone="UTC", night_start="22:00",
            night_end="06:00"))
    return api


@pytest.fixture(scope="module")
def reader(shared_api: Api) -> Api:
    return _add_spare_household(shared_api)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_role_matrix(route: Route, role: str, reader: Api, build_api: ApiBuilder) -> None:
    expected = route.expect[role]
    # Requests that change something get an API of their own; the rest share one.
    changes = route.method != "GET" and expected < 400
    api = _add_spare_household(build_api()) if changes else reader
    response = _call(api, route, api.headers(TOKEN_OF.get(role, role)))
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert set(response.json()) == {"detail"}
        assert response.json()["detail"]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.path not in PUBLIC],
                         ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("auth", [None, "Bearer nonsense", "Bearer shd_0123456789ab_forged",
                                  "Basic YWRtaW46YWRtaW4="])
def test_without_a_valid_token_every_route_is_401(reader: Api, route: Route,
                                                  auth: str | None) -> None:
    headers = {} if auth is None else {"Authorization": auth}
    response = _call(reader, route, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"]


def test_revoked_and_expired_tokens_are_refused(api: Api) -> None:
    from safehood.api import TokenStore

    tokens = TokenStore(api.engine, clock=lambda: 1_767_225_600_000)
    issued = tokens.create(name="Temp", role="admin", expires_ms=1_767_225_600_000 + 1000)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert api.client.get("/api/v1/me", headers=headers).status_code == 200
    later = TokenStore(api.engine, clock=lambda: 1_767_225_600_000 + 1000)
    assert later.authenticate(issued.token) is None  # expired
    tokens.revoke(issued.record.id)
    response = api.client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"] == "the token is unknown, revoked or expired"
