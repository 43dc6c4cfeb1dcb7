"""Who sees residents' contacts, which contacts are accepted, and whose tokens can be made."""

from __future__ import annotations

import pytest

from safehood.database import load_registry

from .conftest import Api

SECRET_CONTACTS = ["mailto://family@example.org", "mailtos://son:pa55@smtp.example.org",
                   "jsons://hooks.example.org/s3cret-path?token=s3cret"]
MASKED = ["mailto://****@example.org", "mailtos://****@smtp.example.org",
          "jsons://hooks.example.org/****?****"]


def _set_contacts(api: Api, contacts: list[str]) -> None:
    response = api.client.patch("/api/v1/residents/r001", headers=api.headers("admin"),
                                json={"contacts": contacts})
    assert response.status_code == 200, response.text


def test_integrators_read_contacts_masked_and_officers_not_at_all(api: Api) -> None:
    _set_contacts(api, SECRET_CONTACTS)
    integrator = api.headers("integrator")
    listed = api.client.get("/api/v1/residents", headers=integrator).json()["data"]
    assert next(r for r in listed if r["id"] == "r001")["contacts"] == MASKED
    assert api.client.get("/api/v1/residents/r001", headers=integrator).json()["contacts"] \
        == MASKED
    exported = api.client.get("/api/v1/registry/export", headers=integrator)
    assert exported.status_code == 200
    for secret in ("family@", "son:", "pa55", "s3cret"):
        assert secret not in exported.text
    officer = api.client.get("/api/v1/residents/r001", headers=api.headers("officer")).json()
    assert officer["contacts"] is None
    admin = api.client.get("/api/v1/residents/r001", headers=api.headers("admin")).json()
    assert admin["contacts"] == SECRET_CONTACTS


def test_an_integrators_export_imports_back_without_losing_contacts(api: Api) -> None:
    _set_contacts(api, SECRET_CONTACTS)
    integrator = api.headers("integrator")
    exported = api.client.get("/api/v1/registry/export", headers=integrator).json()
    back = api.client.post("/api/v1/registry/import", headers=integrator, json=exported)
    assert back.status_code == 200, back.text
    assert list(load_registry(api.engine).residents["r001"].contacts) == SECRET_CONTACTS
    # Editing one contact keeps the masked others as they were stored.
    patched = api.client.patch("/api/v1/residents/r001", headers=integrator,
                               json={"contacts": [*MASKED[:2], "ntfy://wang-family"]})
    assert patched.status_code == 200, patched.text
    assert list(load_registry(api.engine).residents["r001"].contacts) == \
        [*SECRET_CONTACTS[:2], "ntfy://wang-family"]


@pytest.mark.parametrize("contact", [
    "file:///etc/passwd", "windows://", "dbus://", "syslog://", "not a url",
    "mailto://****@example.org",  # masked, and no stored contact of r002 it could stand for
])
def test_contacts_outside_the_allowed_schemes_are_rejected(api: Api, contact: str) -> None:
    headers = api.headers("integrator")
    patched = api.client.patch("/api/v1/residents/r002", headers=headers,
                               json={"contacts": [contact]})
    assert patched.status_code == 422, patched.text
    created = api.client.post("/api/v1/residents", headers=headers, json={
        "id": "r009", "household": "h002", "name": "Zhao Lei", "contacts": [contact]})
    assert created.status_code == 422
    imported = api.client.post("/api/v1/registry/import", headers=headers, json={
        "residents": [{"id": "r009", "household": "h002", "name": "Zhao Lei",
                       "contacts": [contact]}]})
    assert imported.status_code == 422
    registry = load_registry(api.engine)
    assert registry.residents["r002"].contacts == () and "r009" not in registry.residents


@pytest.mark.parametrize("body", [
    {"name": "X", "role": "officer", "sites": ["nowhere-9"]},
    {"name": "X", "role": "family", "residents": ["r999"]},
    {"name": "X", "role": "officer", "sites": ["xianlin-3", "nowhere-9"]},
])
def test_tokens_for_sites_or_residents_that_do_not_exist_are_rejected(
        api: Api, body: dict[str, object]) -> None:
    response = api.client.post("/api/v1/tokens", headers=api.headers("admin"), json=body)
    assert response.status_code == 422, response.text
    assert "nowhere-9" in response.text or "r999" in response.text
    ok = api.client.post("/api/v1/tokens", headers=api.headers("admin"),
                         json={"name": "X", "role": "family", "residents": ["r003"]})
    assert ok.status_code == 201
