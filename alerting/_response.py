"""Response metrics and the shift handover report, computed from alerts and their history.

Time to acknowledge counts from an alert's ``started_at`` to its acknowledgement (or, for an
alert a person resolved without acknowledging it first, to that resolution); time to
resolve, to a person's resolution (auto-resolved and superseded alerts have none). Each alert
belongs to the shift in which it started. Figures per group: count, median (the middle
value, the mean of the two middle values for an even count), p90 (nearest rank: the
``ceil(0.9 n)``-th smallest) and the share of all the group's alerts answered within
60 s (an alert never answered counts as not within). Pure functions: the caller gives the
alerts, the shift starts and the time.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from safehood.protocol import Alert, AlertStatus, parse_hhmm, parse_ts_ms

from . import const

WITHIN_S = 60.0
ALL_TYPES = "*"


@dataclass(frozen=True, slots=True)
class Shift:
    """One shift: ``[start_ms, end_ms)``; ``label`` is its local start and end
    (``"2026-01-01 08:00-20:00"``) and ``name`` its start of day (``"08:00"``)."""

    name: str
    label: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class ShiftSchedule:
    """Shifts that begin at ``starts`` (local ``HH:MM``, at least one) every day in
    ``timezone``; each ends where the next begins."""

    starts: tuple[str, ...] = ("08:00", "20:00")
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not self.starts:
            raise ValueError("a shift schedule needs at least one start")
        ordered = tuple(sorted(parse_hhmm(s).strftime("%H:%M") for s in self.starts))
        if len(set(ordered)) != len(ordered):
            raise ValueError("shift starts must differ")
        object.__setattr__(self, "starts", ordered)

    def shift_at(self, at_ms: int) -> Shift:
        """The shift that ``at_ms`` falls in."""
        zone = ZoneInfo(self.timezone)
        local = datetime.fromtimestamp(at_ms / 1000, zone)
        candidates = [datetime.combine(local.date() + timedelta(days=d), parse_hhmm(s), zone)
                      for d in (-1, 0, 1) for s in self.starts]
        start = max(c for c in candidates if c <= local)
        end = min(c for c in candidates if c > start)
        return self._shift(start, end)

    def shifts(self, since_ms: int, until_ms: int) -> list[Shift]:
        """The shifts that overlap ``[since_ms, until_ms)``, oldest first."""
        out: list[Shift] = []
        at = since_ms
        while at < until_ms:
            shift = self.shift_at(at)
            out.append(shift)
            at = shift.end_ms
        return out

    @staticmethod
    def _shift(start: datetime, end: datetime) -> Shift:
        label = f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}"
        return Shift(f"{start:%H:%M}", label, int(start.timestamp() * 1000),
                     int(end.timestamp() * 1000))


@dataclass(frozen=True, slots=True)
class Durations:
    """Summary of response times in seconds; ``count`` alerts in the group, ``answered``
    of them have a time."""

    count: int
    answered: int
    median_s: float | None
    p90_s: float | None
    within_60s: float | None

    @classmethod
    def of(cls, count: int, seconds: Sequence[float]) -> Durations:
        ordered = sorted(seconds)
        if not ordered:
            return cls(count, 0, None, None, 0.0 if count else None)
        p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
        within = sum(1 for s in ordered if s <= WITHIN_S) / count
        return cls(count, len(ordered), statistics.median(ordered), p90, within)


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """Response figures of one (site, alert type, shift); type ``"*"`` is every type."""

    site: str
    type: str
    shift: str
    acknowledge: Durations
    resolve: Durations


def _person(actor: str) -> bool:
    return actor not in (const.SYSTEM_ACTOR, const.NOTIFIER_ACTOR)


def response_times(alert: Alert) -> tuple[float | None, float | None]:
    """(seconds to acknowledge, seconds to resolve) of one alert, ``None`` where none."""
    started = parse_ts_ms(alert.started_at)
    resolved_by_person = next((parse_ts_ms(e.at) for e in alert.history
                               if e.action == const.RESOLVED and _person(e.actor)), None)
    acknowledged = next((parse_ts_ms(e.at) for e in alert.history
                         if e.action == const.ACKNOWLEDGED and _person(e.actor)), None)
    answered = acknowledged if acknowledged is not None else resolved_by_person
    ack_s = None if answered is None else max(0, answered - started) / 1000
    resolve_s = None if resolved_by_person is None else max(0, resolved_by_person - started) / 1000
    return ack_s, resolve_s


def response_metrics(alerts: Iterable[Alert], schedule_of: dict[str, ShiftSchedule],
                     *, by_shift: str = "label") -> list[ResponseRow]:
    """Rows per (site, type, shift) and per (site, every type, shift), sorted. A site's
    shifts come from ``schedule_of[site]`` (else the default schedule, UTC). ``by_shift``:
    ``"label"`` groups by each shift (one date's day shift), ``"name"`` by its start time
    over every day (all the day shifts)."""
    groups: dict[tuple[str, str, str], list[tuple[float | None, float | None]]] = \
        defaultdict(list)
    default = ShiftSchedule()
    # The last shift found per site: most alerts fall in one another's shifts, and finding a
    # shift (time zone arithmetic) was half of /metrics' response gauges.
    last: dict[str, Shift] = {}
    for alert in alerts:
        started = parse_ts_ms(alert.started_at)
        shift = last.get(alert.site)
        if shift is None or not shift.start_ms <= started < shift.end_ms:
            shift = last[alert.site] = schedule_of.get(alert.site, default).shift_at(started)
        key = shift.label if by_shift == "label" else shift.name
        pair = response_times(alert)
        groups[(alert.site, alert.type.value, key)].append(pair)
        groups[(alert.site, ALL_TYPES, key)].append(pair)
    rows = []
    for (site, alert_type, shift_key), pairs in sorted(groups.items()):
        rows.append(ResponseRow(
            site, alert_type, shift_key,
            Durations.of(len(pairs), [a for a, _ in pairs if a is not None]),
            Durations.of(len(pairs), [r for _, r in pairs if r is not None])))
    return rows


@dataclass(frozen=True, slots=True)
class HandoverReport:
    """What the outgoing shift hands over: ``open`` alerts at ``at_ms``, what ``happened``
    (alerts started in the shift), and ``unacknowledged``: alerts reminded of during the
    shift and still not acknowledged, with how many reminders."""

    site: str
    shift: Shift
    at_ms: int
    open: tuple[Alert, ...]
    happened: tuple[Alert, ...]
    unacknowledged: tuple[tuple[Alert, int], ...]


def handover_report(site: str, alerts: Iterable[Alert], schedule: ShiftSchedule,
                    at_ms: int) -> HandoverReport:
    """The handover of the shift ``at_ms`` falls in, from the alerts of ``site``."""
    shift = schedule.shift_at(at_ms)
    mine = [a for a in alerts if a.site == site and parse_ts_ms(a.started_at) <= at_ms]
    open_alerts = tuple(a for a in mine if a.status != AlertStatus.RESOLVED)
    happened = tuple(a for a in mine
                     if shift.start_ms <= parse_ts_ms(a.started_at) < shift.end_ms)
    unacknowledged = []
    for alert in open_alerts:
        if alert.status != AlertStatus.FIRING:
            continue
        reminders = sum(1 for e in alert.history if e.action == const.REMINDER
                        and shift.start_ms <= parse_ts_ms(e.at) <= at_ms)
        if reminders:
            unacknowledged.append((alert, reminders))
    return HandoverReport(site, shift, at_ms, open_alerts, happened, tuple(unacknowledged))
