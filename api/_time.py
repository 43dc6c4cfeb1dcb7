"""Times at the HTTP boundary: RFC 3339 or epoch milliseconds in, RFC 3339 out."""

from __future__ import annotations

from fastapi import HTTPException

from safehood.protocol import format_ts, parse_ts_ms


def parse_time(value: str | int | None, name: str) -> int | None:
    """Epoch ms from a query or body value; 422 with a readable reason when it is not a time."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isascii() and \
            value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    try:
        return parse_ts_ms(value)
    except (TypeError, ValueError) as exc:
        reason = str(exc).removeprefix("ts ")
        raise HTTPException(
            422, f"{name}: {reason} (give RFC 3339 or epoch milliseconds)") from None


def rfc3339(ts_ms: int | None) -> str | None:
    return None if ts_ms is None else format_ts(ts_ms)
