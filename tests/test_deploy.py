"""deploy/ (compose file, systemd units, NATS configs) agrees with the settings object and
the scale-out engine: every SAFEHOOD_ variable is a setting, every role exists, ports match."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from safehood._scaleout import ROLES
from safehood.config import Settings

DEPLOY = Path(__file__).parent.parent / "deploy"
SETTINGS = {f"SAFEHOOD_{name.upper()}" for name in Settings.model_fields}
# Grafana's provisioning reads these (dashboards/grafana/provisioning), not safehood.
GRAFANA_ONLY = {"SAFEHOOD_PROMETHEUS_URL"}


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def roles_of(command: list[str]) -> list[str]:
    return [command[i + 1] for i, word in enumerate(command) if word == "--role"]


def test_compose_runs_every_role_with_known_settings() -> None:
    services = compose()["services"]
    seen_roles: set[str] = set()
    for name, service in services.items():
        environment = service.get("environment", {})
        unknown = {k for k in environment if k.startswith("SAFEHOOD_")} - SETTINGS - GRAFANA_ONLY
        assert not unknown, f"{name}: not settings: {unknown}"
        command = service.get("command", [])
        if "run" in command:
            assert command[:4] == ["run", "--engine", "nats", "--role"], name
            seen_roles.update(roles_of(command))
            # Settings accept what the service is given.
            Settings(**{k.removeprefix("SAFEHOOD_").lower(): v for k, v in environment.items()
                        if "${" not in str(v)})
    assert seen_roles == set(ROLES)


def test_compose_nats_nodes_match_their_configs_and_the_settings() -> None:
    services = compose()["services"]
    nodes = sorted(n for n in services if n.startswith("nats-"))
    assert len(nodes) == 3
    settings_env = services["ingest"]["environment"]
    assert settings_env["SAFEHOOD_NATS_URL"].split(",") == [f"nats://{n}:4222" for n in nodes]
    assert settings_env["SAFEHOOD_MQTT_URL"] == "mqtt://nats-1:1883"
    for node in nodes:
        config = (DEPLOY / "nats" / f"{node}.conf").read_text()
        assert f"server_name: {node}" in config
        assert "listen: 0.0.0.0:4222" in config and "listen: 0.0.0.0:1883" in config
        routes = set(re.findall(r"nats-route://([\w-]+):6222", config))
        assert routes == set(nodes) - {node}
        assert any(v.startswith(f"./nats/{node}.conf:") for v in services[node]["volumes"])
    assert services["nats-1"]["image"] == "nats:2.15.1"


def test_systemd_units_and_environment_file() -> None:
    environment = dict(
        line.split("=", 1) for line in (DEPLOY / "systemd" / "safehood.env").read_text().splitlines()
        if line and not line.startswith("#"))
    assert set(environment) <= SETTINGS
    Settings(**{k.removeprefix("SAFEHOOD_").lower(): v for k, v in environment.items()})
    roles: set[str] = set()
    for unit in (DEPLOY / "systemd").glob("safehood-*.service"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read(unit)
        assert parser["Service"]["EnvironmentFile"] == "/etc/safehood/safehood.env"
        command = shlex.split(parser["Service"]["ExecStart"])
        assert command[1:5] == ["run", "--engine", "nats", "--role"], unit.name
        roles.update(roles_of(command))
    assert roles == set(ROLES)
