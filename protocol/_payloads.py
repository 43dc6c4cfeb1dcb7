"""Pydantic models of contract v1 payloads and the one function that validates a message."""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from ._errors import ContractViolation, Reason
from ._messages import Message, Scalar
from ._registry import Registry
from ._time import parse_ts_ms
from ._topics import Topic, parse_topic
from .const import DEFAULT_TOPIC_PREFIX, DEVICE_KINDS, EVENTS_BY_KIND, MAX_PAYLOAD_BYTES

Number = Annotated[float, Field(strict=False, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class _Payload(BaseModel):
    # Unknown fields are ignored, not refused: the contract grows by new optional fields.
    model_config = ConfigDict(extra="ignore", frozen=True)

    ts: int
    seq: Annotated[int, Field(ge=0, strict=True)] | None = None
    battery: Percent | None = None

    @field_validator("ts", mode="before")
    @classmethod
    def _normalise_ts(cls, value: Any) -> int:
        return parse_ts_ms(value)


class SmokeTelemetry(_Payload):
    kind: Literal["smoke"]
    smoke: Annotated[float, Field(ge=0, le=30, allow_inf_nan=False)]
    temp_c: Annotated[float, Field(ge=-40, le=200, allow_inf_nan=False)] | None = None
    co_ppm: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)] | None = None


class WearableTelemetry(_Payload):
    kind: Literal["wearable"]
    accel: Annotated[
        list[tuple[
            Annotated[float, Field(ge=-64, le=64, allow_inf_nan=False)],
            Annotated[float, Field(ge=-64, le=64, allow_inf_nan=False)],
            Annotated[float, Field(ge=-64, le=64, allow_inf_nan=False)],
        ]],
        Field(max_length=4096),
    ]
    hz: Annotated[float, Field(gt=0, le=2000, allow_inf_nan=False)]
    hr_bpm: Annotated[float, Field(ge=0, le=300, allow_inf_nan=False)] | None = None


class WaterTelemetry(_Payload):
    kind: Literal["water"]
    leak: StrictBool | None = None
    flow_lpm: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] | None = None


class DoorTelemetry(_Payload):
    kind: Literal["door"]
    open: StrictBool


class MotionTelemetry(_Payload):
    kind: Literal["motion"]
    occupancy: StrictBool


class ButtonTelemetry(_Payload):
    kind: Literal["button"]


TelemetryPayload = Annotated[
    SmokeTelemetry | WearableTelemetry | WaterTelemetry | DoorTelemetry | MotionTelemetry
    | ButtonTelemetry,
    Field(discriminator="kind"),
]


class EventPayload(_Payload):
    kind: str
    event: str
    credential: Annotated[str, Field(max_length=256)] | None = None


class StatusPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    ts: int | None = None
    online: StrictBool
    battery: Percent | None = None
    rssi: Annotated[int, Field(ge=-200, le=50)] | None = None

    @field_validator("ts", mode="before")
    @classmethod
    def _normalise_ts(cls, value: Any) -> int | None:
        return None if value is None else parse_ts_ms(value)


_TELEMETRY_MODELS: dict[str, type[_Payload]] = {
    "smoke": SmokeTelemetry,
    "wearable": WearableTelemetry,
    "water": WaterTelemetry,
    "door": DoorTelemetry,
    "motion": MotionTelemetry,
    "button": ButtonTelemetry,
}
_WEARABLE_SCALARS = ("hr_bpm",)

_RANGE_ERRORS = frozenset({
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number",
    "too_long", "too_short",
})


def _violation(exc: ValidationError) -> ContractViolation:
    """Map pydantic's first error onto a contract reason with a readable detail."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "payload"
    kind = err["type"]
    if kind == "missing":
        return ContractViolation(Reason.MISSING_FIELD, f"field {where!r} is required")
    if where == "ts" or where.startswith("ts."):
        return ContractViolation(Reason.BAD_TIMESTAMP, f"ts: {err['msg']}")
    if kind in _RANGE_ERRORS:
        return ContractViolation(Reason.OUT_OF_RANGE, f"{where}: {err['msg']}")
    return ContractViolation(Reason.BAD_TYPE, f"{where}: {err['msg']}")


def decode_payload(raw: bytes) -> dict[str, Any]:
    """Decode a raw payload into a JSON object, or raise :class:`ContractViolation`."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ContractViolation(
            Reason.OVERSIZED, f"payload is {len(raw)} bytes, the limit is {MAX_PAYLOAD_BYTES}"
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ContractViolation(Reason.BAD_ENCODING, "payload is not UTF-8") from exc
        raise ContractViolation(Reason.BAD_JSON, f"payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ContractViolation(
            Reason.NOT_AN_OBJECT, f"payload is a JSON {type(data).__name__}, not an object"
        )
    return data


def _placed(registry: Registry | None, topic: Topic, kind: str | None) -> dict[str, Any]:
    """Kind, household, room and resident of the message's device (checked against the
    registry when there is one), so that the message is built once, whole."""
    if registry is None:
        return {"kind": kind}
    device = registry.placement(topic.device_id, topic.site, kind)
    return {"kind": device.kind, "household": device.household, "room": device.room,
            "resident": device.resident}


def validate_payload(
    topic: Topic, data: dict[str, Any], received_ms: int, registry: Registry | None = None
) -> Message:
    """Validate a decoded payload against the contract for ``topic``'s channel; with a
    ``registry`` also check the device (see :meth:`Registry.placement`) and place it."""
    try:
        if topic.channel == "status":
            status = StatusPayload.model_validate(data)
            status_fields: dict[str, Scalar] = {"online": status.online}
            if status.rssi is not None:
                status_fields["rssi"] = status.rssi
            return Message(
                site=topic.site, device_id=topic.device_id, channel="status",
                ts_ms=status.ts if status.ts is not None else received_ms,
                battery=status.battery, fields=MappingProxyType(status_fields),
                received_ms=received_ms, ts_from_receipt=status.ts is None,
                **_placed(registry, topic, None),
            )
        if "ts" not in data:
            raise ContractViolation(Reason.MISSING_FIELD, "field 'ts' is required")
        kind = data.get("kind")
        if kind is None:
            raise ContractViolation(Reason.MISSING_FIELD, "field 'kind' is required")
        if not isinstance(kind, str) or kind not in DEVICE_KINDS:
            raise ContractViolation(
                Reason.UNKNOWN_KIND, f"kind {kind!r} is not one of {', '.join(DEVICE_KINDS)}"
            )
        if topic.channel == "event":
            event = EventPayload.model_validate(data)
            if event.event not in EVENTS_BY_KIND[kind]:
                raise ContractViolation(
                    Reason.UNKNOWN_EVENT,
                    f"event {event.event!r} is not one of {', '.join(sorted(EVENTS_BY_KIND[kind]))}"
                    f" for kind {kind!r}",
                )
            return Message(
                site=topic.site, device_id=topic.device_id, channel="event", ts_ms=event.ts,
                seq=event.seq, battery=event.battery, event=event.event,
                credential=event.credential, received_ms=received_ms,
                **_placed(registry, topic, kind),
            )
        model = _TELEMETRY_MODELS[kind].model_validate(data)
        readings: dict[str, Scalar] = {}
        accel: tuple[tuple[float, float, float], ...] = ()
        hz: float | None = None
        if isinstance(model, WearableTelemetry):
            accel = tuple(model.accel)
            hz = model.hz
            if model.hr_bpm is not None:
                readings["hr_bpm"] = model.hr_bpm
        else:
            for name, value in model:
                if name not in ("ts", "seq", "battery", "kind") and value is not None:
                    readings[name] = value
        return Message(
            site=topic.site, device_id=topic.device_id, channel="telemetry", ts_ms=model.ts,
            seq=model.seq, battery=model.battery, fields=MappingProxyType(readings),
            accel=accel, hz=hz, received_ms=received_ms, **_placed(registry, topic, kind),
        )
    except ValidationError as exc:
        raise _violation(exc) from None


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
    return validate_payload(parse_topic(topic, prefix), decode_payload(raw), received_ms, registry)
