"""What a community's homes usually do, for households that have no history of their own yet.

A new household's detector cannot know how long its resident is usually quiet at 15:00; the
community's other households can tell it what is usual there. :class:`CommunityPrior` pools
the daily longest quiet spell of each watched household by local hour of the day; each
household detector feeds it and blends it with its own history as that grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from .quantiles import linear_quantile


class CommunityPrior:
    """Daily longest awake quiet spells of a community's households, by local hour.

    Pure shared state: the engine owns one per site and hands it to each household's
    inactivity detector, which records into it and reads from it; nothing else touches it.
    Each (household, day, hour) counts once, with its longest spell, so a household that
    sends many messages weighs no more than a quiet one. Only the ``samples_per_hour`` most
    recently started (household, day) entries of each hour are kept.

    Parameters
    ----------
    samples_per_hour
        Entries kept per local hour.

    Examples
    --------
    >>> from datetime import date
    >>> prior = CommunityPrior()
    >>> for household, gap_ms in [("h1", 3_600_000), ("h2", 7_200_000), ("h1", 5_400_000)]:
    ...     prior.record_one(household, date(2026, 3, 2), 14, gap_ms)
    >>> prior.samples([13, 14, 15], before=date(2026, 3, 3))
    2
    >>> prior.quantile_ms([14], 0.5, before=date(2026, 3, 3))
    6300000.0
    >>> prior.quantile_ms([14], 0.5, before=date(2026, 3, 2)) is None  # the day is not over
    True
    """

    def __init__(self, samples_per_hour: int = 512) -> None:
        self.samples_per_hour = samples_per_hour
        self._spells: list[dict[tuple[str, date], int]] = [{} for _ in range(24)]
        # Figures of days that are over change rarely (a spell that started yesterday ends
        # today): they are kept until one does.
        self._newest_day: date | None = None
        self._cache: dict[tuple[tuple[int, ...], date], list[int]] = {}
        self._quantiles: dict[tuple[tuple[int, ...], date, float], float | None] = {}

    def record_one(self, household: str, day: date, hour: int, gap_ms: int) -> None:
        """Take a quiet spell of ``gap_ms`` that started at local ``hour`` of ``day``."""
        spells = self._spells[hour % 24]
        key = (household, day)
        if gap_ms <= spells.get(key, -1):
            return
        spells[key] = gap_ms
        if len(spells) > self.samples_per_hour:
            del spells[next(iter(spells))]  # dicts keep insertion order: the oldest entry
            self._forget()
        elif self._newest_day is None or day != self._newest_day:
            self._forget()
        self._newest_day = max(day, self._newest_day or day)

    def _forget(self) -> None:
        self._cache.clear()
        self._quantiles.clear()

    def samples(self, hours: Sequence[int], before: date) -> int:
        """How many entries of days before ``before`` the given local hours hold together."""
        return len(self._before(hours, before))

    def quantile_ms(self, hours: Sequence[int], q: float, before: date) -> float | None:
        """The ``q`` quantile of the spells of the given local hours on days before
        ``before`` (ms), None when there are none."""
        spells = self._before(hours, before)
        key = (tuple(hours), before, q)
        if key in self._quantiles:
            return self._quantiles[key]
        figure = linear_quantile(spells, q) if spells else None
        if self._cacheable(before):
            self._quantiles[key] = figure
        return figure

    def _cacheable(self, before: date) -> bool:
        return self._newest_day is not None and before <= self._newest_day

    def _before(self, hours: Sequence[int], before: date) -> list[int]:
        # A day still under way holds only the spells that are over, the short ones: it
        # would make the figure too low while the long ones (a nap) are still going on.
        key = (tuple(hours), before)
        cached = self._cache.get(key)
        if cached is None:
            cached = [gap for hour in key[0] for (_, day), gap in self._spells[hour % 24].items()
                      if day < before]
            if self._cacheable(before):
                self._cache[key] = cached
        return cached


class DeparturePrior:
    """At which local hours a community's households go out: for each hour, the share of
    household-days on which someone left home then.

    Pure shared state like :class:`CommunityPrior`: the engine owns one per site and hands
    it to each household's night-wandering detector, which records into it and reads it.

    Examples
    --------
    >>> from datetime import date
    >>> prior = DeparturePrior()
    >>> for household in ("h1", "h2", "h3", "h4"):
    ...     prior.observe_day(household, date(2026, 3, 2))
    >>> prior.record_departure("h1", date(2026, 3, 2), 7)
    >>> prior.share(7), prior.days
    (0.25, 4)
    """

    def __init__(self) -> None:
        self._days: set[tuple[str, date]] = set()
        self._departures: list[set[tuple[str, date]]] = [set() for _ in range(24)]

    def observe_day(self, household: str, day: date) -> None:
        """Count ``day`` as one the household was watched on."""
        self._days.add((household, day))

    def record_departure(self, household: str, day: date, hour: int) -> None:
        """Someone of ``household`` left home at local ``hour`` of ``day``."""
        self._days.add((household, day))
        self._departures[hour % 24].add((household, day))

    @property
    def days(self) -> int:
        """Household-days watched."""
        return len(self._days)

    def share(self, hour: int) -> float:
        """Share of the household-days watched with a departure at local ``hour``."""
        return len(self._departures[hour % 24]) / len(self._days) if self._days else 0.0
