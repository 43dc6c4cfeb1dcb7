"""Home Assistant MQTT discovery: what to publish so that each household appears in Home
Assistant as a device with one binary sensor per kind of open alert.

Pure: this module only says which (topic, payload) pairs describe a household and its
alerts; the bridge that publishes them (retained, with a last will on the availability
topic) is an edge of the composition root. The schema is Home Assistant's MQTT binary sensor
(https://www.home-assistant.io/integrations/binary_sensor.mqtt/) with device-based
discovery keys (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from safehood.protocol import Alert, AlertStatus, AlertType, Household

from . import const

_NOT_AN_ID = re.compile(r"[^A-Za-z0-9_-]")
ON: bytes = b"ON"
OFF: bytes = b"OFF"


@dataclass(frozen=True, slots=True)
class HomeAssistantSensor:
    """One binary sensor of a household: on while an alert of one of ``types`` is open."""

    object_id: str
    name: str
    device_class: str
    types: frozenset[AlertType]


SENSORS: tuple[HomeAssistantSensor, ...] = (
    HomeAssistantSensor("fire", "Fire", "smoke", frozenset({AlertType.FIRE, AlertType.SMOKE})),
    HomeAssistantSensor("fall", "Fall", "safety", frozenset({AlertType.FALL})),
    HomeAssistantSensor("sos", "SOS call", "safety", frozenset({AlertType.SOS})),
    HomeAssistantSensor("water_leak", "Water leak", "moisture",
                        frozenset({AlertType.WATER_LEAK})),
    HomeAssistantSensor("inactivity", "No sign of life", "safety",
                        frozenset({AlertType.INACTIVITY})),
    HomeAssistantSensor("device_problem", "Device problem", "problem", frozenset({
        AlertType.DEVICE_OFFLINE, AlertType.BATTERY_LOW, AlertType.TAMPER})),
)

Message = tuple[str, bytes]


class HomeAssistantDiscovery:
    """Topics and payloads under ``discovery_prefix`` (Home Assistant's, ``homeassistant``
    by default) and ``state_prefix`` (ours; never under the ingest prefix, which would read
    them as device traffic)."""

    def __init__(self, discovery_prefix: str, state_prefix: str) -> None:
        self.discovery_prefix = discovery_prefix.strip("/")
        self.state_prefix = state_prefix.strip("/")

    @property
    def availability_topic(self) -> str:
        return f"{self.state_prefix}/availability"

    def config_topic(self, household_id: str, sensor: HomeAssistantSensor) -> str:
        return (f"{self.discovery_prefix}/binary_sensor/{node_id(household_id)}/"
                f"{sensor.object_id}/config")

    def state_topic(self, household_id: str, sensor: HomeAssistantSensor) -> str:
        return f"{self.state_prefix}/{node_id(household_id)}/{sensor.object_id}/state"

    def attributes_topic(self, household_id: str, sensor: HomeAssistantSensor) -> str:
        return f"{self.state_prefix}/{node_id(household_id)}/{sensor.object_id}/attributes"

    def configs(self, household: Household) -> list[Message]:
        """The retained discovery configs of one household's sensors."""
        node = node_id(household.id)
        device = {
            "identifiers": [node], "name": f"Household {household.id}",
            "manufacturer": "safehood", "model": "Household",
            "suggested_area": household.building or household.site,
        }
        messages = []
        for sensor in SENSORS:
            config = {
                "name": sensor.name,
                "unique_id": f"{node}_{sensor.object_id}",
                "device_class": sensor.device_class,
                "state_topic": self.state_topic(household.id, sensor),
                "json_attributes_topic": self.attributes_topic(household.id, sensor),
                "payload_on": ON.decode(), "payload_off": OFF.decode(),
                "availability": [{"topic": self.availability_topic,
                                  "payload_available": const.HA_ONLINE,
                                  "payload_not_available": const.HA_OFFLINE}],
                "qos": 1,
                "device": device,
                "origin": {"name": "safehood"},
            }
            messages.append((self.config_topic(household.id, sensor), orjson.dumps(config)))
        return messages

    def removals(self, household_id: str) -> list[Message]:
        """Empty retained configs (Home Assistant removes the household's sensors), states
        and attributes (the broker forgets them)."""
        return [(topic(household_id, sensor), b"") for sensor in SENSORS
                for topic in (self.config_topic, self.state_topic, self.attributes_topic)]

    def states(self, household_id: str, alerts: Iterable[Alert]) -> list[Message]:
        """Each sensor's state and attributes from the household's alerts (only open ones
        count): ``ON`` while one of its types is open, with the open alerts' ids."""
        open_alerts = [a for a in alerts if a.status != AlertStatus.RESOLVED]
        messages = []
        for sensor in SENSORS:
            mine = [a for a in open_alerts if a.type in sensor.types]
            attributes = {"alerts": [{"id": a.id, "type": a.type.value, "status": a.status.value,
                                      "severity": a.severity.value, "started_at": a.started_at}
                                     for a in mine]}
            messages.append((self.state_topic(household_id, sensor), ON if mine else OFF))
            messages.append((self.attributes_topic(household_id, sensor),
                             orjson.dumps(attributes)))
        return messages


def node_id(household_id: str) -> str:
    """Home Assistant's node id of a household (letters, digits, ``_`` and ``-`` only)."""
    return "safehood_" + _NOT_AN_ID.sub("_", household_id)
