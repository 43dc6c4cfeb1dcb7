"""Readings, device health, sites, resident status, dead letters, silences, tokens,
readiness and metrics."""

from __future__ import annotations

from sqlalchemy import insert

from safehood.api import TokenStore
from safehood.database import dead_letters, device_health

from .conftest import NOW_MS, Api, ApiBuilder, write_readings

HOUR = 3_600_000


def _health(api: Api, device_id: str, site: str, *, last_seen_ms: int, online: bool | None = True,
            battery: int | None = 90, last_event_ms: int | None = None) -> None:
    with api.engine.begin() as connection:
        connection.execute(insert(device_health).values(
            device_id=device_id, site=site, kind=None, last_seen_ms=last_seen_ms,
            last_event_ms=last_event_ms, online=online, battery=battery, rssi=-60))


def test_readings_of_a_device_over_a_time_range(api: Api) -> None:
    times = [NOW_MS - 3 * HOUR, NOW_MS - 30 * 60_000, NOW_MS - 60_000]
    write_readings(api.store, "h001-smoke", "xianlin-3", "smoke", times)
    officer = api.headers("officer")
    last_hour = api.client.get("/api/v1/devices/h001-smoke/readings", headers=officer).json()
    assert [r["ts_ms"] for r in last_hour["data"]] == times[1:]
    assert last_hour["start"] == "2025-12-31T23:00:00.000Z"
    assert last_hour["data"][0]["ts"] == "2025-12-31T23:30:00.000Z"
    assert last_hour["data"][0]["fields"]["temp_c"] == 21.5
    window = api.client.get(
        "/api/v1/devices/h001-smoke/readings",
        params={"start": "2025-12-31T20:00:00Z", "end": str(NOW_MS - 20 * 60_000)},
        headers=officer).json()
    assert [r["ts_ms"] for r in window["data"]] == times[:2]
    limited = api.client.get("/api/v1/devices/h001-smoke/readings?start=0&limit=1",
                             headers=officer)
    assert limited.status_code == 422  # epoch 0 is outside 2000-2100
    assert limited.json()["detail"].startswith("start:")
    one = api.client.get(f"/api/v1/devices/h001-smoke/readings?start={NOW_MS - 4 * HOUR}&limit=1",
                         headers=officer).json()
    assert len(one["data"]) == 1


def test_readings_bad_times_are_422(api: Api) -> None:
    admin = api.headers("admin")
    for query, start in [("start=yesterday", "start: 'yesterday' is not RFC 3339"),
                         ("end=2026-13-01T00:00:00Z", "end: '2026-13-01T00:00:00Z' is not RFC"),
                         ("start=2026-01-01T00:00:00", "start: '2026-01-01T00:00:00' has no UTC"),
                         (f"start={NOW_MS}&end={NOW_MS - 1}", "start: must be before end"),
                         ("limit=0", "limit: Input should be greater than or equal to 1")]:
        response = api.client.get(f"/api/v1/devices/h001-smoke/readings?{query}", headers=admin)
        assert response.status_code == 422, query
        assert response.json()["detail"].startswith(start), response.json()


def test_readings_of_a_household_are_its_devices_readings_in_one_request(api: Api) -> None:
    write_readings(api.store, "h001-smoke", "xianlin-3", "smoke", [NOW_MS - 2 * HOUR, NOW_MS - 60_000])
    write_readings(api.store, "r001-band", "xianlin-3", "smoke", [NOW_MS - 30_000])
    write_readings(api.store, "h002-motion", "xianlin-3", "smoke", [NOW_MS - 30_000])
    officer = api.headers("officer")
    window = {"start": str(NOW_MS - 3 * HOUR), "end": str(NOW_MS)}
    body = api.client.get("/api/v1/households/h001/readings", params=window,
                          headers=officer).json()
    assert (body["household"], body["start"], body["end"]) == (
        "h001", "2025-12-31T21:00:00.000Z", "2026-01-01T00:00:00.000Z")
    assert [d["device_id"] for d in body["devices"]] == ["h001-smoke", "r001-band", "r002-band"]
    for device in body["devices"]:
        alone = api.client.get(f"/api/v1/devices/{device['device_id']}/readings",
                               params=window, headers=officer).json()
        assert device == alone
    assert [len(d["data"]) for d in body["devices"]] == [2, 1, 0]
    limited = api.client.get("/api/v1/households/h001/readings",
                             params={**window, "limit": "1"}, headers=officer).json()
    assert [len(d["data"]) for d in limited["devices"]] == [1, 1, 0]
    for household, headers in [("h404", officer), ("h101", officer),
                               ("h001", api.headers("officer_gulou"))]:
        response = api.client.get(f"/api/v1/households/{household}/readings", headers=headers)
        assert response.status_code == 404, household
    response = api.client.get("/api/v1/households/h001/readings",
                              params={"start": str(NOW_MS), "end": str(NOW_MS - 1)},
                              headers=officer)
    assert (response.status_code, response.json()) == (422, {"detail": "start: must be before end"})


def test_device_health_and_problems(api: Api) -> None:
    _health(api, "h001-smoke", "xianlin-3", last_seen_ms=NOW_MS - 60_000, battery=15)
    _health(api, "r001-band", "xianlin-3", last_seen_ms=NOW_MS - 60_000, online=False)
    _health(api, "r002-band", "xianlin-3", last_seen_ms=NOW_MS - 7 * HOUR)
    _health(api, "h002-motion", "xianlin-3", last_seen_ms=NOW_MS - 60_000,
            last_event_ms=NOW_MS - 120_000)
    rows = api.client.get("/api/v1/devices/health?site=xianlin-3",
                          headers=api.headers("officer")).json()["data"]
    problems = {r["device_id"]: r["problem"] for r in rows}
    assert problems == {"h001-smoke": "battery_low", "r001-band": "offline",
                        "r002-band": "silent", "h002-motion": None, "stair-smoke": "silent"}
    motion = next(r for r in rows if r["device_id"] == "h002-motion")
    assert motion["last_seen"] == "2025-12-31T23:59:00.000Z"
    assert motion["battery"] == 90 and motion["online"] is True and motion["rssi"] == -60
    mine = api.client.get("/api/v1/devices/health", headers=api.headers("officer_gulou")).json()
    assert [r["device_id"] for r in mine["data"]] == ["h101-water"]
    by_home = api.client.get("/api/v1/devices/health?household=h002",
                             headers=api.headers("integrator")).json()
    assert [r["device_id"] for r in by_home["data"]] == ["h002-motion"]


def test_site_overview(api: Api) -> None:
    _health(api, "h002-motion", "xianlin-3", last_seen_ms=NOW_MS - 60_000,
            last_event_ms=NOW_MS - 120_000, battery=10)
    overview = api.client.get("/api/v1/sites/xianlin-3/overview",
                              headers=api.headers("officer")).json()
    homes = {h["id"]: h for h in overview["households"]}
    assert set(homes) == {"h001", "h002"}
    assert homes["h001"]["state"] == "alert"  # the seed fall of r001
    assert homes["h001"]["open_alerts"] == 1
    assert homes["h001"]["worst_severity"] == "Severe"
    assert homes["h001"]["residents"] == [{"id": "r001", "name": "Wang Fang"},
                                          {"id": "r002", "name": "Wang Lei"}]
    assert homes["h002"]["state"] == "device_problem"
    assert homes["h002"]["battery_low"] == 1
    assert homes["h002"]["last_activity"] == "2025-12-31T23:58:00.000Z"
    sites = api.client.get("/api/v1/sites", headers=api.headers("admin")).json()["data"]
    assert sites == [{"id": "gulou-1", "households": 1, "devices": 1, "open_alerts": 0},
                     {"id": "xianlin-3", "households": 2, "devices": 5, "open_alerts": 1}]
    unknown = api.client.get("/api/v1/sites/nowhere/overview", headers=api.headers("admin"))
    assert unknown.status_code == 404


def test_resident_status_for_the_family(api: Api) -> None:
    _health(api, "r001-band", "xianlin-3", last_seen_ms=NOW_MS - 60_000,
            last_event_ms=NOW_MS - 300_000)
    status = api.client.get("/api/v1/residents/r001/status", headers=api.headers("family"))
    assert status.status_code == 200
    body = status.json()
    assert body["resident"] == {"id": "r001", "name": "Wang Fang", "household": "h001"}
    assert body["last_activity"] == "2025-12-31T23:55:00.000Z"
    assert [a["id"] for a in body["open_alerts"]] == [api.seed.alert_id]
    assert body["open_alerts"][0]["notifications"] == []
    assert {d["device_id"] for d in body["devices"]} == {"h001-smoke", "r001-band", "r002-band"}
    assert body["devices_ok"] is False  # two of them were never heard from
    other = api.client.get("/api/v1/residents/r003/status", headers=api.headers("family"))
    assert other.status_code == 404
    assert other.json() == {"detail": "no resident 'r003'"}


def test_dead_letters_filter_and_stats(api: Api) -> None:
    rows = [
        {"received_ms": NOW_MS - 3000, "topic": "safehood/v1/x/d1/event", "reason": "bad_json",
         "detail": "not JSON", "payload": b"{oops", "payload_size": 5},
        {"received_ms": NOW_MS - 2000, "topic": "safehood/v1/x/d2/event",
         "reason": "unknown_device", "detail": "device 'd2' is not registered",
         "payload": b'{"ts": 1}', "payload_size": 9},
        {"received_ms": NOW_MS - 1000, "topic": "safehood/v1/x/d1/event", "reason": "bad_json",
         "detail": "not JSON", "payload": b"\xff\xfe", "payload_size": 2},
    ]
    with api.engine.begin() as connection:
        connection.execute(insert(dead_letters), rows)
    headers = api.headers("integrator")
    listed = api.client.get("/api/v1/deadletters?reason=bad_json", headers=headers).json()
    assert listed["count"] == 2
    assert [d["payload"] for d in listed["data"]] == ["\ufffd\ufffd", "{oops"]  # newest first
    assert listed["data"][0]["received_at"] == "2025-12-31T23:59:59.000Z"
    assert api.client.get("/api/v1/deadletters?limit=1",
                          headers=headers).json()["data"][0]["reason"] == "bad_json"
    stats = api.client.get("/api/v1/deadletters/stats", headers=headers).json()
    assert stats == {"total": 3, "by_reason": {"bad_json": 2, "unknown_device": 1}}
    bad = api.client.get("/api/v1/deadletters?reason=gremlins", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("reason: Input should be")


def test_silences(api: Api) -> None:
    officer = api.headers("officer")
    created = api.client.post("/api/v1/silences", headers=officer, json={
        "household": "h002", "types": ["inactivity"], "ends_at": NOW_MS + 2 * HOUR,
        "comment": "family visiting"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["created_by"] == "officer:Li Wei"
    assert body["starts_at"] == "2026-01-01T00:00:00.000Z"
    assert body["active"] is True
    listed = api.client.get("/api/v1/silences?active=true", headers=officer).json()["data"]
    assert {s["id"] for s in listed} == {body["id"], api.seed.silence_id}
    # The gulou officer sees neither, and may not silence xianlin-3's households.
    gulou = api.headers("officer_gulou")
    assert api.client.get("/api/v1/silences", headers=gulou).json()["data"] == []
    refused = api.client.post("/api/v1/silences", headers=gulou,
                              json={"household": "h001", "ends_at": NOW_MS + HOUR})
    assert refused.status_code == 403
    empty = api.client.post("/api/v1/silences", headers=api.headers("admin"),
                            json={"ends_at": NOW_MS + HOUR})
    assert empty.status_code == 422
    assert "site, a household or a device" in empty.json()["detail"]
    backwards = api.client.post("/api/v1/silences", headers=api.headers("admin"),
                                json={"site": "gulou-1", "ends_at": NOW_MS - HOUR})
    assert backwards.status_code == 422
    assert api.client.delete(f"/api/v1/silences/{body['id']}", headers=officer).status_code == 204
    assert api.client.delete(f"/api/v1/silences/{body['id']}", headers=officer).status_code == 404


def test_tokens_through_the_api(api: Api) -> None:
    admin = api.headers("admin")
    created = api.client.post("/api/v1/tokens", headers=admin, json={
        "name": "Zhou", "role": "family", "residents": ["r003"],
        "expires_at": "2026-06-01T00:00:00Z"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("shd_")
    assert created.json()["expires_at"] == "2026-06-01T00:00:00.000Z"
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/me", headers=headers).json() == {
        "name": "Zhou", "role": "family", "sites": [], "residents": ["r003"]}
    listed = api.client.get("/api/v1/tokens", headers=admin).json()["data"]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert token not in api.client.get("/api/v1/tokens", headers=admin).text
    token_id = created.json()["id"]
    assert api.client.delete(f"/api/v1/tokens/{token_id}", headers=admin).status_code == 204
    assert api.client.get("/api/v1/me", headers=headers).status_code == 401
    revoked = next(t for t in api.client.get("/api/v1/tokens", headers=admin).json()["data"]
                   if t["id"] == token_id)
    assert revoked["active"] is False and revoked["revoked_at"] == "2026-01-01T00:00:00.000Z"
    assert api.client.delete("/api/v1/tokens/abcdef123456", headers=admin).status_code == 404
    for body, reason in [
        ({"name": "X", "role": "officer"}, "an officer token needs at least one site"),
        ({"name": "X", "role": "family", "sites": ["xianlin-3"], "residents": ["r001"]},
         "a family token is scoped by residents, not sites"),
        ({"name": "X", "role": "admin", "sites": ["xianlin-3"]}, "an admin token is not scoped"),
        ({"name": "X", "role": "root"}, "role: Input should be"),
        ({"name": "X", "role": "admin", "expires_at": "2020-01-01T00:00:00Z"},
         "the expiry time is in the past"),
    ]:
        response = api.client.post("/api/v1/tokens", headers=admin, json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"].startswith(reason), response.json()


def test_token_store_keeps_only_a_hash(api: Api) -> None:
    store = TokenStore(api.engine)
    issued = store.create(name="Hash", role="integrator")
    with api.engine.connect() as connection:
        dump = "\n".join(str(tuple(r)) for r in connection.exec_driver_sql(
            "SELECT * FROM api_tokens"))
    assert issued.token not in dump
    assert issued.token.split("_", 2)[2] not in dump
    assert store.authenticate(issued.token).role == "integrator"
    assert store.authenticate(issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")) is None


def test_readiness_reports_which_component_failed(build_api: ApiBuilder) -> None:
    up = build_api()
    ready = up.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready",
                            "components": {"broker": "ok", "store": "ok", "database": "ok"}}
    assert up.client.get("/healthz").json() == {"status": "ok"}

    def broker_down() -> bool:
        raise ConnectionRefusedError("connection refused")

    down = build_api(broker_ready=broker_down)
    down.store.close()
    response = down.client.get("/readyz")
    assert response.status_code == 503
    components = response.json()["components"]
    assert components["broker"].startswith("broker failed: ConnectionRefusedError")
    assert components["store"] == "store does not answer"
    assert components["database"] == "ok"
    assert down.client.get("/healthz").status_code == 200


def test_metrics(api: Api) -> None:
    with api.engine.begin() as connection:
        connection.execute(insert(dead_letters).values(
            received_ms=NOW_MS, topic="t", reason="bad_json", detail="d", payload=b"x",
            payload_size=1))
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert 'safehood_alerts{status="firing",type="fall"} 1.0' in lines
    assert 'safehood_alerts{status="resolved",type="fall"} 0.0' in lines
    assert 'safehood_dead_letters_stored{reason="bad_json"} 1.0' in lines
    assert "safehood_api_stream_clients 0.0" in lines
    # The process's own registry comes along (ingest and store counters live there).
    assert any(line.startswith("python_info") for line in lines)


def test_unknown_routes_and_methods_are_json(api: Api) -> None:
    missing = api.client.get("/api/v1/nothing-here", headers=api.headers("admin"))
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    wrong = api.client.put("/api/v1/alerts", headers=api.headers("admin"))
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": "Method Not Allowed"}


def test_ui_is_served(api: Api) -> None:
    root = api.client.get("/", follow_redirects=False)
    assert root.status_code in (302, 307)
    assert root.headers["location"] == "/ui/"
    page = api.client.get("/ui/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
