from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._readings import DeviceEvent, Reading, Scalar, StatusReading, scalars
from ._scope import Placement


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(Placement):
    """One validated contract message, as every stage after ingest sees it.

    ``ts_ms`` is event time in UTC epoch milliseconds (a status without ``ts`` takes its
    receipt time, ``ts_from_receipt``). ``reading`` is the payload, decoded once into its
    typed form: a telemetry reading of the device's kind, a :class:`DeviceEvent` or a
    :class:`StatusReading`. ``household``, ``room`` and ``resident`` come from the registry
    when known. ``extras`` are the readings of a vendor device that its dialect maps onto no
    contract field (``linkquality`` of a Zigbee device): kept beside the reading, by name.
    """

    channel: str
    ts_ms: int
    reading: Reading
    seq: int | None = None
    battery: float | None = None
    received_ms: int | None = None
    ts_from_receipt: bool = False
    extras: tuple[tuple[str, Scalar], ...] = ()

    @classmethod
    def from_reading(
        cls, reading: Reading, placed: Placement, *, received_ms: int | None = None
    ) -> Message:
        """The message that carries ``reading`` from the device ``placed`` there (a registry
        :class:`Device` is a :class:`Placement`): channel, event time, kind, ``seq`` and
        ``battery`` come from the reading (a status without ``ts`` takes ``received_ms``);
        ``placed.kind`` is needed only for a status, whose payload does not name it."""
        kind = placed.kind
        if type(reading) is StatusReading:
            channel, seq = "status", None
        else:
            channel = "event" if type(reading) is DeviceEvent else "telemetry"
            kind, seq = reading.kind, reading.seq  # type: ignore[union-attr]
        ts = reading.ts
        ts_ms = received_ms if ts is None else ts
        if ts_ms is None:
            raise ValueError("a status without ts needs received_ms")
        # Made for every message: each slot set through its own descriptor, a third of the
        # CPU of the frozen dataclass's keyword __init__ (tests/protocol holds the two equal).
        message = _new(cls)
        _set_site(message, placed.site)
        _set_device_id(message, placed.device_id)
        _set_channel(message, channel)
        _set_ts_ms(message, int(ts_ms))
        _set_reading(message, reading)
        _set_kind(message, kind)
        _set_seq(message, seq)
        _set_battery(message, reading.battery)
        _set_household(message, placed.household)
        _set_room(message, placed.room)
        _set_resident(message, placed.resident)
        _set_received_ms(message, received_ms)
        _set_ts_from_receipt(message, ts is None)
        _set_extras(message, ())
        return message

    @property
    def event(self) -> str | None:
        """The event value of an ``event`` message, else ``None``."""
        reading = self.reading
        return reading.event if isinstance(reading, DeviceEvent) else None

    @property
    def online(self) -> bool | None:
        """Whether a ``status`` message says the device is online, else ``None``."""
        reading = self.reading
        return reading.online if isinstance(reading, StatusReading) else None

    @property
    def fields(self) -> Mapping[str, Scalar]:
        """The scalar readings present, by name (``smoke``, ``leak``, ``online`` ...)."""
        return scalars(self.reading)


def _slot_setter(name: str) -> Callable[[Message, Any], None]:
    setter: Callable[[Message, Any], None] = getattr(Message, name).__set__
    return setter


_new = object.__new__
(_set_site, _set_device_id, _set_channel, _set_ts_ms, _set_reading, _set_kind, _set_seq,
 _set_battery, _set_household, _set_room, _set_resident, _set_received_ms,
 _set_ts_from_receipt, _set_extras) = map(_slot_setter, (
    "site", "device_id", "channel", "ts_ms", "reading", "kind", "seq", "battery", "household",
    "room", "resident", "received_ms", "ts_from_receipt", "extras"))
