from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

Scalar = float | int | bool | str
Sample = tuple[float, float, float]

_EMPTY: Mapping[str, Scalar] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Message:
    """One validated contract message, as every stage after ingest sees it.

    ``ts_ms`` is event time in UTC epoch milliseconds. ``fields`` holds the scalar readings
    of a telemetry message (``smoke``, ``temp_c``, ``leak``, ``open`` ...) or of a status
    message (``online``, ``rssi``); ``accel``/``hz`` the wearable's samples; ``event`` the
    event value of an ``event`` message. ``household`` comes from the registry when known.
    """

    site: str
    device_id: str
    channel: str
    ts_ms: int
    kind: str | None = None
    seq: int | None = None
    battery: float | None = None
    event: str | None = None
    fields: Mapping[str, Scalar] = field(default_factory=lambda: _EMPTY)
    accel: tuple[Sample, ...] = ()
    hz: float | None = None
    credential: str | None = None
    household: str | None = None
    room: str | None = None
    resident: str | None = None
    received_ms: int | None = None
    ts_from_receipt: bool = False

    @property
    def online(self) -> bool | None:
        value = self.fields.get("online")
        return value if isinstance(value, bool) else None
