"""The duty desk through the API: the care record beside an alert (and who may read the
access notes), edits with validation, the incident log, resolution causes, and one clock."""

from __future__ import annotations

import dataclasses
from typing import Any

from safehood.protocol import AlertType as T
from safehood.protocol import Severity

from .conftest import NOW_MS, Api

CARE = {
    "floor": 3, "unit": "302",
    "responders": [
        {"name": "Wang Jun", "relation": "family", "phone": "+86 139 0000 0001",
         "note": "son, 20 min away"},
        {"name": "Liu Na", "relation": "neighbour", "phone": "+86 139 0000 0002"},
        {"name": "Zhou Min", "relation": "grid_worker", "phone": "+86 139 0000 0003"},
    ],
    "key_holders": [{"name": "Liu Na", "phone": "+86 139 0000 0002",
                     "access_note": "spare key in 301; chain at night"}],
    "access_notes": "door code at the grid office",
}


def _patch(api: Api, path: str, body: dict[str, Any], role: str = "officer") -> Any:
    return api.client.patch(f"/api/v1/{path}", json=body, headers=api.headers(role))


def test_care_record_is_edited_by_officers_and_gated_by_role(api: Api) -> None:
    assert _patch(api, "households/h001/care", CARE).status_code == 200
    resident = _patch(api, "residents/r001/care", {
        "birth_year": 1941, "conditions": ["dementia", "hypertension"],
        "mobility": "walker", "language": "zh"})
    assert resident.status_code == 200, resident.text
    alert_id = api.seed.alert_id  # r001's fall
    officer = api.client.get(f"/api/v1/alerts/{alert_id}/care", headers=api.headers("officer"))
    care = officer.json()
    assert (care["floor"], care["unit"], care["access_shown"]) == (3, "302", True)
    assert [p["relation"] for p in care["responders"]] == ["family", "neighbour", "grid_worker"]
    assert care["key_holders"][0]["access_note"] == "spare key in 301; chain at night"
    first = care["residents"][0]
    # The alert's resident first; age by the year of the site's clock (2026).
    assert (first["id"], first["age"], first["conditions"]) == ("r001", 85, ["dementia", "hypertension"])

    family = api.client.get(f"/api/v1/alerts/{alert_id}/care", headers=api.headers("family")).json()
    assert family["access_shown"] is False and family["access_notes"] is None
    assert family["key_holders"][0]["access_note"] is None
    integrator = api.client.get("/api/v1/households/h001", headers=api.headers("integrator")).json()
    assert integrator["key_holders"][0]["access_note"] is None
    assert integrator["responders"][0]["name"] == "Wang Jun"
    # An integrator writing the key holders back (without the notes it never saw) keeps them.
    back = _patch(api, "households/h001/care",
                  {"key_holders": integrator["key_holders"]}, role="integrator")
    assert back.status_code == 200
    admin = api.client.get("/api/v1/households/h001", headers=api.headers("admin")).json()
    assert admin["key_holders"][0]["access_note"] == "spare key in 301; chain at night"
    assert _patch(api, "households/h001/care", {"access_notes": "x"},
                  role="integrator").status_code == 403
    assert _patch(api, "households/h001", {"access_notes": "x"},
                  role="integrator").status_code == 403
    # An integrator's PUT replaces what it sees, and keeps the access notes it does not.
    put = api.client.put("/api/v1/households/h001", headers=api.headers("integrator"),
                         json={"site": "xianlin-3", "building": "b1", "unit": "302",
                               "key_holders": integrator["key_holders"]})
    assert put.status_code == 200, put.text
    admin = api.client.get("/api/v1/households/h001", headers=api.headers("admin")).json()
    assert admin["access_notes"] == "door code at the grid office"
    assert admin["key_holders"][0]["access_note"] == "spare key in 301; chain at night"
    # The care record goes into the registry file, and an export imports back unchanged.
    export = api.client.get("/api/v1/registry/export", headers=api.headers("admin")).json()
    assert next(h for h in export["households"] if h["id"] == "h001")["unit"] == "302"


def test_care_edits_are_validated_and_scoped(api: Api) -> None:
    bad = [
        ("households/h001/care", {"responders": [{"name": "X", "relation": "cousin",
                                                  "phone": "+86 1"}]}),
        ("households/h001/care", {"responders": [{"name": "X", "relation": "family",
                                                  "phone": "call me"}]}),
        ("households/h001/care", {"floor": "third"}),
        ("households/h001/care", {"colour": "red"}),
        ("residents/r001/care", {"birth_year": 1700}),
        ("residents/r001/care", {"language": "Chinese!"}),
    ]
    for path, body in bad:
        assert _patch(api, path, body).status_code == 422, body
    # Another site's officer, and a family, may not edit.
    assert _patch(api, "households/h001/care", {"unit": "1"},
                  role="officer_gulou").status_code == 404
    assert _patch(api, "households/h001/care", {"unit": "1"}, role="family").status_code == 403
    assert _patch(api, "residents/r101/care", {"language": "zh"}).status_code == 404


def test_incident_log_and_resolution_cause(api: Api) -> None:
    fire = api.raise_alert(T.FIRE, "h001", "xianlin-3", household="h001",
                           severity=Severity.EXTREME, ts_ms=NOW_MS - 90_000)
    url = f"/api/v1/alerts/{fire}"
    officer = api.headers("officer")
    for body in ({"action": "called", "whom": "Wang Jun", "outcome": "reached",
                  "note": "he is on his way"},
                 {"action": "dispatched", "whom": "Zhou Min"},
                 {"action": "arrived", "whom": "Zhou Min"},
                 {"action": "handed-over", "service": "119"}):
        response = api.client.post(f"{url}/actions", json=body, headers=officer)
        assert response.status_code == 200, response.text
    for body in ({"action": "called", "whom": "Wang Jun"},  # no outcome
                 {"action": "dispatched"},
                 {"action": "handed-over", "service": "110"},
                 {"action": "prayed"}):
        assert api.client.post(f"{url}/actions", json=body, headers=officer).status_code == 422
    assert api.client.post(f"{url}/actions", json={"action": "arrived"},
                           headers=api.headers("family")).status_code == 403
    resolved = api.client.post(f"{url}/resolve", headers=officer,
                               json={"note": "kitchen fire put out", "cause": "real"}).json()
    assert resolved["resolution"] == "real"
    people = [(e["action"], e.get("detail")) for e in resolved["history"]
              if e["actor"] == "officer:Li Wei"]
    assert people == [
        ("called", {"whom": "Wang Jun", "outcome": "reached"}),
        ("dispatched", {"whom": "Zhou Min"}),
        ("arrived", {"whom": "Zhou Min"}),
        ("handed-over", {"service": "119"}),
        ("resolved", {"cause": "real"}),
    ]
    # Without an event clock (no detectors in this process) actions are on the wall clock.
    assert all(e["at"] == "2026-01-01T00:00:00.000Z" for e in resolved["history"]
               if e["actor"] == "officer:Li Wei")
    assert api.client.post(f"{url}/actions", json={"action": "arrived"},
                           headers=officer).status_code == 409
    assert api.client.post(f"{url}/resolve", headers=officer,
                           json={"note": "x", "cause": "ghost"}).status_code == 422


def test_people_act_on_the_site_event_clock(build_api: Any) -> None:
    event_ms = NOW_MS - 2 * 86_400_000  # a replay from two days ago
    api = build_api()
    api.app.state.services = _with_event_clock(api, lambda site: event_ms)
    clock = api.client.get("/api/v1/sites/xianlin-3/clock", headers=api.headers("officer"))
    assert clock.json() == {"site": "xianlin-3", "now": "2025-12-30T00:00:00.000Z",
                            "now_ms": event_ms, "timezone": "UTC", "simulated": False}
    assert api.client.get("/api/v1/sites/gulou-1/clock",
                          headers=api.headers("officer")).status_code == 404
    acked = api.client.post(f"/api/v1/alerts/{api.seed.alert_id}/acknowledge", json={},
                            headers=api.headers("officer")).json()
    assert acked["acknowledged_at"] == "2025-12-30T00:00:00.000Z"
    status = api.client.get("/api/v1/residents/r001/status", headers=api.headers("family"))
    assert status.json()["clock"]["now_ms"] == event_ms


def _with_event_clock(api: Api, event_clock: Any) -> Any:
    services = api.app.state.services
    return dataclasses.replace(
        services, context=dataclasses.replace(services.context, event_clock=event_clock))
