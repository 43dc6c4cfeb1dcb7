"""The duty desk routes: building plan, response metrics, shift handover (JSON and CSV),
response gauges in /metrics, and recurring quiet hours."""

from __future__ import annotations

import csv
import io

from prometheus_client import CollectorRegistry, generate_latest

from safehood.api._metrics import ApiCollector
from safehood.protocol import AlertType, Severity

from .conftest import NOW_MS, Api

SITE = "xianlin-3"


def test_the_plan_highlights_the_fire_floor_and_those_above(api: Api) -> None:
    integrator = api.headers("integrator")
    assert api.client.patch("/api/v1/households/h001", headers=integrator,
                            json={"floor": 2, "unit": "201"}).status_code == 200
    for home, floor, unit in (("h003", 1, "101"), ("h004", 3, "301"), ("h005", 2, "202")):
        created = api.client.post("/api/v1/households", headers=integrator, json={
            "id": home, "site": SITE, "building": "b1", "floor": floor, "unit": unit})
        assert created.status_code == 201, created.text
        assert (created.json()["floor"], created.json()["unit"]) == (floor, unit)
    fire = api.raise_alert(AlertType.FIRE, "b1", SITE, household="h001", device_id="h001-smoke",
                           severity=Severity.EXTREME)
    plan = api.client.get(f"/api/v1/sites/{SITE}/plan", headers=api.headers("officer"))
    assert plan.status_code == 200, plan.text
    [b1, b2] = plan.json()["buildings"]
    assert (b1["id"], b1["fire"], b2["fire"]) == ("b1", True, False)
    floors = [(f["floor"], [(u["unit"], u["fire"], u["at_risk"]) for u in f["units"]])
              for f in b1["floors"]]
    # Top floor first; the fire's floor and the floors above it are at risk.
    assert floors == [(3, [("301", False, True)]),
                      (2, [("201", True, True), ("202", False, True)]),
                      (1, [("101", False, False)])]
    burning = b1["floors"][1]["units"][0]
    assert burning["worst_severity"] == "Extreme"
    assert fire in {a["id"] for a in burning["open_alerts"]}
    assert api.client.get("/api/v1/sites/gulou-1/plan",
                          headers=api.headers("officer")).status_code == 404



def test_the_response_gauges_are_computed_again_once_older_than_their_bound(api: Api) -> None:
    now_s = [0.0]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ApiCollector(api.app.state.services, response_max_age_s=60,
                                   monotonic=lambda: now_s[0]))
    gauge = ('safehood_response_acknowledge_seconds{quantile="0.5",shift="20:00",'
             'site="xianlin-3",type="fall"} 40.0')

    def lines() -> list[str]:
        return generate_latest(registry).decode().splitlines()

    assert gauge not in lines()  # the seed's fall is not acknowledged yet
    api.manager.acknowledge(api.seed.alert_id, "officer:Li Wei", at_ms=NOW_MS - 560_000)
    now_s[0] = 59.0
    assert gauge not in lines()  # kept
    assert 'safehood_alerts{status="acknowledged",type="fall"} 1.0' in lines()  # not kept
    now_s[0] = 60.0
    assert gauge in lines()

def test_response_metrics_handover_and_gauges(api: Api) -> None:
    # The seed's fall started at NOW - 10 min (23:50 UTC, the night shift): acknowledged 40 s
    # later, and a leak raised and resolved within the same shift.
    api.manager.acknowledge(api.seed.alert_id, "officer:Li Wei", at_ms=NOW_MS - 560_000)
    leak = api.raise_alert(AlertType.WATER_LEAK, "h002-leak", SITE, household="h002",
                           ts_ms=NOW_MS - 300_000)
    api.manager.resolve(leak, "officer:Li Wei", "valve closed", at_ms=NOW_MS - 180_000)
    officer = api.headers("officer")
    metrics = api.client.get(f"/api/v1/sites/{SITE}/response", headers=officer)
    assert metrics.status_code == 200, metrics.text
    body = metrics.json()
    assert (body["timezone"], body["shift_starts"]) == ("UTC", ["08:00", "20:00"])
    rows = {(r["type"], r["shift"]): r for r in body["data"]}
    every = rows[("*", "2025-12-31 20:00-08:00")]
    # Answered after 40 s and 120 s: median 80, p90 120, one of two within 60 s.
    assert every["acknowledge"] == {"count": 2, "answered": 2, "median_s": 80.0,
                                    "p90_s": 120.0, "within_60s": 0.5}
    assert every["resolve"]["median_s"] == 120.0

    handover = api.client.get(f"/api/v1/sites/{SITE}/handover", headers=officer).json()
    assert handover["shift"] == "2025-12-31 20:00-08:00"
    assert [a["id"] for a in handover["open"]] == [api.seed.alert_id]
    assert sorted(a["type"] for a in handover["happened"]) == ["fall", "water_leak"]
    printed = api.client.get(f"/api/v1/sites/{SITE}/handover?format=csv", headers=officer)
    assert printed.headers["content-type"].startswith("text/csv")
    rows_csv = list(csv.reader(io.StringIO(printed.text)))
    assert rows_csv[0][:3] == ["section", "id", "type"]
    assert sorted((r[0], r[2]) for r in rows_csv[1:]) == [
        ("happened", "fall"), ("happened", "water_leak"), ("open", "fall")]

    lines = api.client.get("/metrics").text.splitlines()
    assert ('safehood_response_acknowledge_seconds{quantile="0.5",shift="20:00",'
            'site="xianlin-3",type="*"} 80.0') in lines
    assert ('safehood_response_acknowledge_within_60s_ratio{shift="20:00",site="xianlin-3",'
            'type="fall"} 1.0') in lines


def test_recurring_quiet_hours(api: Api) -> None:
    officer = api.headers("officer")
    # NOW is Thursday 00:00 UTC: inside Wednesday night's quiet hours, outside Thursday's.
    wednesday = api.client.post("/api/v1/silences", headers=officer, json={
        "site": SITE, "weekly": [{"days": [2], "start": "22:00", "end": "07:00"}],
        "comment": "quiet hours"})
    assert wednesday.status_code == 201, wednesday.text
    body = wednesday.json()
    assert (body["active"], body["created_by"], body["timezone"]) == (
        True, "officer:Li Wei", "UTC")
    assert body["weekly"] == [{"days": [2], "start": "22:00", "end": "07:00"}]
    thursday = api.client.post("/api/v1/silences", headers=officer, json={
        "site": SITE, "weekly": [{"days": [3], "start": "22:00", "end": "07:00"}]}).json()
    assert thursday["active"] is False
    bad = api.client.post("/api/v1/silences", headers=officer, json={
        "site": SITE, "weekly": [{"days": [9], "start": "22:00", "end": "07:00"}]})
    assert bad.status_code == 422
