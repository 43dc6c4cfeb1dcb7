"""Sites at a glance, a site's households for the officer dashboard, and a resident's
status for the family view."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, HTTPException

from safehood.alerting import AlertQuery
from safehood.protocol import Alert, Severity

from .._alert_list import OPEN
from .._clock import site_now_ms
from .._deps import EntityPath, Operators, ServicesDep, SitePath, StatusReaders
from .._disclosure import alert_view
from .._health import health_rows
from .._models import (
    HouseholdOverview,
    ResidentRef,
    ResidentStatus,
    ResidentStatusRef,
    SiteOverview,
    SitePublic,
    SitesPublic,
)
from .._roles import Role
from .._scope import alert_scope, concerns
from .._time import rfc3339
from .care import site_clock

router = APIRouter(tags=["sites"])



def _worst(alerts: list[Alert]) -> Severity | None:
    return max((a.severity for a in alerts), key=lambda s: s.rank, default=None)


@router.get("/sites", response_model=SitesPublic, summary="Sites with counts")
def list_sites(services: ServicesDep, principal: Operators) -> SitesPublic:
    registry = services.registry.load()
    sites = sorted(principal.sites) if principal.role is Role.OFFICER else registry.sites()
    households: dict[str, int] = defaultdict(int)
    devices: dict[str, int] = defaultdict(int)
    for h in registry.households.values():
        households[h.site] += 1
    for d in registry.devices.values():
        devices[d.site] += 1
    alerts = services.context.alerts
    return SitesPublic(data=[
        SitePublic(id=s, households=households[s], devices=devices[s],
                   open_alerts=alerts.count(AlertQuery(sites=(s,), statuses=OPEN)))
        for s in sites
    ])


@router.get("/sites/{site}/overview", response_model=SiteOverview,
            summary="The households of a site: state, open alerts, devices, last activity")
def site_overview(site: SitePath, services: ServicesDep, principal: Operators) -> SiteOverview:
    if not principal.sees_site(site):
        raise HTTPException(404, f"no site {site!r}")
    registry = services.registry.load()
    homes = sorted((h for h in registry.households.values() if h.site == site),
                   key=lambda h: (h.building or "", h.id))
    if not homes and site not in registry.sites():
        raise HTTPException(404, f"no site {site!r}")
    open_alerts: dict[str | None, list[Alert]] = defaultdict(list)
    for alert in services.context.alerts.list(AlertQuery(sites=(site,), statuses=OPEN,
                                                         limit=None)):
        open_alerts[alert.household].append(alert)
    devices = [d for d in registry.devices.values() if d.site == site and d.household]
    now_ms = site_now_ms(services, site)
    rows, last_event = health_rows(services.context.engine, devices, now_ms)
    by_home: dict[str, list[tuple[str, str | None, int | None]]] = defaultdict(list)
    for row in rows:
        by_home[row.household or ""].append((row.device_id, row.problem,
                                             last_event[row.device_id]))
    out = []
    for h in homes:
        alerts = open_alerts.get(h.id, [])
        problems = [p for _, p, _ in by_home[h.id]]
        offline = sum(p in ("offline", "silent") for p in problems)
        battery_low = sum(p == "battery_low" for p in problems)
        last = max((t for _, _, t in by_home[h.id] if t is not None), default=None)
        worst = _worst(alerts)
        out.append(HouseholdOverview(
            id=h.id, building=h.building, lives_alone=h.lives_alone,
            residents=[ResidentRef(id=r.id, name=r.name)
                       for r in registry.household_residents(h.id)],
            state="alert" if alerts else "device_problem" if offline or battery_low else "quiet",
            open_alerts=len(alerts), worst_severity=worst.value if worst else None,
            last_activity=rfc3339(last), devices_offline=offline, battery_low=battery_low,
        ))
    return SiteOverview(site=site, households=out, clock=site_clock(services, site))


@router.get("/residents/{resident_id}/status", response_model=ResidentStatus,
            summary="A resident's last activity, devices and open alerts")
def resident_status(resident_id: EntityPath, services: ServicesDep,
                    principal: StatusReaders) -> ResidentStatus:
    """Families see only their own resident(s); any other id is 404."""
    registry = services.registry.load()
    resident = registry.residents.get(resident_id)
    household = registry.households.get(resident.household) if resident else None
    scope = alert_scope(services.context.engine, principal)
    if resident is None or not scope.sees_resident(
            resident_id, resident.household, household.site if household else None):
        raise HTTPException(404, f"no resident {resident_id!r}")
    devices = registry.household_devices(resident.household)
    site = household.site if household else ""
    rows, last_event = health_rows(services.context.engine, devices, site_now_ms(services, site))
    alerts = services.context.alerts.list(AlertQuery(households=(resident.household,),
                                                     statuses=OPEN, limit=None))
    mine = [a for a in alerts if concerns(a, resident_id, resident.household) and scope.sees(a)]
    mine.sort(key=lambda a: a.started_at, reverse=True)
    mine.sort(key=lambda a: a.severity.rank, reverse=True)
    return ResidentStatus(
        resident=ResidentStatusRef(id=resident.id, name=resident.name,
                                   household=resident.household),
        last_activity=rfc3339(max((t for t in last_event.values() if t is not None),
                                  default=None)),
        devices=rows, devices_ok=all(r.problem is None for r in rows),
        open_alerts=[alert_view(a, scope.role) for a in mine],
        clock=site_clock(services, site) if site else None,
    )
