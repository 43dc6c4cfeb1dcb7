"""``safehood token``, ``safehood registry`` and ``safehood provision``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safehood.api import TokenStore, verify_mosquitto_hash
from safehood.cli import main
from safehood.database import create_database_engine, load_registry

from .conftest import REGISTRY


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFEHOOD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SAFEHOOD_DATABASE_URL", raising=False)
    monkeypatch.delenv("SAFEHOOD_BROKER_RELOAD_COMMAND", raising=False)
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps(REGISTRY))
    return tmp_path


def _engine(env: Path):  # type: ignore[no-untyped-def]
    return create_database_engine(f"sqlite:///{env / 'data' / 'safehood.db'}")


def test_token_create_list_revoke(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--role", "officer", "--site", "xianlin-3",
                 "--name", "Li Wei", "--days", "30"]) == 0
    out = capsys.readouterr().out.splitlines()
    token = out[1]
    assert token.startswith("shd_")
    principal = TokenStore(_engine(env)).authenticate(token)
    assert principal is not None and principal.sites == {"xianlin-3"}
    token_id = out[0].split()[1]

    assert main(["token", "list"]) == 0
    listing = capsys.readouterr().out
    assert token_id in listing and "Li Wei" in listing and "active" in listing
    assert token not in listing

    assert main(["token", "revoke", token_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert TokenStore(_engine(env)).authenticate(token) is None
    assert main(["token", "list", "--active"]) == 0
    assert token_id not in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["token", "create", "--role", "officer", "--name", "X"],
     "an officer token needs at least one site"),
    (["token", "create", "--role", "family", "--name", "X", "--site", "xianlin-3"],
     "a family token needs at least one resident"),
    (["token", "create", "--role", "admin", "--name", "X", "--expires", "soon"],
     "--expires: ts 'soon' is not RFC 3339"),
    (["token", "revoke", "abcdef012345"], "no token has id 'abcdef012345'"),
    (["provision", "ghost-device"], "device 'ghost-device' is not registered"),
    (["provision", "d9", "--site", "Bad Site", "--kind", "smoke"], "site: String should match"),
])
def test_bad_arguments_fail_with_one_line(env: Path, capsys: pytest.CaptureFixture[str],
                                          argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert message in err


def test_registry_import_export_and_provision(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "import", str(env / "registry.json"), "--provision"]) == 0
    captured = capsys.readouterr()
    assert "imported 3 households, 4 residents, 6 devices" in captured.err
    creds = [json.loads(line) for line in captured.out.splitlines()]
    assert len(creds) == 6
    passwd = (env / "data" / "mqtt_passwd").read_text()
    first = creds[0]
    stored = next(line.split(":", 1)[1] for line in passwd.splitlines()
                  if line.startswith(first["username"] + ":"))
    assert verify_mosquitto_hash(first["password"], stored)

    assert main(["provision", "h002-door", "--site", "xianlin-3", "--kind", "door",
                 "--household", "h002", "--json"]) == 0
    door = json.loads(capsys.readouterr().out)
    assert door["publish_topic"] == "safehood/v1/xianlin-3/h002-door/#"
    assert "topic write safehood/v1/xianlin-3/h002-door/#" in (env / "data" / "mqtt_acl").read_text()
    assert load_registry(_engine(env)).devices["h002-door"].household == "h002"

    assert main(["provision", "ingest", "--service", "ingest"]) == 0
    assert "password:" in capsys.readouterr().out
    acl = (env / "data" / "mqtt_acl").read_text()
    assert "user ingest\ntopic read safehood/#\ntopic write safehood/v1/_deadletter\n" in acl
    # and the vendor dialects' topics, which ingest subscribes to as well
    assert "topic read zigbee2mqtt/+\ntopic read zigbee2mqtt/+/availability\n" in acl

    out = env / "export.yaml"
    assert main(["registry", "export", str(out)]) == 0
    assert "h002-door" in out.read_text()
    assert main(["registry", "export", "-"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert len(exported["devices"]) == 7


def test_registry_import_of_a_bad_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = env / "bad.json"
    bad.write_text(json.dumps({"devices": [{"device_id": "d1", "site": "s1", "kind": "toaster"}]}))
    assert main(["registry", "import", str(bad)]) == 2
    assert "kind 'toaster' is not one of" in capsys.readouterr().err
    broken = env / "broken.json"
    broken.write_text("{")
    assert main(["registry", "import", str(broken)]) == 2
    assert "cannot read" in capsys.readouterr().err
