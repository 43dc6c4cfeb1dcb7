from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from .const import MAX_TS_MS, MIN_TS_MS

# RFC 3339 allows second 60 (a leap second); datetime does not. Epoch time has no leap
# seconds, so the leap second is folded onto the last millisecond of the minute it
# extends (23:59:60.5Z -> 23:59:59.999Z): the reading stays in the day and minute its
# device stamped it (night hours, daily counts), still sorts after the readings of :59
# and before the next minute's, and never takes a time a later real reading may own.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_LEAP_SECOND = re.compile(r"(?P<minute>[Tt ]\d{2}:\d{2}):60(?:\.\d+)?(?P<offset>[+-]\d{2}:\d{2})$")


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
        text = _LEAP_SECOND.sub(r"\g<minute>:59.999\g<offset>", text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"ts {value!r} is not RFC 3339") from exc
        if parsed.tzinfo is None:
            raise ValueError(f"ts {value!r} has no UTC offset")
        ts_ms = (parsed - _EPOCH) // _ONE_MS  # exact, where float seconds may round down
    else:
        raise TypeError("ts must be an RFC 3339 string or integer epoch milliseconds")
    if not MIN_TS_MS <= ts_ms < MAX_TS_MS:
        raise ValueError(f"ts {value!r} is outside 2000-2100")
    return ts_ms


_MS_PER_DAY = 86_400_000


_HOURS_MINUTES = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SECONDS = tuple(f"{s:02d}." for s in range(60))
_MILLISECONDS = tuple(f"{ms:03d}Z" for ms in range(1000))


@lru_cache(maxsize=4096)
def _date_part(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")


def format_ts(ts_ms: int) -> str:
    """Epoch milliseconds as an RFC 3339 UTC string with millisecond precision.

    >>> format_ts(1_772_409_600_123)
    '2026-03-02T00:00:00.123Z'
    """
    # Each part's text looked up (the date cached, the time of day from tables of 150 KB),
    # not formatted: a page of 500 alerts formats 2,600 times (3.5 -> 1.2 us each).
    day, ms = divmod(int(ts_ms), _MS_PER_DAY)
    minute, ms = divmod(ms, 60_000)
    second, ms = divmod(ms, 1000)
    return f"{_date_part(day)}{_HOURS_MINUTES[minute]}{_SECONDS[second]}{_MILLISECONDS[ms]}"
