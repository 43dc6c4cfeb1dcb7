"""What a message becomes in a store: the same field set and field types in every backend."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from safehood.protocol import DeviceEvent, Message, Scalar, WearableWindow

from ._base import StoredReading
from .const import COUNT_FIELD, INT_FIELDS

_NEWLINES = str.maketrans({"\n": " ", "\r": " "})
_KEPT = frozenset({float, bool})  # what stable() returns unchanged


def stable(value: Scalar) -> Scalar:
    """A reading with the type it is always stored as: bools as they are, every other
    number as a float (1 and 1.5 must land in the same float field), strings on one line
    (line protocol has no safe way to carry a newline)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.translate(_NEWLINES)
    return float(value)


def stored_fields(message: Message) -> dict[str, Scalar]:
    """The fields a store keeps for ``message``.

    Readings keep their names; wearable windows are summarised into the magnitude of the
    acceleration vector (``accel_peak_g``, ``accel_min_g``, ``accel_mean_g``) with
    ``samples`` and ``hz``; ``battery``, ``seq``, ``event`` and ``credential`` are added
    when present. A message stamped on receipt says so (``ts_from_receipt``); a vendor
    device's extra readings keep their names, or take ``extra.`` before one that a contract
    field of the message already uses.
    """
    reading = message.reading
    # Floats and bools (most readings) kept as they are without a call: this runs for every
    # message stored (py-spy of bench/ingest_rate.py).
    fields: dict[str, Scalar] = {
        name: value if value.__class__ in _KEPT else stable(value)
        for name, value in message.fields.items()
    }
    if isinstance(reading, WearableWindow):
        fields["hz"] = float(reading.hz)
        fields["samples"] = len(reading.accel)
        if reading.accel:
            magnitudes = [math.hypot(x, y, z) for x, y, z in reading.accel]
            fields["accel_peak_g"] = max(magnitudes)
            fields["accel_min_g"] = min(magnitudes)
            fields["accel_mean_g"] = math.fsum(magnitudes) / len(magnitudes)
    if message.battery is not None:
        fields["battery"] = float(message.battery)
    if isinstance(reading, DeviceEvent):
        fields["event"] = stable(reading.event)
        if reading.credential is not None:
            fields["credential"] = stable(reading.credential)
    if message.seq is not None:
        fields["seq"] = int(message.seq)
    if message.ts_from_receipt:
        fields["ts_from_receipt"] = True
    for name, value in message.extras:
        taken = name in fields or name == COUNT_FIELD
        fields[f"extra.{name}" if taken else name] = stable(value)
    return fields


def as_stored(message: Message) -> StoredReading:
    """``message`` as a store would give it back (no store needed: for offline tools that
    read recordings with the same functions as the live stages)."""
    return StoredReading(ts_ms=message.ts_ms, site=message.site, device_id=message.device_id,
                         kind=message.kind, channel=message.channel,
                         fields=stored_fields(message), household=message.household)


def read_fields(raw: Mapping[str, Any]) -> dict[str, Scalar]:
    """Fields as a backend returned them, back in their stored types.

    InfluxDB's JSON writes the float 1.0 as ``1``; the names tell which numbers are ints.
    """
    fields: dict[str, Scalar] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool | str):
            fields[name] = value
        elif name in INT_FIELDS:
            fields[name] = int(value)
        else:
            fields[name] = float(value)
    return fields
