"""Property: whatever a device sends, ``parse_message`` answers with a valid typed reading or
a dead letter with a reason, never any other exception."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safehood.protocol import ContractViolation, Message, Reason, parse_message
from safehood.protocol.const import CHANNELS, DEVICE_KINDS, EVENTS_BY_KIND

PREFIX = "safehood"
RECEIVED_MS = 1_772_410_500_000

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
# Values near the contract's own, so that many draws get past the first check.
plausible = st.one_of(
    json_values, st.integers(min_value=0, max_value=4_200_000_000_000),
    st.sampled_from(["2026-03-02T00:15:00Z", "2016-12-31T23:59:60Z", "not a time", ""]),
    st.sampled_from(sorted({e for events in EVENTS_BY_KIND.values() for e in events})),
    st.sampled_from(DEVICE_KINDS),
    st.lists(st.lists(st.floats(-16, 16), min_size=3, max_size=3), max_size=3),
)
field_names = st.sampled_from([
    "ts", "seq", "kind", "event", "smoke", "temp_c", "co_ppm", "accel", "hz", "hr_bpm", "leak",
    "flow_lpm", "open", "occupancy", "online", "battery", "rssi", "credential", "extra",
])
payload_objects = st.dictionaries(field_names, plausible, max_size=8)

segment = st.one_of(st.sampled_from(["xianlin-3", "h001-smoke", "", "+", "#", "a/b"]),
                    st.text(max_size=12))
topics = st.one_of(
    st.builds(lambda s, d, c: f"{PREFIX}/v1/{s}/{d}/{c}", segment, segment,
              st.one_of(st.sampled_from(CHANNELS), st.text(max_size=10))),
    st.text(max_size=60),
)


def _encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits: sent as the literal text
        return repr(value).encode()


payloads = st.one_of(
    payload_objects.map(_encode), json_values.map(_encode), st.binary(max_size=200),
)


def _assert_answered(topic: str, raw: bytes) -> None:
    try:
        message = parse_message(topic, raw, RECEIVED_MS, prefix=PREFIX)
    except ContractViolation as violation:
        assert isinstance(violation.reason, Reason)
        assert violation.detail
        return
    assert isinstance(message, Message)
    assert message.channel in CHANNELS
    assert isinstance(message.ts_ms, int) and not isinstance(message.ts_ms, bool)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=topics, raw=payloads)
def test_any_topic_and_payload_parses_or_is_a_dead_letter(topic: str, raw: bytes) -> None:
    _assert_answered(topic, raw)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(DEVICE_KINDS), channel=st.sampled_from(CHANNELS),
       body=payload_objects)
def test_contract_shaped_payloads_parse_or_are_dead_letters(
    kind: str, channel: str, body: dict[str, Any]
) -> None:
    _assert_answered(f"{PREFIX}/v1/xianlin-3/h001-{kind}/{channel}", _encode({"kind": kind, **body}))
