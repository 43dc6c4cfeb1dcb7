"""Wire contract v1: every kind and channel, and a specific reason for every violation."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from safehood.protocol import (
    ContractViolation,
    Message,
    Reason,
    Registry,
    build_topic,
    decode_reading,
    format_ts,
    parse_message,
    parse_topic,
    read_labels,
    read_replay,
)

TS = "2026-03-02T08:15:00+08:00"
TS_MS = 1772410500000
REGISTRY = Registry.from_data({
    "households": [{"id": "h001", "site": "xianlin-3", "lives_alone": True,
                    "timezone": "Asia/Shanghai", "night": ["22:00", "06:00"]}],
    "residents": [{"id": "r001", "household": "h001", "name": "Wang Fang", "elderly": True,
                   "contacts": ["mailto://family@example.org"]}],
    "devices": [
        {"device_id": "h001-smoke-kitchen", "site": "xianlin-3", "kind": "smoke",
         "household": "h001", "room": "kitchen"},
        {"device_id": "r001-band", "site": "xianlin-3", "kind": "wearable", "household": "h001",
         "resident": "r001"},
        {"device_id": "stair-1-smoke", "site": "xianlin-3", "kind": "smoke"},
    ],
})


def parse(channel: str, payload: object, device: str = "h001-smoke-kitchen", **kw: object):
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return parse_message(f"safehood/v1/xianlin-3/{device}/{channel}", raw, TS_MS, **kw)


@pytest.mark.parametrize(("channel", "payload", "fields"), [
    ("telemetry", {"kind": "smoke", "smoke": 2.5, "temp_c": 23.5, "co_ppm": 3}, {"smoke": 2.5}),
    ("telemetry", {"kind": "wearable", "accel": [[0, 0, 1], [0.1, 0, 0.9]], "hz": 25,
                   "hr_bpm": 70}, {"hr_bpm": 70}),
    ("telemetry", {"kind": "water", "leak": False, "flow_lpm": 4.2}, {"leak": False}),
    ("telemetry", {"kind": "door", "open": True}, {"open": True}),
    ("telemetry", {"kind": "motion", "occupancy": False}, {"occupancy": False}),
    ("telemetry", {"kind": "button"}, {}),
    ("event", {"kind": "door", "event": "denied", "credential": "card-17"}, {}),
    ("event", {"kind": "button", "event": "sos"}, {}),
])
def test_every_kind_parses(channel: str, payload: dict, fields: dict) -> None:
    message = parse(channel, {"ts": TS, "seq": 7, "battery": 88, **payload})
    assert message.ts_ms == TS_MS
    assert message.seq == 7 and message.battery == 88
    assert message.kind == payload["kind"]
    for name, value in fields.items():
        assert message.fields[name] == value


def test_timestamps_normalise_to_utc_epoch_ms() -> None:
    as_string = parse("telemetry", {"ts": TS, "kind": "motion", "occupancy": True})
    as_int = parse("telemetry", {"ts": TS_MS, "kind": "motion", "occupancy": True})
    as_z = parse("telemetry", {"ts": "2026-03-02T00:15:00Z", "kind": "motion", "occupancy": True})
    assert as_string.ts_ms == as_int.ts_ms == as_z.ts_ms == TS_MS
    assert format_ts(TS_MS) == "2026-03-02T00:15:00.000Z"


def test_status_without_ts_takes_receipt_time() -> None:
    message = parse("status", {"online": False})
    assert message.online is False
    assert message.ts_ms == TS_MS and message.ts_from_receipt


@pytest.mark.parametrize(("topic", "payload", "reason"), [
    ("safehood/v1/xianlin-3/d1/telemetry", b"{not json", Reason.BAD_JSON),
    ("safehood/v1/xianlin-3/d1/telemetry", b"\xff\xfe{", Reason.BAD_ENCODING),
    ("safehood/v1/xianlin-3/d1/telemetry", b"[1, 2]", Reason.NOT_AN_OBJECT),
    ("safehood/v1/xianlin-3/d1/telemetry", b'{"kind": "smoke", "smoke": 1}', Reason.MISSING_FIELD),
    ("safehood/v1/xianlin-3/d1/telemetry", b'{"ts": 1772410500000, "smoke": 1}', Reason.MISSING_FIELD),
    ("safehood/v1/xianlin-3/d1/telemetry", b'{"ts": 1772410500000, "kind": "smoke"}',
     Reason.MISSING_FIELD),
    ("safehood/v1/xianlin-3/d1/telemetry", b'{"ts": 1772410500000, "kind": "radar"}',
     Reason.UNKNOWN_KIND),
    ("safehood/v1/xianlin-3/d1/event", b'{"ts": 1772410500000, "kind": "smoke", "event": "boom"}',
     Reason.UNKNOWN_EVENT),
    ("safehood/v1/xianlin-3/d1/telemetry", b'{"ts": 1772410500000, "kind": "smoke", "smoke": 31}',
     Reason.OUT_OF_RANGE),
    ("safehood/v1/xianlin-3/d1/telemetry",
     b'{"ts": 1772410500000, "kind": "smoke", "smoke": 1, "battery": 101}', Reason.OUT_OF_RANGE),
    # A seq the stores' signed 64-bit integers cannot hold (it stopped ingest: issue 11's fuzz).
    ("safehood/v1/xianlin-3/d1/event",
     b'{"ts": 1772410500000, "seq": 9223372036854775808, "kind": "motion", "event": "motion"}',
     Reason.OUT_OF_RANGE),
    ("safehood/v1/xianlin-3/d1/telemetry", b'{"ts": 1772410500000, "kind": "door", "open": "yes"}',
     Reason.BAD_TYPE),
    ("safehood/v1/xianlin-3/d1/telemetry", b'{"ts": "yesterday", "kind": "door", "open": true}',
     Reason.BAD_TIMESTAMP),
    ("safehood/v1/xianlin-3/d1/telemetry", b'{"ts": 12, "kind": "door", "open": true}',
     Reason.BAD_TIMESTAMP),
    ("safehood/v1/xianlin-3/d1", b"{}", Reason.BAD_TOPIC),
    ("safehood/v1/Xianlin/d1/telemetry", b"{}", Reason.BAD_TOPIC),
    ("safehood/v1/xianlin-3/d1/readings", b"{}", Reason.BAD_TOPIC),
    ("safehood/v1/xianlin-3/d1/telemetry", b" " * (64 * 1024 + 1), Reason.OVERSIZED),
])
def test_each_violation_has_its_reason(topic: str, payload: bytes, reason: Reason) -> None:
    with pytest.raises(ContractViolation) as info:
        parse_message(topic, payload, TS_MS)
    assert info.value.reason is reason
    assert info.value.detail


def test_registry_checks_and_enriches() -> None:
    message = parse("telemetry", {"ts": TS, "kind": "wearable", "accel": [[0, 0, 1]], "hz": 25},
                    device="r001-band", registry=REGISTRY)
    assert (message.household, message.resident) == ("h001", "r001")
    shared = parse("telemetry", {"ts": TS, "kind": "smoke", "smoke": 0.1}, device="stair-1-smoke",
                   registry=REGISTRY)
    assert shared.household is None
    for device, payload, reason in [
        ("nobody", {"ts": TS, "kind": "smoke", "smoke": 0.1}, Reason.UNKNOWN_DEVICE),
        ("r001-band", {"ts": TS, "kind": "smoke", "smoke": 0.1}, Reason.KIND_MISMATCH),
    ]:
        with pytest.raises(ContractViolation) as info:
            parse("telemetry", payload, device=device, registry=REGISTRY)
        assert info.value.reason is reason


@pytest.mark.parametrize(("channel", "payload", "received_ms"), [
    ("telemetry", {"ts": TS, "seq": 3, "battery": 61, "kind": "smoke", "smoke": 0.4}, TS_MS + 5),
    ("event", {"ts": TS, "kind": "smoke", "event": "tamper"}, None),
    ("status", {"online": True, "battery": 12}, TS_MS),
    ("status", {"ts": TS, "online": False}, TS_MS),
])
def test_a_message_is_the_one_its_dataclass_makes(
    channel: str, payload: dict, received_ms: int | None
) -> None:
    # Message.from_reading sets the frozen dataclass's slots itself (it is made a message);
    # a field it misses is an unset slot here.
    reading = decode_reading(channel, orjson.dumps(payload))
    device = REGISTRY.placement("h001-smoke-kitchen", "xianlin-3", None)
    message = Message.from_reading(reading, device, received_ms=received_ms)
    built = Message(
        device_id=device.device_id, site=device.site, kind="smoke", household="h001",
        room="kitchen", resident=None, channel=channel, ts_ms=reading.ts or TS_MS,
        reading=reading, seq=payload.get("seq"), battery=reading.battery,
        received_ms=received_ms, ts_from_receipt="ts" not in payload,
    )
    assert message == built and hash(message) == hash(built)
    assert repr(message) == repr(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.ts_ms = 0  # type: ignore[misc]


def test_topics_round_trip() -> None:
    topic = build_topic("xianlin-3", "h001-smoke-kitchen", "event", prefix="acme/home")
    parsed = parse_topic(topic, prefix="acme/home")
    assert (parsed.site, parsed.device_id, parsed.channel) == ("xianlin-3", "h001-smoke-kitchen", "event")
    with pytest.raises(ValueError):
        build_topic("Bad Site", "d", "event")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_registry_file_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"registry{suffix}"
    REGISTRY.dump(path)
    loaded = Registry.load(path)
    assert loaded.devices == REGISTRY.devices
    assert loaded.households == REGISTRY.households
    assert loaded.residents == REGISTRY.residents


def test_registry_file_refuses_dangling_references() -> None:
    with pytest.raises(ValueError, match="unknown household"):
        Registry.from_data({"households": [], "devices": [
            {"device_id": "d1", "site": "s1", "kind": "smoke", "household": "h404"}]})
    with pytest.raises(ValueError, match="time zone"):
        Registry.from_data({"households": [{"id": "h1", "site": "s1", "timezone": "Mars/Base"}]})


def test_replay_and_labels_files(tmp_path: Path) -> None:
    replay = tmp_path / "traffic.jsonl"
    replay.write_text(json.dumps({"topic": "safehood/v1/s/d/event",
                                  "payload": {"ts": TS_MS, "kind": "button", "event": "sos"}}) + "\n")
    (record,) = list(read_replay(replay))
    assert orjson.loads(record.payload_bytes())["event"] == "sos"
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"type": "fall", "household": "h001", "start": TS, "end": TS_MS + 1}))
    (label,) = read_labels(labels)
    assert label.start == TS_MS and label.end == TS_MS + 1



@pytest.mark.parametrize("payload", [
    b'{"ts": 1772410500000, "kind": "smoke", "smoke": true}',
    b'{"ts": 1772410500000, "kind": "smoke", "smoke": "0.31"}',
    b'{"ts": 1772410500000, "kind": "smoke", "smoke": 0.3, "battery": true}',
    b'{"ts": 1772410500000, "kind": "smoke", "smoke": 0.3, "battery": "88"}',
    b'{"ts": 1772410500000, "kind": "water", "leak": 1}',
    b'{"ts": 1772410500000, "kind": "motion", "occupancy": "true"}',
])
def test_a_number_is_a_json_number_and_a_boolean_a_json_boolean(payload: bytes) -> None:
    with pytest.raises(ContractViolation) as info:
        parse_message("safehood/v1/xianlin-3/d1/telemetry", payload, TS_MS)
    assert info.value.reason is Reason.BAD_TYPE


@pytest.mark.parametrize("ts", [b"null", b"[1772410500000]", b'{"ms": 1772410500000}', b"true",
                                b"false", b"1772410500000.5", b'"2026-03-02"', b'"08:15:00Z"'])
@pytest.mark.parametrize("channel", ["telemetry", "event", "status"])
def test_a_ts_of_any_wrong_shape_is_a_bad_timestamp(ts: bytes, channel: str) -> None:
    if (channel, ts) == ("status", b"null"):
        pytest.skip("a status's ts is optional: null, like no ts, means the receipt time")
    body = {"telemetry": b'"kind": "motion", "occupancy": true',
            "event": b'"kind": "motion", "event": "motion"',
            "status": b'"online": true'}[channel]
    with pytest.raises(ContractViolation) as info:
        parse_message(f"safehood/v1/xianlin-3/d1/{channel}", b'{"ts": %s, %s}' % (ts, body), TS_MS)
    assert info.value.reason is Reason.BAD_TIMESTAMP


@pytest.mark.parametrize(("ts", "expected"), [
    ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999Z"),
    ("2016-12-31T23:59:60.250Z", "2016-12-31T23:59:59.999Z"),
    ("2017-01-01T07:59:60+08:00", "2016-12-31T23:59:59.999Z"),
])
def test_a_leap_second_is_the_last_millisecond_of_its_minute(ts: str, expected: str) -> None:
    message = parse("telemetry", {"ts": ts, "kind": "motion", "occupancy": True})
    assert format_ts(message.ts_ms) == expected


def test_fractional_milliseconds_of_a_string_ts_are_cut_exactly() -> None:
    message = parse("telemetry", {"ts": "2026-03-02T00:15:00.123999Z", "kind": "motion",
                                  "occupancy": True})
    assert message.ts_ms == TS_MS + 123


def test_registry_file_booleans_are_json_booleans() -> None:
    with pytest.raises(ValueError, match="lives_alone"):
        Registry.from_data({"households": [{"id": "h1", "site": "s1", "lives_alone": 0}]})
    with pytest.raises(ValueError, match="elderly"):
        Registry.from_data({"households": [{"id": "h1", "site": "s1"}], "residents": [
            {"id": "r1", "household": "h1", "name": "N", "elderly": "yes"}]})


def test_formatted_times_are_the_datetime_library_s_and_parse_back() -> None:
    rng = random.Random(5)
    # Day and year boundaries, a leap day, the epoch's own, then random times 2000-2100.
    times = [0, 951_782_400_000, 951_868_799_999, 1_767_225_599_999, 1_767_225_600_000,
             *(rng.randrange(946_684_800_000, 4_102_444_800_000) for _ in range(2_000))]
    for ts_ms in times:
        expected = datetime.fromtimestamp(ts_ms // 1000, tz=UTC).replace(
            microsecond=ts_ms % 1000 * 1000).isoformat(timespec="milliseconds")
        assert format_ts(ts_ms) == expected.replace("+00:00", "Z")
        if ts_ms >= 946_684_800_000:
            assert parse("telemetry", {"ts": format_ts(ts_ms), "kind": "motion",
                                       "occupancy": True}).ts_ms == ts_ms
