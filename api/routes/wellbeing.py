"""The weekly wellbeing digest of a site, "who needs a visit": JSON and CSV.

Officers (their sites) and admins only: the digest profiles households' daily lives, which
is not for families or integrators.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import pydantic
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from safehood.protocol import Registry
from safehood.wellbeing import Drift, HouseholdDigest, IsoWeek, site_digest
from safehood.wellbeing.const import DEFAULT_WEEKS, MAX_WEEKS, MIN_BASELINE_WEEKS, VISIT_SCORE

from .._context import Services
from .._deps import OfficerOrAdmin, ServicesDep, SitePath
from .._models import ResidentRef
from .._roles import Principal

router = APIRouter(tags=["wellbeing"])

# The dashboard's table and its CSV download come from one computation; a digest reads
# weeks of readings of every household of the site, which takes seconds.
DIGEST_CACHE_TTL_MS = 5 * 60 * 1000

WeekParam = Annotated[str | None, Query(
    max_length=10, description="ISO week, e.g. 2026-W09 (default: the last complete week)")]
WeeksParam = Annotated[int, Query(
    ge=MIN_BASELINE_WEEKS + 1, le=MAX_WEEKS,
    description="weeks shown, the chosen one and those before it (its baseline)")]


# A pydantic dataclass, so that it inherits the figures of the digest's Drift.
@pydantic.dataclasses.dataclass(frozen=True, kw_only=True)
class MetricPublic(Drift):
    """One figure of a household's week against its own baseline."""

    name: str
    label: str
    unit: str
    concerning: Literal["less", "more"]
    series: list[float | None]


class HouseholdWellbeing(BaseModel):
    rank: int
    household: str
    building: str | None
    lives_alone: bool
    residents: list[ResidentRef]
    status: Literal["visit", "steady", "learning"]
    score: float
    days_observed: int
    baseline_weeks: int
    # Weeks before this one left out of its baseline: they looked like a change themselves.
    kept_out_weeks: list[str] = []
    metrics: list[MetricPublic]


class WellbeingDigestPublic(BaseModel):
    """Households of a site ranked by how far their week drifted the concerning way from
    their own previous weeks; ``visit_score`` is the score from which one needs a visit
    (a household's night activity alone 3 spreads up is one too: see its ``status``)."""

    site: str
    week: str
    weeks: list[str]
    visit_score: float
    households: list[HouseholdWellbeing]


class DigestCache:
    """Digests by (site, week, weeks), kept for ``ttl_ms`` of the API's clock (so a late
    reading or a registry change shows within that time). Thread safe; computes one digest
    at a time, so that simultaneous requests do not read the store twice."""

    def __init__(self, ttl_ms: int = DIGEST_CACHE_TTL_MS) -> None:
        self.ttl_ms = ttl_ms
        self._lock = threading.Lock()
        self._digests: dict[tuple[str, IsoWeek, int], tuple[int, list[HouseholdDigest]]] = {}

    def get(self, key: tuple[str, IsoWeek, int], now_ms: int,
            compute: Callable[[], list[HouseholdDigest]]) -> list[HouseholdDigest]:
        with self._lock:
            self._digests = {k: v for k, v in self._digests.items() if now_ms - v[0] < self.ttl_ms}
            cached = self._digests.get(key)
            if cached is None:
                cached = self._digests[key] = (now_ms, compute())
            return cached[1]


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _public(rank: int, digest: HouseholdDigest, registry: Registry) -> HouseholdWellbeing:
    household = registry.households[digest.household]
    return HouseholdWellbeing(
        rank=rank, household=digest.household, building=household.building,
        lives_alone=household.lives_alone,
        residents=[ResidentRef(id=r.id, name=r.name)
                   for r in registry.household_residents(digest.household)],
        status=digest.status.value, score=round(digest.score, 2),
        days_observed=digest.days_observed, baseline_weeks=digest.baseline_weeks,
        kept_out_weeks=[str(w) for w in digest.kept_out],
        metrics=[MetricPublic(
            name=m.metric.name, label=m.metric.label, unit=m.metric.unit,
            concerning="more" if m.metric.concerning > 0 else "less",
            value=_round(m.value), baseline=_round(m.baseline), spread=_round(m.spread),
            z=_round(m.z), score=round(m.score, 2), trend_per_week=_round(m.trend_per_week, 3),
            series=[_round(v) for v in m.series],
        ) for m in digest.metrics],
    )


def _digest(request: Request, services: Services, principal: Principal, site: str,
            week: str | None, weeks: int) -> WellbeingDigestPublic:
    if not principal.sees_site(site):
        raise HTTPException(404, f"no site {site!r}")
    registry = services.registry.load()
    homes = [h for h in registry.households.values() if h.site == site]
    if not homes and site not in registry.sites():
        raise HTTPException(404, f"no site {site!r}")
    zone = ZoneInfo(homes[0].timezone if homes else "UTC")
    current = IsoWeek.at(services.context.clock(), zone)
    if week is None:
        chosen = current.shifted(-1)
    else:
        try:
            chosen = IsoWeek.parse(week)
        except ValueError as exc:
            raise HTTPException(422, f"week: {exc}") from None
        if chosen > current:
            raise HTTPException(422, f"week: {chosen} has not begun yet (this is {current})")
    cache: DigestCache = request.app.state.wellbeing_cache
    digests = cache.get((site, chosen, weeks), services.context.clock(), lambda: site_digest(
        services.context.store, registry, site, chosen, weeks))
    return WellbeingDigestPublic(
        site=site, week=str(chosen), weeks=[str(w) for w in digests[0].weeks] if digests else [],
        visit_score=VISIT_SCORE,
        households=[_public(i + 1, d, registry) for i, d in enumerate(digests)],
    )


@router.get("/sites/{site}/wellbeing", response_model=WellbeingDigestPublic,
            summary="Weekly wellbeing digest: households ranked by drift from their own baseline")
def wellbeing_digest(site: SitePath, request: Request, services: ServicesDep,
                     principal: OfficerOrAdmin,
                     week: WeekParam = None,
                     weeks: WeeksParam = DEFAULT_WEEKS) -> WellbeingDigestPublic:
    """Each household's activity, night activity, outings, days without leaving home and
    water use in ``week``, against the median and spread of its previous ``weeks - 1``
    weeks, with a trend per metric; ranked by drift score (see the README)."""
    return _digest(request, services, principal, site, week, weeks)


@router.get("/sites/{site}/wellbeing.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "one row a household"}},
            summary="The wellbeing digest as CSV")
def wellbeing_csv(site: SitePath, request: Request, services: ServicesDep,
                  principal: OfficerOrAdmin, week: WeekParam = None,
                  weeks: WeeksParam = DEFAULT_WEEKS) -> Response:
    """The same digest, one row a household in rank order: each metric's value, baseline,
    z and trend per week."""
    digest = _digest(request, services, principal, site, week, weeks)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [m.name for m in digest.households[0].metrics] if digest.households else []
    writer.writerow(["week", "rank", "household", "building", "residents", "status", "score",
                     "days_observed", "baseline_weeks"]
                    + [f"{n}_{part}" for n in names for part in ("value", "baseline", "z", "trend")])
    for h in digest.households:
        writer.writerow(
            [digest.week, h.rank, h.household, h.building or "",
             "; ".join(r.name for r in h.residents), h.status, h.score, h.days_observed,
             h.baseline_weeks]
            + ["" if v is None else v for m in h.metrics
               for v in (m.value, m.baseline, m.z, m.trend_per_week)])
    filename = f"wellbeing-{site}-{digest.week}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
