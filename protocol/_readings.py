"""Typed, frozen readings of contract v1: each payload is decoded once into one of these.

A reading is the whole payload of one message (its ``ts``, ``seq`` and ``battery`` too), so
nothing downstream parses a payload again: a detector writes ``message.reading.smoke``.
Telemetry readings are tagged on ``kind``; the status payload and the event payload are
decoded by channel. msgspec validates while it decodes, strictly: no boolean or string where
a number is due.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from msgspec import Meta, Struct

from .const import MAX_SEQ

Scalar = float | int | bool | str
Sample = tuple[float, float, float]


class EpochMs(int):
    """Event time in UTC epoch milliseconds; on the wire an RFC 3339 string or an integer
    (see :func:`parse_ts_ms`, which the decoder applies)."""


def _bounded(lo: float, hi: float) -> Meta:
    return Meta(ge=lo, le=hi)


Percent = Annotated[float, _bounded(0, 100)]
Axis = Annotated[float, _bounded(-64, 64)]


class _Reading(Struct, frozen=True, kw_only=True):
    # Unknown fields are ignored, not refused: the contract grows by new optional fields.
    ts: EpochMs
    seq: Annotated[int, Meta(ge=0, le=MAX_SEQ)] | None = None
    battery: Percent | None = None

    # The scalar readings a store keeps under their own names, in this order.
    scalar_names: ClassVar[tuple[str, ...]] = ()


class _Telemetry(_Reading, frozen=True, kw_only=True, tag_field="kind"):
    @property
    def kind(self) -> str:
        """The device kind, the tag the payload was decoded by."""
        tag = self.__struct_config__.tag
        assert isinstance(tag, str)
        return tag


class SmokeReading(_Telemetry, frozen=True, kw_only=True, tag="smoke"):
    smoke: Annotated[float, _bounded(0, 30)]
    temp_c: Annotated[float, _bounded(-40, 200)] | None = None
    co_ppm: Annotated[float, _bounded(0, 10_000)] | None = None

    scalar_names: ClassVar[tuple[str, ...]] = ("smoke", "temp_c", "co_ppm")


class WearableWindow(_Telemetry, frozen=True, kw_only=True, tag="wearable"):
    """A window of acceleration samples ``[x, y, z]`` in g at ``hz`` samples a second."""

    accel: Annotated[tuple[tuple[Axis, Axis, Axis], ...], Meta(max_length=4096)]
    hz: Annotated[float, Meta(gt=0, le=2000)]
    hr_bpm: Annotated[float, _bounded(0, 300)] | None = None

    scalar_names: ClassVar[tuple[str, ...]] = ("hr_bpm",)


class WaterReading(_Telemetry, frozen=True, kw_only=True, tag="water"):
    leak: bool | None = None
    flow_lpm: Annotated[float, _bounded(0, 1000)] | None = None

    scalar_names: ClassVar[tuple[str, ...]] = ("leak", "flow_lpm")


class DoorReading(_Telemetry, frozen=True, kw_only=True, tag="door"):
    open: bool

    scalar_names: ClassVar[tuple[str, ...]] = ("open",)


class MotionReading(_Telemetry, frozen=True, kw_only=True, tag="motion"):
    occupancy: bool

    scalar_names: ClassVar[tuple[str, ...]] = ("occupancy",)


class ButtonReading(_Telemetry, frozen=True, kw_only=True, tag="button"):
    pass


Telemetry = SmokeReading | WearableWindow | WaterReading | DoorReading | MotionReading | ButtonReading

DeviceKind = Literal["smoke", "wearable", "water", "door", "motion", "button"]


class DeviceEvent(_Reading, frozen=True, kw_only=True):
    """A discrete happening; ``event`` is checked against the kind's events after decoding."""

    kind: DeviceKind
    event: str
    credential: Annotated[str, Meta(max_length=256)] | None = None


class StatusReading(Struct, frozen=True, kw_only=True):
    """A device's (retained) status; without ``ts`` the message takes its receipt time."""

    ts: EpochMs | None = None
    online: bool
    battery: Percent | None = None
    rssi: Annotated[int, _bounded(-200, 50)] | None = None

    scalar_names: ClassVar[tuple[str, ...]] = ("online", "rssi")


Reading = Telemetry | DeviceEvent | StatusReading


def scalars(reading: Reading) -> dict[str, Scalar]:
    """The reading's scalar values that are present, by name (what a store keeps of it)."""
    values = ((name, getattr(reading, name)) for name in reading.scalar_names)
    return {name: value for name, value in values if value is not None}
