"""ISO weeks (``2026-W09``), the digest's unit of time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_ISO_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """One ISO 8601 week: Monday to Sunday, week 1 holds the year's first Thursday."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``"2026-W09"`` as a week; ``ValueError`` with a reason for anything else.

        >>> IsoWeek.parse("2026-W09").monday
        datetime.date(2026, 2, 23)
        """
        match = _ISO_WEEK_RE.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not an ISO week such as 2026-W09")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{text!r}: {year} has no week {week}") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def at(cls, ts_ms: int, zone: ZoneInfo) -> IsoWeek:
        """The week that holds the instant ``ts_ms`` in ``zone``."""
        return cls.of(datetime.fromtimestamp(ts_ms / 1000, zone).date())

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def shifted(self, weeks: int) -> IsoWeek:
        """The week ``weeks`` later (earlier when negative)."""
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


def week_span(last: IsoWeek, count: int) -> list[IsoWeek]:
    """``count`` consecutive weeks ending with ``last``, oldest first."""
    return [last.shifted(i - count + 1) for i in range(count)]
