"""Home Assistant MQTT discovery on a real mosquitto: the retained configs read back hold
what Home Assistant requires of an MQTT binary sensor, and the states follow an alert."""

from __future__ import annotations

import orjson

from safehood._broker import MosquittoBroker
from safehood._home_assistant import HomeAssistantBridge
from safehood.alerting import AlertManager, HomeAssistantDiscovery, InMemoryAlertRepository
from safehood.config import MqttEndpoint
from safehood.protocol import AlertDecision, DecisionAction, Registry, Severity
from safehood.protocol import AlertType as T
from tests._mqtt import Subscriber, wait_until

T0 = 1_767_225_600_000
REGISTRY = {
    "households": [{"id": "h001", "site": "xianlin-3", "building": "b1"},
                   {"id": "h002", "site": "xianlin-3"},
                   {"id": "h900", "site": "gulou-1"}],
    "residents": [{"id": "r001", "household": "h001", "name": "Wang Fang"}],
    "devices": [{"device_id": "h001-smoke", "site": "xianlin-3", "kind": "smoke",
                 "household": "h001"}],
}
# Home Assistant's binary sensor device classes
# (https://www.home-assistant.io/integrations/binary_sensor/#device-class).
BINARY_SENSOR_CLASSES = {
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
    "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy",
    "opening", "plug", "power", "presence", "problem", "running", "safety", "smoke", "sound",
    "tamper", "update", "vibration", "window",
}
SENSORS = {"fire", "fall", "sos", "water_leak", "inactivity", "device_problem"}


def fire(action: DecisionAction, ts_ms: int) -> AlertDecision:
    return AlertDecision(action=action, type=T.FIRE, severity=Severity.EXTREME,
                         subject="h001", site="xianlin-3", ts_ms=ts_ms, household="h001",
                         device_id="h001-smoke", evidence={"why": "test"})


def latest(subscriber: Subscriber, topic: str) -> bytes | None:
    payloads = [m.payload for m in subscriber.messages if m.topic == topic]
    return payloads[-1] if payloads else None


def test_households_appear_in_home_assistant_and_follow_their_alerts(
        mosquitto: MosquittoBroker, topic_prefix: str) -> None:
    endpoint = MqttEndpoint(mosquitto.host, mosquitto.port, False, None, None)
    discovery = HomeAssistantDiscovery(f"{topic_prefix}/homeassistant", f"{topic_prefix}-ha")
    registries = [Registry.from_data(REGISTRY)]
    manager = AlertManager(InMemoryAlertRepository(), registry=registries[0])
    bridge = HomeAssistantBridge(endpoint, discovery, manager, lambda: registries[-1],
                                 sites=frozenset({"xianlin-3"}), client_id=f"{topic_prefix}-ha")
    manager.subscribe(bridge.on_change)
    bridge.start()
    try:
        assert bridge.wait_idle(30)
        # Retained: a subscriber arriving afterwards (Home Assistant starting) gets them all.
        configs = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}/homeassistant/#")
        states = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}-ha/#")
        wait_until(lambda: len(configs.messages) == 2 * len(SENSORS), 30, "the configs")
        for message in configs.messages:
            assert message.retain
            component, node, object_id, leaf = message.topic.split("/")[-4:]
            assert (component, leaf) == ("binary_sensor", "config")
            assert node in {"safehood_h001", "safehood_h002"} and object_id in SENSORS
            config = orjson.loads(message.payload)
            for key in ("name", "unique_id", "state_topic", "device_class", "payload_on",
                        "payload_off", "availability", "device"):
                assert key in config, (message.topic, key)
            assert config["device_class"] in BINARY_SENSOR_CLASSES
            assert config["unique_id"] == f"{node}_{object_id}"
            assert config["device"]["identifiers"] == [node]
            assert config["availability"] == [{
                "topic": f"{topic_prefix}-ha/availability",
                "payload_available": "online", "payload_not_available": "offline"}]
            assert config["state_topic"].startswith(f"{topic_prefix}-ha/{node}/")
        unique_ids = [orjson.loads(m.payload)["unique_id"] for m in configs.messages]
        assert len(set(unique_ids)) == len(unique_ids)

        fire_state = f"{topic_prefix}-ha/safehood_h001/fire/state"
        wait_until(lambda: latest(states, fire_state) == b"OFF", 30, "fire off")
        assert latest(states, f"{topic_prefix}-ha/availability") == b"online"

        alert_id = manager.apply([fire(DecisionAction.RAISE, T0)])[0].alert.id
        wait_until(lambda: latest(states, fire_state) == b"ON", 30, "fire on")
        attributes = orjson.loads(
            latest(states, f"{topic_prefix}-ha/safehood_h001/fire/attributes") or b"{}")
        assert [a["id"] for a in attributes["alerts"]] == [alert_id]
        assert latest(states, f"{topic_prefix}-ha/safehood_h002/fire/state") == b"OFF"

        manager.resolve(alert_id, "officer:Li", "checked: burnt toast", at_ms=T0 + 60_000)
        wait_until(lambda: latest(states, fire_state) == b"OFF"
                   and len([m for m in states.messages if m.topic == fire_state]) >= 3,
                   30, "fire off again")

        # A household leaves the registry: its sensors are removed (empty retained configs).
        registries.append(Registry.from_data({**REGISTRY, "households": [
            h for h in REGISTRY["households"] if h["id"] != "h002"]}))
        bridge.on_registry(registries[-1])
        gone = f"{topic_prefix}/homeassistant/binary_sensor/safehood_h002/fire/config"
        wait_until(lambda: latest(configs, gone) == b"", 30, "h002 removed")
        assert latest(configs, f"{topic_prefix}/homeassistant/binary_sensor/safehood_h001/"
                               "fire/config")
    finally:
        bridge.stop()
    wait_until(lambda: latest(states, f"{topic_prefix}-ha/availability") == b"offline",
               30, "offline")
    configs.close()
    states.close()
