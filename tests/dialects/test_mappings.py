"""The shipped dialect mappings against the vendors' documented payloads, the mapping format's
checks, the router's claims, and what discovery suggests (pure: no broker)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import yaml

from safehood.dialects import (
    Dialect,
    DialectSpec,
    MappingError,
    SourceRouter,
    TopicShape,
    load_dialects,
    suggest,
)
from safehood.protocol import ContractViolation, Reason, Registry, parse_message

from ._samples import AVAILABILITY_SAMPLES, STATE_SAMPLES

RECEIVED_MS = 1772410600000
DIALECTS = load_dialects()
SITE = "xianlin-3"
REGISTRY = Registry.from_data({
    "households": [{"id": "h1", "site": SITE}],
    "devices": [
        {"device_id": "h1-smoke", "site": SITE, "kind": "smoke", "household": "h1",
         "source_topic": "zigbee2mqtt/kitchen/smoke", "dialect": "zigbee2mqtt"},
        {"device_id": "h1-flood", "site": SITE, "kind": "water", "household": "h1",
         "source_topic": "shellyfloodg4-b0b21c0d1e2f/events/rpc", "dialect": "shelly"},
        {"device_id": "h1-door", "site": SITE, "kind": "door", "household": "h1"},
    ],
})


@pytest.mark.parametrize(("dialect", "kind", "vendor", "expected", "extras"), STATE_SAMPLES,
                         ids=[f"{s[0]}-{s[1]}-{i}" for i, s in enumerate(STATE_SAMPLES)])
def test_vendor_state_becomes_contract_messages(dialect: str, kind: str, vendor: dict[str, Any],
                                                expected: list[tuple[str, dict[str, Any]]],
                                                extras: dict[str, Any]) -> None:
    translation = DIALECTS[dialect].translate(orjson.dumps(vendor), kind, RECEIVED_MS)
    with_ts = [(channel, {"ts": RECEIVED_MS, **body}) for channel, body in expected]
    assert [(c, b) for c, b in translation.payloads] == with_ts
    assert translation.ts_from_receipt == all("ts" not in body for _, body in expected)
    assert dict(translation.extras) == extras
    for channel, body in translation.payloads:  # and each is valid contract v1
        parse_message(f"safehood/v1/{SITE}/d1/{channel}", orjson.dumps(body), RECEIVED_MS)


@pytest.mark.parametrize(("dialect", "payload", "online"), AVAILABILITY_SAMPLES)
def test_availability_becomes_a_status_stamped_on_receipt(dialect: str, payload: bytes,
                                                          online: bool) -> None:
    translation = DIALECTS[dialect].translate_availability(payload)
    assert translation.payloads == (("status", {"online": online}),)
    assert translation.ts_from_receipt
    assert DIALECTS[dialect].encode_availability(online) is not None


@pytest.mark.parametrize(("dialect", "kind", "channel", "contract"), [
    ("zigbee2mqtt", "door", "telemetry", {"kind": "door", "open": True}),
    ("zigbee2mqtt", "water", "telemetry", {"kind": "water", "leak": False, "battery": 55}),
    ("zigbee2mqtt", "motion", "telemetry", {"kind": "motion", "occupancy": True}),
    ("zigbee2mqtt", "smoke", "event", {"kind": "smoke", "event": "clear"}),
    ("zigbee2mqtt", "button", "event", {"kind": "button", "event": "sos"}),
    ("shelly", "water", "telemetry", {"kind": "water", "leak": True, "battery": 40}),
    ("shelly", "smoke", "event", {"kind": "smoke", "event": "alarm"}),
])
def test_the_mapping_in_reverse_translates_back(dialect: str, kind: str, channel: str,
                                                contract: dict[str, Any]) -> None:
    """What a simulated vendor device publishes reads back as the contract message it
    stands for, event time included."""
    body = {"ts": 1772410500123, **contract}
    vendor = DIALECTS[dialect].encode(channel, body)
    assert vendor is not None
    translation = DIALECTS[dialect].translate(orjson.dumps(vendor), kind, RECEIVED_MS)
    assert translation.payloads[0] == (channel, body)
    assert not translation.ts_from_receipt


def test_what_a_dialect_cannot_say_is_not_encoded() -> None:
    z2m = DIALECTS["zigbee2mqtt"]
    assert z2m.encode("event", {"ts": 1, "kind": "door", "event": "forced"}) is None
    assert z2m.encode("telemetry", {"ts": 1, "kind": "smoke", "smoke": 0.2}) is None


def test_a_bad_timestamp_is_a_contract_violation() -> None:
    with pytest.raises(ContractViolation) as caught:
        DIALECTS["zigbee2mqtt"].translate(b'{"smoke": true, "last_seen": "yesterday"}', "smoke",
                                          RECEIVED_MS)
    assert caught.value.reason is Reason.BAD_TIMESTAMP
    with pytest.raises(ContractViolation) as caught:
        DIALECTS["zigbee2mqtt"].translate(b"[1, 2]", "smoke", RECEIVED_MS)
    assert caught.value.reason is Reason.NOT_AN_OBJECT


MINIMAL = {"dialect": "acme", "topic": "acme/{name}/state",
           "kinds": {"water": [{"channel": "telemetry", "fields": {"leak": {"path": "wet"}}}]}}


@pytest.mark.parametrize(("change", "complaint"), [
    ({"topic": "acme/state"}, "{name}"),
    ({"topic": "acme/+/{name}"}, "wildcard"),
    ({"kinds": {"lamp": []}}, "kind 'lamp'"),
    ({"kinds": {"water": [{"channel": "telemetry", "fields": {"open": {"path": "x"}}}]}},
     "not a water field"),
    ({"kinds": {"water": [{"channel": "event", "event": "fire"}]}}, "are not all of"),
    ({"kinds": {"water": [{"channel": "event"}]}}, "needs `event`"),
    ({"ts": {"path": "t", "value": 3}}, "either path or value"),
    ({"ts": {"path": "t", "convert": "furlongs"}}, "convert"),
])
def test_a_mapping_file_that_is_wrong_is_refused(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match="1 validation error") as caught:
        DialectSpec.model_validate({**MINIMAL, **change})
    assert complaint in str(caught.value)


def test_an_integrators_mapping_file_needs_no_python(tmp_path: Any) -> None:
    """A mapping dropped into the dialects folder is loaded beside the shipped ones and
    converts units (Fahrenheit to Celsius, seconds to milliseconds)."""
    spec = {**MINIMAL, "ts": {"path": "time", "convert": "s_to_ms"},
            "kinds": {"smoke": [{"channel": "telemetry", "fields": {
                "smoke": {"path": "obscuration", "scale": 0.01},
                "temp_c": {"path": "temp_f", "convert": "f_to_c", "optional": True}}}]}}
    (tmp_path / "acme.yaml").write_text(yaml.safe_dump(spec))
    dialects = load_dialects(tmp_path)
    assert set(dialects) == {"zigbee2mqtt", "shelly", "acme"}
    translation = dialects["acme"].translate(
        b'{"time": 1772410500, "obscuration": 250, "temp_f": 212}', "smoke", RECEIVED_MS)
    assert translation.payloads == (("telemetry", {"ts": 1772410500000, "kind": "smoke",
                                                   "smoke": 2.5, "temp_c": 100.0}),)


def test_router_claims_registered_topics_and_refuses_unclaimed_ones() -> None:
    router = SourceRouter(DIALECTS, REGISTRY, "safehood")
    routed = router.route("zigbee2mqtt/kitchen/smoke", b'{"smoke": false}', RECEIVED_MS)
    assert routed is not None and [r.topic for r in routed] == [
        f"safehood/v1/{SITE}/h1-smoke/event"]
    assert routed[0].ts_from_receipt
    status = router.route("zigbee2mqtt/kitchen/smoke/availability", b'{"state": "offline"}', 0)
    assert status is not None and status[0].topic == f"safehood/v1/{SITE}/h1-smoke/status"
    assert router.route(f"safehood/v1/{SITE}/h1-door/event", b"{}", 0) is None
    for unclaimed in ("zigbee2mqtt/hall_smoke", "zigbee2mqtt/hall_smoke/availability",
                      "shellyplussmoke-ffffffffffff/events/rpc"):
        with pytest.raises(ContractViolation) as caught:
            router.route(unclaimed, b'{"smoke": true}', RECEIVED_MS)
        assert caught.value.reason is Reason.UNCLAIMED_SOURCE
    # Friendly names with a slash are claimed by their exact topic; a topic the dialect's
    # filters reach has no filter of its own (the broker would deliver it twice).
    assert router.filters == [
        "+/events/rpc", "+/online", "zigbee2mqtt/+", "zigbee2mqtt/+/availability",
        "zigbee2mqtt/kitchen/smoke", "zigbee2mqtt/kitchen/smoke/availability"]


def test_registry_entries_with_a_source_need_both_and_one_topic_one_device() -> None:
    data = REGISTRY.to_model().model_dump(exclude_none=True)
    assert Registry.from_data(data).devices["h1-smoke"].dialect == "zigbee2mqtt"
    data["devices"][2] = {**data["devices"][2], "source_topic": "zigbee2mqtt/door"}
    with pytest.raises(ValueError, match="go together"):
        Registry.from_data(data)
    data["devices"][2]["source_topic"] = "zigbee2mqtt/kitchen/smoke"
    data["devices"][2]["dialect"] = "zigbee2mqtt"
    with pytest.raises(ValueError, match="one topic, one device"):
        Registry.from_data(data)


def _heard(topic: str, *payloads: bytes) -> TopicShape:
    shape = TopicShape(topic)
    for payload in payloads:
        shape.observe(payload)
    return shape


def test_discovery_suggests_an_entry_for_a_known_dialect() -> None:
    shape = _heard("zigbee2mqtt/kitchen_smoke",
                   b'{"smoke":true,"battery":87,"linkquality":120,"tamper":false}',
                   b'{"smoke":false,"battery":87,"linkquality":118,"tamper":false}')
    found = suggest(shape, DIALECTS, REGISTRY, "safehood", site=SITE)
    assert found is not None
    assert found["messages"] == 2 and found["shape"]["smoke"] == "bool"
    assert found["dialect"] == "zigbee2mqtt"
    assert found["device"] == {"device_id": "kitchen_smoke", "site": SITE, "kind": "smoke",
                               "household": "HOUSEHOLD", "source_topic": shape.topic,
                               "dialect": "zigbee2mqtt"}
    # Topics the registry has already are not suggested again.
    assert suggest(_heard("zigbee2mqtt/kitchen/smoke", b"{}"), DIALECTS, REGISTRY, "safehood") is None
    assert suggest(_heard("shellyfloodg4-b0b21c0d1e2f/online", b"true"), DIALECTS, REGISTRY,
                   "safehood") is None


def test_discovery_writes_a_mapping_that_loads_for_an_unknown_dialect() -> None:
    payload = b'{"Time": 1772410500000, "Leak": {"detected": true}, "Battery": 66}'
    shape = _heard("acme/hub7/sensor42", payload)
    found = suggest(shape, DIALECTS, REGISTRY, "safehood", site=SITE)
    assert found is not None and found["dialect"] is None
    assert found["device"]["kind"] == "water" and found["device"]["device_id"] == "sensor42"
    dialect = Dialect(DialectSpec.model_validate(found["mapping"]))
    assert dialect.matches(shape.topic)
    translation = dialect.translate(payload, "water", RECEIVED_MS)
    assert translation.payloads == (("telemetry", {"ts": 1772410500000, "kind": "water",
                                                   "battery": 66, "leak": True}),)


def test_a_broken_mapping_file_is_named_in_the_error(tmp_path: Any) -> None:
    (tmp_path / "acme.yaml").write_text(yaml.safe_dump({**MINIMAL, "topic": "acme/state"}))
    with pytest.raises(MappingError, match=r"(?s)acme\.yaml.*\{name\}"):
        load_dialects(tmp_path)


def test_discovery_suggests_contract_devices_the_registry_lacks() -> None:
    ghost = _heard(f"safehood/v1/{SITE}/ghost-7/telemetry", b'{"ts": 1, "kind": "motion"}')
    found = suggest(ghost, DIALECTS, REGISTRY, "safehood")
    assert found is not None and found["dialect"] == "contract v1"
    assert found["device"] == {"device_id": "ghost-7", "site": SITE, "kind": "motion",
                               "household": "HOUSEHOLD"}
    known = _heard(f"safehood/v1/{SITE}/h1-door/telemetry", b'{"ts": 1, "kind": "door"}')
    assert suggest(known, DIALECTS, REGISTRY, "safehood") is None
