"""The one function that decodes and validates a contract message (msgspec, strict)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ._errors import ContractViolation, Reason
from ._messages import Message
from ._readings import DeviceEvent, EpochMs, Reading, StatusReading, Telemetry
from ._registry import Registry
from ._scope import Placement
from ._time import parse_ts_ms
from ._topics import parse_topic
from .const import DEFAULT_TOPIC_PREFIX, EVENTS_BY_KIND, MAX_PAYLOAD_BYTES


def _decode_hook(type_: type, value: Any) -> Any:
    if type_ is EpochMs:
        return EpochMs(parse_ts_ms(value))
    raise NotImplementedError(type_)


_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "telemetry": msgspec.json.Decoder(Telemetry, dec_hook=_decode_hook),
    "event": msgspec.json.Decoder(DeviceEvent, dec_hook=_decode_hook),
    "status": msgspec.json.Decoder(StatusReading, dec_hook=_decode_hook),
}

# msgspec's error text: "<what> - at `$.path`"; a top-level error has no path.
_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$\.?(?P<where>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_RANGE = re.compile(r"Expected `[^`]+` (?:[<>]=?|of length)|Number out of range")


def _violation(exc: msgspec.ValidationError) -> ContractViolation:
    """Map msgspec's error onto a contract reason with a readable detail."""
    match = _AT.match(str(exc))
    assert match is not None  # the pattern matches any text
    what, where = match["what"], match["where"]
    missing = _MISSING.match(what)
    if missing:
        field = f"{where}.{missing['name']}" if where else missing["name"]
        return ContractViolation(Reason.MISSING_FIELD, f"field {field!r} is required")
    if where is None and what.startswith("Expected `object`"):
        return ContractViolation(Reason.NOT_AN_OBJECT, f"payload: {what}")
    if where == "ts":
        return ContractViolation(Reason.BAD_TIMESTAMP, f"ts: {what}")
    if where == "kind":
        return ContractViolation(Reason.UNKNOWN_KIND, f"kind: {what}")
    if _RANGE.match(what):
        return ContractViolation(Reason.OUT_OF_RANGE, f"{where}: {what}")
    return ContractViolation(Reason.BAD_TYPE, f"{where or 'payload'}: {what}")


def decode_reading(channel: str, raw: bytes) -> Reading:
    """Decode a raw payload of ``channel`` into its typed reading, or raise
    :class:`ContractViolation`."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ContractViolation(
            Reason.OVERSIZED, f"payload is {len(raw)} bytes, the limit is {MAX_PAYLOAD_BYTES}"
        )
    try:
        reading: Reading = _DECODERS[channel].decode(raw)
    except msgspec.ValidationError as exc:
        raise _violation(exc) from None
    except msgspec.DecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ContractViolation(Reason.BAD_ENCODING, "payload is not UTF-8") from exc
        raise ContractViolation(Reason.BAD_JSON, f"payload is not JSON: {exc}") from exc
    if isinstance(reading, DeviceEvent) and reading.event not in EVENTS_BY_KIND[reading.kind]:
        raise ContractViolation(
            Reason.UNKNOWN_EVENT,
            f"event {reading.event!r} is not one of {', '.join(sorted(EVENTS_BY_KIND[reading.kind]))}"
            f" for kind {reading.kind!r}",
        )
    return reading


def parse_message(
    topic: str,
    raw: bytes,
    received_ms: int,
    registry: Registry | None = None,
    prefix: str = DEFAULT_TOPIC_PREFIX,
) -> Message:
    """Parse and validate one MQTT message; the single entry point of the contract.

    With a ``registry`` the device must be known, of the kind it claims and at its site,
    and the message is enriched with its household, room and resident.
    Raises :class:`ContractViolation` with a specific reason on any breach.
    """
    place = parse_topic(topic, prefix)
    reading = decode_reading(place.channel, raw)
    if registry is None:
        return Message.from_reading(
            reading, Placement(place.device_id, place.site), received_ms=received_ms)
    device = registry.placement(
        place.device_id, place.site, None if isinstance(reading, StatusReading) else reading.kind)
    # The registry's own strings (equal to the topic's): what the detectors keep per device
    # refers to them instead of a copy from each message.
    return Message.from_reading(reading, device, received_ms=received_ms)
