"""Who is where, when: a household's residents' timelines and its visitors.

What a scenario reads before it decides its edits; the unit reads it to generate traffic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ._community import HouseholdSpec, ResidentSpec
from ._edits import Visit
from ._timeline import (
    COOK,
    DayPlan,
    Segment,
    Timeline,
    dates_between,
    local_date,
    night,
    plan_day,
    visitor,
)
from .const import DAY_MS, HOUR_MS


class Routines:
    """The residents' timelines of one household, generated a day or two ahead of need, and
    the visits to it (guests by routine, staff and intruders by scenario).

    ``origin_ms`` and ``end_ms`` bound the simulated period (``end_ms`` None: open-ended).
    """

    def __init__(self, spec: HouseholdSpec, seed: int, origin_ms: int, end_ms: int | None) -> None:
        self.spec = spec
        self.seed = seed
        self.origin_ms = origin_ms
        self.end_ms = end_ms
        self.zone = spec.zone
        self.timelines: dict[str, Timeline] = {r.id: Timeline() for r in spec.residents}
        self.visits: list[Visit] = []
        self._plans: dict[tuple[str, int], DayPlan] = {}
        self._visit_days: set[int] = set()
        self._horizon = 0
        self.ensure(origin_ms + DAY_MS)

    def resident(self, resident_id: str) -> ResidentSpec:
        for r in self.spec.residents:
            if r.id == resident_id:
                return r
        raise KeyError(resident_id)

    def _plan(self, resident: ResidentSpec, day: date) -> DayPlan:
        key = (resident.id, day.toordinal())
        plan = self._plans.get(key)
        if plan is None:
            plan = plan_day(self.seed, self.spec, resident, day)
            self._plans[key] = plan
        return plan

    def ensure(self, until: int) -> None:
        """Generate routines (and visits) at least until ``until``."""
        if until <= self._horizon:
            return
        start = self.origin_ms - DAY_MS if self._horizon == 0 else self._horizon
        days = dates_between(self.zone, start, until + DAY_MS)
        for r in self.spec.residents:
            timeline = self.timelines[r.id]
            for day in days:
                plan = self._plan(r, day)
                if timeline.segments and plan.wake < timeline.end:
                    continue
                following = self._plan(r, day.fromordinal(day.toordinal() + 1))
                timeline.extend(list(plan.segments))
                timeline.extend(night(self.seed, self.spec, r, plan, following.wake))
        for day in days:
            if day.toordinal() in self._visit_days:
                continue
            self._visit_days.add(day.toordinal())
            slot = visitor(self.seed, self.spec, day)
            if slot is not None and self.someone_home(slot[0]):
                self.visits.append(Visit(slot[0], slot[1], ("living",)))
        self._horizon = min(t.end for t in self.timelines.values())

    def forget_before(self, t: int) -> None:
        """Drop what lies a day before ``t`` and the day plans two days before it."""
        for timeline in self.timelines.values():
            timeline.prune(t - DAY_MS)
        if len(self._plans) > 64:
            oldest = local_date(self.zone, t - 2 * DAY_MS).toordinal()
            self._plans = {k: v for k, v in self._plans.items() if k[1] >= oldest}

    def segment_at(self, resident_id: str, t: int) -> Segment | None:
        return self.timelines[resident_id].at(t)

    def someone_home(self, t: int) -> bool:
        for timeline in self.timelines.values():
            seg = timeline.at(t)
            if seg is not None and seg.home:
                return True
        return False

    def cooking_at(self, t: int) -> bool:
        for timeline in self.timelines.values():
            seg = timeline.at(t)
            if seg is not None and seg.act == COOK:
                return True
        return False

    def find_time(self, resident_id: str, at: int, ok: Callable[[Segment], bool],
                  within_ms: int = 6 * HOUR_MS, margin_ms: int = 30_000) -> tuple[int, Segment] | None:
        """The first moment from ``at`` (within ``within_ms``) at which ``ok(segment)`` holds."""
        timeline = self.timelines[resident_id]
        for seg in timeline.segments:
            if seg.end <= at + margin_ms or not ok(seg):
                continue
            if seg.start > at + within_ms:
                return None
            t = max(at, seg.start + margin_ms)
            if t < seg.end - margin_ms:
                return t, seg
        return None

    def override(self, resident_id: str, start: int, end: int, segments: list[Segment]) -> None:
        self.ensure(end + HOUR_MS)
        self.timelines[resident_id].override(start, end, segments)
