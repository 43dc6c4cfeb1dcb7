"""Registry CRUD, bulk import/export and the provisioning files, through the API."""

from __future__ import annotations

from safehood.api import mosquitto_hash, verify_mosquitto_hash
from safehood.database import load_registry

from .conftest import Api


def _passwd(api: Api) -> dict[str, str]:
    lines = api.provisioner.password_file.read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line)


def test_household_crud(api: Api) -> None:
    headers = api.headers("integrator")
    created = api.client.post("/api/v1/households", headers=headers, json={
        "id": "h003", "site": "xianlin-3", "lives_alone": True, "timezone": "Asia/Shanghai",
        "night": ["23:00", "07:00"], "building": "b3"})
    assert created.status_code == 201, created.text
    assert created.json()["night"] == ["23:00", "07:00"]
    assert api.client.get("/api/v1/households/h003", headers=headers).json()["building"] == "b3"
    patched = api.client.patch("/api/v1/households/h003", headers=headers,
                               json={"building": "b4"})
    assert patched.json()["building"] == "b4"
    assert patched.json()["timezone"] == "Asia/Shanghai"
    replaced = api.client.put("/api/v1/households/h003", headers=headers,
                              json={"site": "xianlin-3"})
    assert replaced.json()["timezone"] == "UTC"  # PUT replaces every field
    assert replaced.json()["building"] is None
    assert load_registry(api.engine).households["h003"].site == "xianlin-3"
    assert len(api.registry_changes) == 3
    assert api.client.delete("/api/v1/households/h003", headers=headers).status_code == 204
    assert api.client.get("/api/v1/households/h003", headers=headers).status_code == 404
    assert "h003" not in load_registry(api.engine).households


def test_registry_errors_are_4xx_with_reasons(api: Api) -> None:
    headers = api.headers("admin")
    duplicate = api.client.post("/api/v1/households", headers=headers,
                                json={"id": "h001", "site": "xianlin-3"})
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == "household 'h001' already exists"
    zone = api.client.post("/api/v1/households", headers=headers,
                           json={"id": "h009", "site": "xianlin-3", "timezone": "Mars/Olympus"})
    assert zone.status_code == 422
    assert "unknown IANA time zone" in zone.json()["detail"]
    in_use = api.client.delete("/api/v1/households/h001", headers=headers)
    assert in_use.status_code == 409
    assert "still has 2 resident(s) and 3 device(s)" in in_use.json()["detail"]
    orphan = api.client.post("/api/v1/residents", headers=headers,
                             json={"id": "r900", "household": "h999", "name": "Nobody"})
    assert orphan.status_code == 422
    assert "unknown household h999" in orphan.json()["detail"]
    wrong_site = api.client.post("/api/v1/devices", headers=headers, json={
        "device_id": "x1", "site": "gulou-1", "kind": "smoke", "household": "h001"})
    assert wrong_site.status_code == 422
    assert "its household at xianlin-3" in wrong_site.json()["detail"]
    kind = api.client.post("/api/v1/devices", headers=headers,
                           json={"device_id": "x1", "site": "gulou-1", "kind": "toaster"})
    assert kind.status_code == 422
    extra = api.client.post("/api/v1/households", headers=headers,
                            json={"id": "h010", "site": "xianlin-3", "colour": "red"})
    assert extra.status_code == 422
    assert extra.json()["detail"] == "colour: Extra inputs are not permitted"
    broken = api.client.post("/api/v1/households", headers={**headers, "content-type":
                             "application/json"}, content=b"{not json")
    assert broken.status_code == 422
    assert "JSON" in broken.json()["detail"]
    # Nothing of the above changed the registry.
    assert set(load_registry(api.engine).devices) == {
        "h001-smoke", "r001-band", "r002-band", "h002-motion", "h101-water", "stair-smoke"}


def test_officer_reads_own_site_without_contacts(api: Api) -> None:
    residents = api.client.get("/api/v1/residents", headers=api.headers("officer")).json()
    assert {r["id"] for r in residents["data"]} == {"r001", "r002", "r003"}
    assert all(r["contacts"] is None for r in residents["data"])
    admin = api.client.get("/api/v1/residents/r001", headers=api.headers("admin")).json()
    assert admin["contacts"] == ["mailto://family@example.org"]
    assert api.client.get("/api/v1/residents/r101", headers=api.headers("officer")).status_code == 404
    assert api.client.get("/api/v1/devices/h101-water",
                          headers=api.headers("officer")).status_code == 404
    write = api.client.post("/api/v1/households", headers=api.headers("officer"),
                            json={"id": "h005", "site": "xianlin-3"})
    assert write.status_code == 403


def test_deleting_a_resident_keeps_their_devices(api: Api) -> None:
    headers = api.headers("integrator")
    assert api.client.delete("/api/v1/residents/r002", headers=headers).status_code == 204
    device = api.client.get("/api/v1/devices/r002-band", headers=headers).json()
    assert device["resident"] is None
    assert device["household"] == "h001"


def test_create_device_returns_credentials_once_and_writes_broker_files(api: Api) -> None:
    headers = api.headers("integrator")
    response = api.client.post("/api/v1/devices", headers=headers, json={
        "device_id": "h002-door", "site": "xianlin-3", "kind": "door", "household": "h002",
        "room": "hall"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["provisioned"] is True
    mqtt = body["mqtt"]
    assert mqtt["username"] == "h002-door"
    assert mqtt["publish_topic"] == "safehood/v1/xianlin-3/h002-door/#"
    assert len(mqtt["password"]) >= 24
    # Only a hash is kept: in the password file, in mosquitto's PBKDF2-SHA512 form.
    stored = _passwd(api)["h002-door"]
    assert stored.startswith("$7$101$")
    assert mqtt["password"] not in api.provisioner.password_file.read_text()
    assert verify_mosquitto_hash(mqtt["password"], stored)
    acl = api.provisioner.acl_file.read_text()
    assert "user h002-door\ntopic write safehood/v1/xianlin-3/h002-door/#\n" in acl
    # Reading the device back never shows the password.
    again = api.client.get("/api/v1/devices/h002-door", headers=headers).json()
    assert again["provisioned"] is True
    assert "mqtt" not in again
    # Moving it to another site rewrites its ACL.
    moved = api.client.patch("/api/v1/devices/h002-door", headers=headers,
                             json={"site": "gulou-1", "household": None})
    assert moved.status_code == 200, moved.text
    assert "topic write safehood/v1/gulou-1/h002-door/#" in api.provisioner.acl_file.read_text()
    # New credentials replace the old ones.
    rotated = api.client.post("/api/v1/devices/h002-door/credentials", headers=headers).json()
    assert rotated["password"] != mqtt["password"]
    assert verify_mosquitto_hash(rotated["password"], _passwd(api)["h002-door"])
    assert not verify_mosquitto_hash(mqtt["password"], _passwd(api)["h002-door"])
    # Deleting the device removes its account.
    assert api.client.delete("/api/v1/devices/h002-door", headers=headers).status_code == 204
    assert "h002-door" not in _passwd(api)
    assert "h002-door" not in api.provisioner.acl_file.read_text()


def test_reload_is_called_after_provisioning(build_api) -> None:  # type: ignore[no-untyped-def]
    reloads: list[int] = []
    api = build_api(reload=lambda: reloads.append(1))
    response = api.client.post("/api/v1/devices", headers=api.headers("admin"), json={
        "device_id": "new-1", "site": "gulou-1", "kind": "button"})
    assert response.json()["mqtt"]["broker_reloaded"] is True
    assert reloads == [1]


def test_failed_reload_still_provisions(build_api) -> None:  # type: ignore[no-untyped-def]
    def broken() -> None:
        raise RuntimeError("mosquitto is not running")

    api = build_api(reload=broken)
    response = api.client.post("/api/v1/devices", headers=api.headers("admin"), json={
        "device_id": "new-1", "site": "gulou-1", "kind": "button"})
    assert response.status_code == 201
    assert response.json()["mqtt"]["broker_reloaded"] is False
    assert "new-1" in _passwd(api)


def test_bulk_import_and_export(api: Api) -> None:
    headers = api.headers("integrator")
    file = {
        "households": [{"id": "h201", "site": "jiangning-2", "lives_alone": True}],
        "residents": [{"id": "r201", "household": "h201", "name": "Liu Yang"}],
        "devices": [{"device_id": "h201-smoke", "site": "jiangning-2", "kind": "smoke",
                     "household": "h201"},
                    {"device_id": "r201-sos", "site": "jiangning-2", "kind": "button",
                     "household": "h201", "resident": "r201"}],
    }
    response = api.client.post("/api/v1/registry/import?provision=true", headers=headers,
                               json=file)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["households"], body["residents"], body["devices"]) == (1, 1, 2)
    assert {c["username"] for c in body["credentials"]} == {"h201-smoke", "r201-sos"}
    registry = load_registry(api.engine)
    assert registry.devices["r201-sos"].resident == "r201"
    assert "h001" in registry.households  # a merge, not a replacement
    assert set(_passwd(api)) == {"h201-smoke", "r201-sos"}
    # Re-importing a household alone keeps its residents and devices.
    again = api.client.post("/api/v1/registry/import", headers=headers, json={
        "households": [{"id": "h001", "site": "xianlin-3", "lives_alone": True}]})
    assert again.status_code == 200
    registry = load_registry(api.engine)
    assert registry.households["h001"].lives_alone is True
    assert {r.id for r in registry.household_residents("h001")} == {"r001", "r002"}
    assert len(registry.household_devices("h001")) == 3
    exported = api.client.get("/api/v1/registry/export", headers=headers).json()
    assert {h["id"] for h in exported["households"]} == {"h001", "h002", "h101", "h201"}
    # Replace: whatever the file does not name goes, with its MQTT accounts.
    replaced = api.client.post("/api/v1/registry/import?replace=true", headers=headers,
                               json={**file, "devices": file["devices"][:1]})
    assert replaced.status_code == 200
    registry = load_registry(api.engine)
    assert set(registry.households) == {"h201"}
    assert set(registry.devices) == {"h201-smoke"}
    assert set(_passwd(api)) == {"h201-smoke"}


def test_bad_import_changes_nothing(api: Api) -> None:
    response = api.client.post("/api/v1/registry/import", headers=api.headers("admin"), json={
        "households": [{"id": "h301", "site": "xianlin-3"}],
        "devices": [{"device_id": "d1", "site": "xianlin-3", "kind": "smoke",
                     "resident": "ghost"}]})
    assert response.status_code == 422
    assert "unknown resident ghost" in response.json()["detail"]
    assert "h301" not in load_registry(api.engine).households


def test_mosquitto_hash_format() -> None:
    hashed = mosquitto_hash("secretpw", salt=b"\x96\x9f\x81\xdf\xef\x8c\x43\xf0\x5e\xe7\xcf\x0d")
    # The line `mosquitto_passwd -b` wrote for the same password and salt.
    assert hashed == ("$7$101$lp+B3++MQ/Be588N$fPzGDHYVA6Y5a2MPrZMGu2NNR5FoL+Ln0LAxdc/xyjiSp7p/"
                      "JhL3nQUePqAsW6bqO+6Wp+BkGkrTNGSP2YGRsQ==")


def test_a_boolean_is_a_json_boolean(api: Api) -> None:
    headers = api.headers("integrator")
    for path, body in [
        ("/api/v1/households", {"id": "h004", "site": "xianlin-3", "lives_alone": 0}),
        ("/api/v1/households", {"id": "h004", "site": "xianlin-3", "lives_alone": "true"}),
        ("/api/v1/residents", {"id": "r904", "household": "h001", "name": "N", "elderly": 1}),
        ("/api/v1/residents", {"id": "r904", "household": "h001", "name": "N", "dementia": "no"}),
    ]:
        answer = api.client.post(path, headers=headers, json=body)
        assert answer.status_code == 422, (body, answer.text)
    patched = api.client.patch("/api/v1/households/h001", headers=headers, json={"lives_alone": 1})
    assert patched.status_code == 422
    assert load_registry(api.engine).households["h001"].lives_alone is False
