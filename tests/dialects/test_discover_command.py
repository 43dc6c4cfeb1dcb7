"""``safehood devices discover`` against a real mosquitto: what it hears that the registry
does not know comes out as suggested entries, a mapping for an unknown dialect included."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import paho.mqtt.publish as mqtt_publish
import pytest
import yaml

from safehood._broker import MosquittoBroker, free_port
from safehood.cli import main
from safehood.dialects import Dialect, DialectSpec
from safehood.protocol import Registry

SITE = "xianlin-3"


def test_discover_suggests_entries_for_what_it_hears(
    mosquitto: MosquittoBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = uuid.uuid4().hex[:8]
    known, unknown, vendor = (f"zigbee2mqtt/{run}_known", f"zigbee2mqtt/{run}_kitchen_smoke",
                              f"acme{run}/hub/leak1")
    registry = tmp_path / "registry.json"
    Registry.from_data({"households": [{"id": "h1", "site": SITE}], "devices": [
        {"device_id": "h1-smoke", "site": SITE, "kind": "smoke", "household": "h1",
         "source_topic": known, "dialect": "zigbee2mqtt"}]}).dump(registry)
    # Retained, so the listener gets them as it subscribes; cleared afterwards, since the
    # broker would hand them to every later subscriber.
    heard = {known: {"smoke": False}, unknown: {"smoke": True, "battery": 87, "linkquality": 120},
             vendor: {"ts": 1772410500000, "wet": True, "water": {"leak": True}}}
    monkeypatch.setenv("SAFEHOOD_MQTT_URL", mosquitto.url)
    monkeypatch.setenv("SAFEHOOD_DATA_DIR", str(tmp_path))
    try:
        for topic, payload in heard.items():
            mqtt_publish.single(topic, orjson.dumps(payload), qos=1, retain=True,
                                hostname=mosquitto.host, port=mosquitto.port)
        assert main(["devices", "discover", "--seconds", "2", "--registry", str(registry),
                     "--site", SITE, "--topic", "zigbee2mqtt/+", "--topic", f"acme{run}/#"]) == 0
    finally:
        for topic in heard:
            mqtt_publish.single(topic, b"", qos=1, retain=True, hostname=mosquitto.host,
                                port=mosquitto.port)
    captured = capsys.readouterr()
    found = {entry["topic"]: entry for entry in yaml.safe_load(captured.out)["unknown"]}
    assert known not in found, "a topic the registry claims is not suggested"
    assert found[unknown]["dialect"] == "zigbee2mqtt" and found[unknown]["retained"] is True
    assert found[unknown]["device"] == {
        "device_id": f"{run}_kitchen_smoke", "site": SITE, "kind": "smoke",
        "household": "HOUSEHOLD", "source_topic": unknown, "dialect": "zigbee2mqtt"}
    assert found[vendor]["shape"] == {"ts": "number", "water.leak": "bool", "wet": "bool"}
    mapping = Dialect(DialectSpec.model_validate(found[vendor]["mapping"]))
    assert mapping.matches(vendor) and found[vendor]["device"]["kind"] == "water"
    assert "not in the registry" in captured.err


def test_discover_with_no_broker_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SAFEHOOD_MQTT_URL", f"mqtt://127.0.0.1:{free_port()}")
    monkeypatch.setenv("SAFEHOOD_DATA_DIR", str(tmp_path))
    assert main(["devices", "discover", "--seconds", "1"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("safehood devices:") and "Traceback" not in err
