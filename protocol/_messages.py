from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
        if isinstance(reading, StatusReading):
            channel, seq = "status", None
        else:
            channel = "event" if isinstance(reading, DeviceEvent) else "telemetry"
            kind, seq = reading.kind, reading.seq
        ts_ms = reading.ts if reading.ts is not None else received_ms
        if ts_ms is None:
            raise ValueError("a status without ts needs received_ms")
        return cls(
            site=placed.site, device_id=placed.device_id, channel=channel, ts_ms=int(ts_ms),
            reading=reading, kind=kind, seq=seq, battery=reading.battery,
            household=placed.household, room=placed.room, resident=placed.resident,
            received_ms=received_ms, ts_from_receipt=reading.ts is None,
        )

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
