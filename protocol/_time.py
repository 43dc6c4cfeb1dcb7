from __future__ import annotations

from datetime import UTC, datetime

from .const import MAX_TS_MS, MIN_TS_MS


def parse_ts_ms(value: object) -> int:
    """Normalise an RFC 3339 string or integer epoch milliseconds to UTC epoch milliseconds.

    Raises ``TypeError`` for a value of the wrong type and ``ValueError`` for an unparsable
    or implausible time.
    """
    if isinstance(value, bool):
        raise TypeError("ts must be an RFC 3339 string or integer epoch milliseconds")
    if isinstance(value, int):
        ts_ms = value
    elif isinstance(value, float) and value.is_integer():
        ts_ms = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"ts {value!r} is not RFC 3339") from exc
        if parsed.tzinfo is None:
            raise ValueError(f"ts {value!r} has no UTC offset")
        ts_ms = int(parsed.timestamp() * 1000)
    else:
        raise TypeError("ts must be an RFC 3339 string or integer epoch milliseconds")
    if not MIN_TS_MS <= ts_ms < MAX_TS_MS:
        raise ValueError(f"ts {value!r} is outside 2000-2100")
    return ts_ms


def format_ts(ts_ms: int) -> str:
    """Epoch milliseconds as an RFC 3339 UTC string with millisecond precision."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )
