"""The duty desk beyond single alerts: a site's building plan, response metrics per shift
and the shift handover report (JSON, or CSV to print and file)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response

from safehood.alerting import AlertQuery, HandoverReport, handover_report, response_metrics
from safehood.protocol import Alert, AlertType, Registry, Severity

from .._alert_list import OPEN
from .._deps import Operators, ServicesDep, SitePath
from .._models import (
    DurationsPublic,
    HandoverAlert,
    HandoverPublic,
    PlanAlert,
    PlanBuilding,
    PlanFloor,
    PlanUnit,
    ResidentRef,
    ResponseMetricsPublic,
    ResponseRowPublic,
    SitePlan,
)
from .._roles import Principal
from .._shifts import alerts_between, site_schedule, site_timezone
from .._time import parse_time, rfc3339
from ..const import RESPONSE_WINDOW_MS

router = APIRouter(prefix="/sites/{site}", tags=["duty"])



def _known_site(site: str, principal: Principal, registry: Registry) -> None:
    if not principal.sees_site(site) or site not in registry.sites():
        raise HTTPException(404, f"no site {site!r}")


@router.get("/plan", response_model=SitePlan,
            summary="The site's buildings, floors and units, each with its open alerts")
def site_plan(site: SitePath, services: ServicesDep, principal: Operators) -> SitePlan:
    """Floors top first. A unit with an open fire is ``fire``; while a building has one,
    the units on the fire's floor and every floor above it are ``at_risk`` (smoke rises),
    and every unit when the fire's floor is not known (a stairwell)."""
    registry = services.registry.load()
    _known_site(site, principal, registry)
    open_alerts = services.context.alerts.list(
        AlertQuery(sites=(site,), statuses=OPEN, limit=None))
    by_home: dict[str, list[Alert]] = defaultdict(list)
    fire_floors: dict[str, list[int | None]] = defaultdict(list)
    for alert in open_alerts:
        if alert.household:
            by_home[alert.household].append(alert)
        building = registry.building_of(alert.household, alert.device_id)
        if alert.type == AlertType.FIRE and building is not None:
            home = registry.households.get(alert.household) if alert.household else None
            fire_floors[building].append(home.floor if home is not None else None)
    buildings: dict[str, dict[int | None, list[PlanUnit]]] = defaultdict(lambda: defaultdict(list))
    for home in registry.households.values():
        if home.site != site or home.building is None:
            continue
        alerts = sorted(by_home.get(home.id, []), key=lambda a: -a.severity.rank)
        floors = fire_floors.get(home.building, [])
        lowest = min((f for f in floors if f is not None), default=None)
        at_risk = bool(floors) and (None in floors or home.floor is None or lowest is None
                                    or home.floor >= lowest)
        buildings[home.building][home.floor].append(PlanUnit(
            household=home.id, unit=home.unit, floor=home.floor,
            residents=[ResidentRef(id=r.id, name=r.name)
                       for r in registry.household_residents(home.id)],
            lives_alone=home.lives_alone,
            open_alerts=[PlanAlert(id=a.id, type=a.type.value, severity=a.severity.value,
                                   status=a.status.value) for a in alerts],
            worst_severity=alerts[0].severity.value if alerts else None,
            fire=any(a.type == AlertType.FIRE for a in alerts), at_risk=at_risk))
    return SitePlan(site=site, buildings=[
        PlanBuilding(id=building, fire=bool(fire_floors.get(building)), floors=[
            PlanFloor(floor=floor, units=sorted(units, key=lambda u: (u.unit or "", u.household)))
            for floor, units in sorted(floors.items(), key=lambda f: -(f[0] or 0))])
        for building, floors in sorted(buildings.items())])



@router.get("/response", response_model=ResponseMetricsPublic,
            summary="Time to acknowledge and to resolve, per alert type and shift")
def site_response(
    site: SitePath, services: ServicesDep, principal: Operators,
    since: Annotated[str | None, Query(description="RFC 3339 or epoch ms; default 7 days ago")] = None,
    until: Annotated[str | None, Query(description="RFC 3339 or epoch ms; default now")] = None,
    by: Annotated[Literal["shift", "name"], Query(
        description="shift: each shift of each day; name: each shift start over all days")] = "shift",
) -> ResponseMetricsPublic:
    """Alerts started in ``[since, until)``, grouped by the shift they started in; type
    ``*`` is every type. Medians, p90 (nearest rank) and the share of the group's alerts
    acknowledged (resolved) within 60 s; README "Response metrics"."""
    registry = services.registry.load()
    _known_site(site, principal, registry)
    until_ms = parse_time(until, "until") or services.context.clock()
    since_ms = parse_time(since, "since") or until_ms - RESPONSE_WINDOW_MS
    schedule = site_schedule(services.context.settings, registry, site)
    alerts = alerts_between(services.context.alerts, (site,), since_ms, until_ms)
    rows = response_metrics(alerts, {site: schedule}, by_shift="label" if by == "shift" else "name")
    return ResponseMetricsPublic(
        site=site, timezone=schedule.timezone, shift_starts=list(schedule.starts),
        since=rfc3339(since_ms) or "", until=rfc3339(until_ms) or "",
        data=[ResponseRowPublic(
            site=r.site, type=r.type, shift=r.shift,
            acknowledge=DurationsPublic(**asdict(r.acknowledge)),
            resolve=DurationsPublic(**asdict(r.resolve))) for r in rows])


def _handover_alert(alert: Alert, reminders: int = 0) -> HandoverAlert:
    return HandoverAlert(
        id=alert.id, type=alert.type.value, severity=alert.severity.value,
        status=alert.status.value, household=alert.household, started_at=alert.started_at,
        acknowledged_at=alert.acknowledged_at, resolved_at=alert.resolved_at,
        reminders=reminders)


def _handover_public(report: HandoverReport, timezone: str) -> HandoverPublic:
    return HandoverPublic(
        site=report.site, timezone=timezone, shift=report.shift.label,
        shift_start=rfc3339(report.shift.start_ms) or "",
        shift_end=rfc3339(report.shift.end_ms) or "", at=rfc3339(report.at_ms) or "",
        open=[_handover_alert(a) for a in _by_severity(report.open)],
        happened=[_handover_alert(a) for a in sorted(report.happened,
                                                     key=lambda a: a.started_at)],
        unacknowledged=[_handover_alert(a, n) for a, n in report.unacknowledged])


def _by_severity(alerts: tuple[Alert, ...]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (-Severity(a.severity).rank, a.started_at))


@router.get("/handover", response_model=HandoverPublic,
            responses={200: {"content": {"text/csv": {}}}},
            summary="Shift handover: open alerts, what happened, unacknowledged reminders")
def site_handover(
    site: SitePath, services: ServicesDep, principal: Operators,
    at: Annotated[str | None, Query(description="a time in the shift; default now")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> HandoverPublic | Response:
    """The report of the shift ``at`` falls in, as of ``at``. ``format=csv``: one row per
    alert and section (open, happened, unacknowledged), for printing or filing."""
    registry = services.registry.load()
    _known_site(site, principal, registry)
    at_ms = parse_time(at, "at") or services.context.clock()
    schedule = site_schedule(services.context.settings, registry, site)
    shift = schedule.shift_at(at_ms)
    alerts = alerts_between(services.context.alerts, (site,), shift.start_ms, at_ms + 1,
                            with_open=True)
    public = _handover_public(handover_report(site, alerts, schedule, at_ms),
                              site_timezone(registry, site))
    if format == "json":
        return public
    out = io.StringIO()
    writer = csv.writer(out)
    columns = list(HandoverAlert.model_fields)
    writer.writerow(["section", *columns])
    for section in ("open", "happened", "unacknowledged"):
        for row in getattr(public, section):
            writer.writerow([section, *(getattr(row, c) if getattr(row, c) is not None
                                        else "" for c in columns)])
    name = f"handover-{site}-{shift.label.replace(' ', 'T').replace(':', '')}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
