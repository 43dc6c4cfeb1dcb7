"""Vendor payloads as the vendors document them, for the dialect tests.

Zigbee2MQTT: device state objects named after its exposes
(https://www.zigbee2mqtt.io/guide/usage/exposes.html; smoke detector HEIMAN HS1SA, water
leak Aqara SJCGQ11LM, door Aqara MCCGQ11LM, SOS button HEIMAN HS1EB), availability as
{"state": "online"} or the legacy bare text. Shelly Gen2+: JSON-RPC NotifyStatus
notifications on <id>/events/rpc (https://shelly-api-docs.shelly.cloud/gen2/General/Notifications),
event time in epoch seconds.
"""

from __future__ import annotations

from typing import Any

LAST_SEEN = "2026-03-02T00:15:00.000Z"
LAST_SEEN_MS = 1772410500000
SHELLY_TS_S = 1772410560.25
SHELLY_TS_MS = 1772410560250

# (dialect, kind, vendor payload, contract messages expected, extras expected)
STATE_SAMPLES: list[tuple[str, str, dict[str, Any], list[tuple[str, dict[str, Any]]],
                          dict[str, Any]]] = [
    ("zigbee2mqtt", "smoke",
     {"smoke": True, "battery": 87, "linkquality": 120, "tamper": False, "battery_low": False},
     [("event", {"kind": "smoke", "event": "alarm", "battery": 87})],
     {"linkquality": 120, "battery_low": False}),
    ("zigbee2mqtt", "smoke",
     {"smoke": True, "tamper": True, "battery": 86, "last_seen": LAST_SEEN},
     [("event", {"kind": "smoke", "event": "alarm", "battery": 86, "ts": LAST_SEEN_MS}),
      ("event", {"kind": "smoke", "event": "tamper", "battery": 86, "ts": LAST_SEEN_MS + 1})],
     {}),
    ("zigbee2mqtt", "water",
     {"water_leak": True, "battery": 91, "voltage": 3005, "linkquality": 87,
      "device_temperature": 24, "last_seen": LAST_SEEN},
     [("telemetry", {"kind": "water", "leak": True, "battery": 91, "ts": LAST_SEEN_MS})],
     {"voltage": 3005, "linkquality": 87, "device_temperature": 24}),
    ("zigbee2mqtt", "door",
     {"contact": False, "battery": 100, "voltage": 3015, "linkquality": 132,
      "last_seen": LAST_SEEN_MS},
     [("telemetry", {"kind": "door", "open": True, "battery": 100, "ts": LAST_SEEN_MS})],
     {"voltage": 3015, "linkquality": 132}),
    ("zigbee2mqtt", "motion",
     {"occupancy": True, "illuminance": 32, "battery": 77, "linkquality": 60},
     [("telemetry", {"kind": "motion", "occupancy": True, "battery": 77})],
     {"illuminance": 32, "linkquality": 60}),
    ("zigbee2mqtt", "button",
     {"action": "emergency", "battery": 100, "linkquality": 255},
     [("event", {"kind": "button", "event": "sos", "battery": 100})],
     {"linkquality": 255}),
    # A battery report between presses: no action, so a status carries it.
    ("zigbee2mqtt", "button",
     {"battery": 64, "linkquality": 255, "update": {"state": "idle"}},
     [("status", {"online": True, "battery": 64})],
     {"linkquality": 255, "update.state": "idle"}),
    ("shelly", "smoke",
     {"src": "shellyplussmoke-a8032ab1c2d3", "dst": "shellyplussmoke-a8032ab1c2d3/events",
      "method": "NotifyStatus",
      "params": {"ts": SHELLY_TS_S, "smoke:0": {"id": 0, "alarm": True, "mute": False}}},
     [("event", {"kind": "smoke", "event": "alarm", "ts": SHELLY_TS_MS})],
     {"params.smoke:0.id": 0, "params.smoke:0.mute": False}),
    ("shelly", "water",
     {"src": "shellyfloodg4-b0b21c0d1e2f", "dst": "shellyfloodg4-b0b21c0d1e2f/events",
      "method": "NotifyFullStatus",
      "params": {"ts": SHELLY_TS_S, "flood:0": {"id": 0, "alarm": True, "mute": False},
                 "devicepower:0": {"id": 0, "battery": {"V": 2.9, "percent": 84},
                                   "external": {"present": False}},
                 "wifi": {"sta_ip": "192.168.1.40", "status": "got ip", "rssi": -61}}},
     [("telemetry", {"kind": "water", "leak": True, "battery": 84, "ts": SHELLY_TS_MS})],
     {"params.flood:0.id": 0, "params.flood:0.mute": False, "params.devicepower:0.id": 0,
      "params.devicepower:0.battery.V": 2.9, "params.devicepower:0.external.present": False,
      "params.wifi.sta_ip": "192.168.1.40", "params.wifi.status": "got ip",
      "params.wifi.rssi": -61}),
    ("shelly", "door",
     {"src": "shellyplusi4-c4d8d5e6f7a8", "dst": "shellyplusi4-c4d8d5e6f7a8/events",
      "method": "NotifyStatus", "params": {"ts": SHELLY_TS_S, "input:0": {"id": 0, "state": True}}},
     [("telemetry", {"kind": "door", "open": False, "ts": SHELLY_TS_MS})],
     {"params.input:0.id": 0}),
]

# (dialect, availability payload, online)
AVAILABILITY_SAMPLES: list[tuple[str, bytes, bool]] = [
    ("zigbee2mqtt", b'{"state":"online"}', True),
    ("zigbee2mqtt", b'{"state":"offline"}', False),
    ("zigbee2mqtt", b"offline", False),  # legacy availability payload
    ("shelly", b"true", True),
    ("shelly", b"false", False),
]
