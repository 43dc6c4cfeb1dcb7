"""Alerts through the API: listing, filters, order, scope, lifecycle actions, CAP."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from safehood.protocol import AlertDecision, DecisionAction, Severity
from safehood.protocol import AlertType as T

from .._cap_schema import assert_valid_cap
from .conftest import NOW_MS, Api, ApiBuilder

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def _seed(api: Api) -> dict[str, str]:
    return {
        "fall_r001": api.seed.alert_id,  # raised at NOW - 10 min
        "smoke_h001": api.raise_alert(T.SMOKE, "h001-smoke", "xianlin-3", household="h001",
                                      device_id="h001-smoke", severity=Severity.MODERATE,
                                      ts_ms=NOW_MS - 40_000),
        "fall_r002": api.raise_alert(T.FALL, "r002-band", "xianlin-3", household="h001",
                                     resident="r002", device_id="r002-band",
                                     ts_ms=NOW_MS - 30_000),
        "inact_h002": api.raise_alert(T.INACTIVITY, "h002", "xianlin-3", household="h002",
                                      severity=Severity.MODERATE, ts_ms=NOW_MS - 20_000),
        "leak_h101": api.raise_alert(T.WATER_LEAK, "h101-water", "gulou-1", household="h101",
                                     device_id="h101-water", ts_ms=NOW_MS - 10_000),
        "fire_stair": api.raise_alert(T.FIRE, "stair-smoke", "xianlin-3", device_id="stair-smoke",
                                      severity=Severity.EXTREME, ts_ms=NOW_MS - 90_000),
    }


def _ids(response: object) -> set[str]:
    return {a["id"] for a in response.json()["data"]}  # type: ignore[attr-defined]


def test_each_role_lists_only_its_scope(api: Api) -> None:
    ids = _seed(api)
    everything = api.client.get("/api/v1/alerts", headers=api.headers("admin"))
    assert everything.status_code == 200
    assert everything.json()["count"] == 6
    officer = api.client.get("/api/v1/alerts", headers=api.headers("officer"))
    assert _ids(officer) == {ids[k] for k in ids if k != "leak_h101"}
    gulou = api.client.get("/api/v1/alerts", headers=api.headers("officer_gulou"))
    assert _ids(gulou) == {ids["leak_h101"]}
    # The family of r001 sees r001's fall and the smoke in their home, not r002's fall.
    family = api.client.get("/api/v1/alerts", headers=api.headers("family"))
    assert _ids(family) == {ids["fall_r001"], ids["smoke_h001"]}
    assert family.json()["count"] == 2
    # An officer asking for another site's alerts gets none (not an error, not the alerts).
    other = api.client.get("/api/v1/alerts?site=gulou-1", headers=api.headers("officer"))
    assert other.json() == {"data": [], "count": 0}


def test_family_gets_404_for_another_residents_alert(api: Api) -> None:
    ids = _seed(api)
    own = api.client.get(f"/api/v1/alerts/{ids['fall_r001']}", headers=api.headers("family"))
    assert own.status_code == 200
    assert own.json()["resident"] == "r001"
    for key in ("fall_r002", "inact_h002", "leak_h101", "fire_stair"):
        response = api.client.get(f"/api/v1/alerts/{ids[key]}", headers=api.headers("family"))
        assert response.status_code == 404, key
        assert "alert" not in response.json()
        assert response.json()["detail"] == f"no alert {ids[key]!r}"
    cap = api.client.get(f"/api/v1/alerts/{ids['fall_r002']}/cap", headers=api.headers("family"))
    assert cap.status_code == 404


def _assert_acknowledge_refused(api: Api, alert_id: str, role: str, status_code: int) -> None:
    """``role`` may not acknowledge the alert: answered ``status_code``, it stays firing."""
    ack = api.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=api.headers(role),
                          json={})
    assert ack.status_code == status_code
    assert api.manager.get(alert_id).status == "firing"


def test_officer_gets_404_for_another_sites_alert(api: Api) -> None:
    ids = _seed(api)
    response = api.client.get(f"/api/v1/alerts/{ids['leak_h101']}", headers=api.headers("officer"))
    assert response.status_code == 404
    _assert_acknowledge_refused(api, ids["leak_h101"], "officer", 404)


def test_order_open_first_then_severity_then_newest(api: Api) -> None:
    ids = _seed(api)
    api.manager.resolve(ids["fire_stair"], "test", "false alarm")
    data = api.client.get("/api/v1/alerts", headers=api.headers("officer")).json()["data"]
    order = [a["id"] for a in data]
    # Open: Severe (r002 newer than r001), then Moderate (inactivity newer than smoke);
    # the resolved Extreme fire comes last.
    assert order == [ids["fall_r002"], ids["fall_r001"], ids["inact_h002"], ids["smoke_h001"],
                     ids["fire_stair"]]
    # Paging walks the same order across the open/resolved boundary.
    pages = [api.client.get(f"/api/v1/alerts?limit=2&offset={o}",
                            headers=api.headers("officer")).json() for o in (0, 2, 4)]
    assert [a["id"] for p in pages for a in p["data"]] == order
    assert all(p["count"] == 5 for p in pages)


def test_filters(api: Api) -> None:
    ids = _seed(api)
    admin = api.headers("admin")

    def get(query: str) -> set[str]:
        response = api.client.get(f"/api/v1/alerts?{query}", headers=admin)
        assert response.status_code == 200, response.text
        return _ids(response)

    assert get("type=fall") == {ids["fall_r001"], ids["fall_r002"]}
    assert get("type=fall&type=fire") == {ids["fall_r001"], ids["fall_r002"], ids["fire_stair"]}
    assert get("severity=Extreme") == {ids["fire_stair"]}
    assert get("site=gulou-1") == {ids["leak_h101"]}
    assert get("household=h002") == {ids["inact_h002"]}
    # A resident's alerts: their own and their home's that concern no one in particular.
    assert get("resident=r002") == {ids["fall_r002"], ids["smoke_h001"]}
    assert get("status=resolved") == set()
    since = NOW_MS - 35_000
    assert get(f"since={since}") == {ids["fall_r002"], ids["inact_h002"], ids["leak_h101"]}
    assert get("until=2025-12-31T23:59:00Z") == {ids["fire_stair"], ids["fall_r001"]}


def test_bad_filters_are_422_with_a_reason(api: Api) -> None:
    admin = api.headers("admin")
    for query, word in [("type=meteor", "type"), ("since=yesterday", "since"),
                        ("limit=0", "limit"), ("limit=1001", "limit"), ("offset=-1", "offset"),
                        ("status=open", "status"), ("until=1900-01-01T00:00:00Z", "until")]:
        response = api.client.get(f"/api/v1/alerts?{query}", headers=admin)
        assert response.status_code == 422, query
        assert response.json()["detail"].startswith(word), response.json()


def test_detail_has_history_and_evidence(api: Api) -> None:
    ids = _seed(api)
    alert = api.client.get(f"/api/v1/alerts/{ids['fall_r001']}", headers=api.headers("officer")).json()
    assert alert["evidence"] == {"why": "test"}
    assert alert["history"][0]["action"] == "raised"
    assert alert["started_at"] == "2025-12-31T23:50:00.000Z"


def test_acknowledge_escalate_resolve(api: Api) -> None:
    ids = _seed(api)
    officer = api.headers("officer")
    alert_id = ids["fall_r001"]
    ack = api.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=officer,
                          json={"note": "on my way"})
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged"
    assert {"at": "2026-01-01T00:00:00.000Z", "action": "acknowledged", "actor": "officer:Li Wei",
            "note": "on my way"} in ack.json()["history"]
    again = api.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=officer)
    assert again.status_code == 409
    assert "acknowledged" in again.json()["detail"]
    esc = api.client.post(f"/api/v1/alerts/{alert_id}/escalate", headers=officer,
                          json={"note": "needs an ambulance"})
    assert esc.status_code == 200, esc.text
    # The seeded fall was raised confirmed, so the family's tier was told with it.
    escalated = [e for e in esc.json()["history"] if e["action"] == "escalated"]
    assert [(e["actor"], e["note"]) for e in escalated] == [
        ("system", "tier 1: family"),
        ("officer:Li Wei", "tier 2: supervisor, family; needs an ambulance")]
    # A fall has four tiers; the officers' and the family's were told when it was raised.
    assert api.client.post(f"/api/v1/alerts/{alert_id}/escalate", headers=officer).status_code == 200
    last = api.client.post(f"/api/v1/alerts/{alert_id}/escalate", headers=officer)
    assert last.status_code == 409
    assert "no further escalation tier" in last.json()["detail"]
    no_note = api.client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=officer, json={})
    assert no_note.status_code == 422
    assert no_note.json()["detail"] == "note: Field required"
    empty = api.client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=officer,
                            json={"note": ""})
    assert empty.status_code == 422
    done = api.client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=officer,
                           json={"note": "helped her up, no injury"})
    assert done.status_code == 200
    assert done.json()["status"] == "resolved"
    resolved = [e for e in done.json()["history"] if e["action"] == "resolved"]
    assert resolved[0]["note"] == "helped her up, no injury"
    assert resolved[0]["actor"] == "officer:Li Wei"
    twice = api.client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=officer,
                            json={"note": "again"})
    assert twice.status_code == 409
    unknown = api.client.post("/api/v1/alerts/nope/acknowledge", headers=officer)
    assert unknown.status_code == 404


def test_family_cannot_act(api: Api) -> None:
    ids = _seed(api)
    _assert_acknowledge_refused(api, ids["fall_r001"], "family", 403)


def test_cap_of_one_alert(api: Api) -> None:
    ids = _seed(api)
    response = api.client.get(f"/api/v1/alerts/{ids['fire_stair']}/cap",
                              headers=api.headers("officer"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/cap+xml")
    assert assert_valid_cap(response.content) == 1
    root = ET.fromstring(response.content)
    assert root.tag == f"{CAP}alert"
    assert root.find(f"{CAP}info/{CAP}severity").text == "Extreme"


def test_cap_feed_is_scoped(api: Api) -> None:
    ids = _seed(api)
    response = api.client.get("/api/v1/cap/feed", headers=api.headers("officer_gulou"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert assert_valid_cap(response.content) == 1
    text = response.text
    assert ids["leak_h101"] in text
    assert ids["fire_stair"] not in text


def test_cap_feed_survives_control_characters_and_names_the_configured_sender(
        build_api: ApiBuilder) -> None:
    api = build_api(cap_sender="safehood@centre.example.org")
    api.manager.apply([AlertDecision(
        action=DecisionAction.RAISE, type=T.FORCED_ENTRY, severity=Severity.SEVERE,
        subject="h002-door", site="xianlin-3", ts_ms=NOW_MS - 5_000, household="h002",
        device_id="h002-door", evidence={"credential": "\x07\x1bbadge\x00"})])
    alert_id = _seed(api)["fire_stair"]
    api.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=api.headers("officer"))
    feed = api.client.get("/api/v1/cap/feed", headers=api.headers("officer"))
    assert feed.status_code == 200
    assert assert_valid_cap(feed.content) == 6
    root = ET.fromstring(feed.content)
    senders = {e.text for e in root.iter(f"{CAP}sender")}
    assert senders == {"safehood@centre.example.org"}
    assert "credential=badge" in feed.text


def test_each_change_of_an_alert_is_a_new_cap_message(api: Api) -> None:
    # The API's clock stands still: acknowledge and escalate happen in the same instant.
    alert_id, officer = api.seed.alert_id, api.headers("officer")
    identifiers = []
    for action in ("acknowledge", "escalate", "escalate"):
        assert api.client.post(f"/api/v1/alerts/{alert_id}/{action}",
                               headers=officer).status_code == 200
        cap = api.client.get(f"/api/v1/alerts/{alert_id}/cap", headers=officer)
        assert assert_valid_cap(cap.content) == 1
        identifiers.append(ET.fromstring(cap.content).findtext(f"{CAP}identifier"))
    assert len(set(identifiers)) == 3, identifiers
