"""Export and erase of one resident's data through the API: admins only."""

from __future__ import annotations

import pytest

from safehood.api import _personal_data
from safehood.protocol import AlertType as T
from tests.store._samples import message

from .conftest import NOW_MS, Api, write_readings


@pytest.mark.parametrize("role", ["officer", "family", "integrator"])
def test_only_admins_reach_a_residents_personal_data(api: Api, role: str) -> None:
    for method in ("GET", "DELETE"):
        response = api.client.request(method, "/api/v1/residents/r001/personal-data",
                                      headers=api.headers(role))
        assert response.status_code in (403, 404), (method, role)
    assert api.client.get("/api/v1/residents/r001/personal-data",
                          headers=api.headers("admin")).status_code == 200


def test_admin_exports_then_erases(api: Api) -> None:
    write_readings(api.store, "r002-band", "xianlin-3", "wearable", [NOW_MS - 1_000])
    write_readings(api.store, "h001-smoke", "xianlin-3", "smoke", [NOW_MS - 1_000])
    url = "/api/v1/residents/r002/personal-data"

    exported = api.client.get(url, headers=api.headers("admin"))
    assert exported.status_code == 200
    body = exported.json()
    assert body["resident"]["name"] == "Wang Lei"
    assert [r["ts_ms"] for r in body["readings"]["r002-band"]] == [NOW_MS - 1_000]
    assert exported.headers["cache-control"] == "no-store"

    erased = api.client.delete(url, headers=api.headers("admin"))
    assert erased.status_code == 200
    assert erased.json()["devices_erased"] == ["r002-band"]
    assert api.store.query("r002-band", 0, NOW_MS) == []
    assert len(api.store.query("h001-smoke", 0, NOW_MS)) == 1
    assert "r002" not in api.registry_changes[-1].residents  # type: ignore[attr-defined]
    assert api.client.get(url, headers=api.headers("admin")).status_code == 404
    assert api.client.delete(url, headers=api.headers("admin")).status_code == 404


def test_erasure_waits_for_open_alerts_about_the_resident(api: Api) -> None:
    api.raise_alert(T.SOS, "r001-band", "xianlin-3", household="h001", resident="r001",
                    device_id="r001-band")
    response = api.client.delete("/api/v1/residents/r001/personal-data",
                                 headers=api.headers("admin"))
    assert response.status_code == 409
    assert "is open" in response.text


def test_the_export_pages_through_readings_sharing_an_instant(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_personal_data, "_PAGE", 3)
    t = NOW_MS - 10_000
    api.store.write([
        message("r002-band", "event", t, kind="wearable", event="fall", seq=1),
        message("r002-band", "status", t + 1, fields={"online": True}),
        message("r002-band", "event", t + 1, kind="wearable", event="fall", seq=2),
        message("r002-band", "event", t + 2, kind="wearable", event="fall", seq=3),
    ])
    readings = _personal_data._readings(api.store, "r002-band", 0)
    assert [(r["ts_ms"], r["channel"]) for r in readings] == [
        (t, "event"), (t + 1, "event"), (t + 1, "status"), (t + 2, "event")]
