"""Messages as InfluxDB line protocol, millisecond precision."""

from __future__ import annotations

from safehood.protocol import Message, Scalar

from ._fields import stored_fields
from .const import COUNT_FIELD, INT_FIELDS, STATUS_MEASUREMENT, UNKNOWN_MEASUREMENT

# Line protocol has no way to carry a newline in a tag; it becomes an escaped space.
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\ ", "\r": r"\ "})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\ ", "\r": r"\ "})
_STRING_ESCAPES = str.maketrans({'"': r"\"", "\\": "\\\\"})


def measurement_of(message: Message) -> str:
    """``device_status`` for status messages, else the device kind."""
    if message.channel == "status":
        return STATUS_MEASUREMENT
    return message.kind or UNKNOWN_MEASUREMENT


def _field_value(name: str, value: Scalar) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    if name in INT_FIELDS:
        return f"{int(value)}i"
    return repr(float(value))


# Measurement and tags of a device's messages repeat; building them once per device and
# channel saves a third of the line's cost on the write path.
_PrefixKey = tuple[str, str | None, str, str | None, str]
_prefixes: dict[_PrefixKey, str] = {}
_MAX_PREFIXES = 65_536


def _prefix(message: Message) -> str:
    key = (message.channel, message.kind, message.device_id, message.household, message.site)
    prefix = _prefixes.get(key)
    if prefix is None:
        parts = [measurement_of(message).translate(_MEASUREMENT_ESCAPES)]
        # Tags in key order, which is what InfluxDB sorts them into anyway.
        parts.append(",channel=" + message.channel.translate(_TAG_ESCAPES))
        parts.append(",device_id=" + message.device_id.translate(_TAG_ESCAPES))
        if message.household:
            parts.append(",household=" + message.household.translate(_TAG_ESCAPES))
        if message.kind:
            parts.append(",kind=" + message.kind.translate(_TAG_ESCAPES))
        parts.append(",site=" + message.site.translate(_TAG_ESCAPES))
        parts.append(f" {COUNT_FIELD}=1i")
        prefix = "".join(parts)
        if len(_prefixes) >= _MAX_PREFIXES:
            _prefixes.clear()
        _prefixes[key] = prefix
    return prefix


def to_line(message: Message) -> str:
    """One line of line protocol for ``message`` (timestamp in epoch milliseconds)."""
    fields = "".join(
        "," + name.translate(_TAG_ESCAPES) + "=" + _field_value(name, value)
        for name, value in stored_fields(message).items()
    )
    return f"{_prefix(message)}{fields} {message.ts_ms}"
