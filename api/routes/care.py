"""The duty desk: a site's clock, and the care record beside every alert (who is in danger,
whom to call, how to get in), read by whoever sees the alert and edited by the site's
officers and by integrators."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException

from safehood.protocol import Household, KeyHolderIn, Registry, ResponderIn

from .._clock import site_is_simulated, site_now_ms, site_timezone
from .._context import Services
from .._deps import AlertReaders, EntityPath, Operators, ServicesDep, SitePath
from .._disclosure import sees_access_notes
from .._models import (
    CareRecordPublic,
    HouseholdCareUpdate,
    ResidentCarePublic,
    ResidentCareUpdate,
    SiteClockPublic,
)
from .._roles import Principal
from .._time import rfc3339
from .alerts import AlertId, visible_alert

router = APIRouter(tags=["duty desk"])



def site_clock(services: Services, site: str) -> SiteClockPublic:
    now_ms = site_now_ms(services, site)
    return SiteClockPublic(site=site, now=rfc3339(now_ms) or "", now_ms=now_ms,
                           timezone=site_timezone(services.registry.load(), site),
                           simulated=site_is_simulated(services, site))


@router.get("/sites/{site}/clock", response_model=SiteClockPublic,
            summary="The site's clock: event time now, its time zone, simulated or not")
def get_site_clock(site: SitePath, services: ServicesDep,
                   principal: Operators) -> SiteClockPublic:
    if not principal.sees_site(site) or site not in services.registry.load().sites():
        raise HTTPException(404, f"no site {site!r}")
    return site_clock(services, site)


def care_record(services: Services, registry: Registry, household: Household,
                principal: Principal, first: str | None = None) -> CareRecordPublic:
    """The care record of ``household`` as ``principal`` may see it; resident ``first``
    (the alert's) leads the list."""
    year = datetime.fromtimestamp(site_now_ms(services, household.site) / 1000, UTC).year
    residents = sorted(registry.household_residents(household.id),
                       key=lambda r: (r.id != first, r.id))
    shown = sees_access_notes(principal.role)
    return CareRecordPublic(
        household=household.id, site=household.site, building=household.building,
        floor=household.floor, unit=household.unit, address=household.address,
        lives_alone=household.lives_alone, timezone=household.timezone,
        residents=[ResidentCarePublic(
            id=r.id, name=r.name, elderly=r.elderly, dementia=r.dementia,
            birth_year=r.birth_year,
            age=None if r.birth_year is None else year - r.birth_year,
            conditions=list(r.conditions), mobility=r.mobility, language=r.language)
            for r in residents],
        responders=[ResponderIn(name=p.name, relation=p.relation,  # type: ignore[arg-type]
                                phone=p.phone, note=p.note) for p in household.responders],
        key_holders=[KeyHolderIn(name=k.name, phone=k.phone,
                                 access_note=k.access_note if shown else None)
                     for k in household.key_holders],
        access_notes=household.access_notes if shown else None,
        access_shown=shown,
    )


@router.get("/alerts/{alert_id}/care", response_model=CareRecordPublic,
            summary="The care record of the alert's household: residents, responders, access",
            responses={404: {"description": "no such alert, or it concerns no household"}})
def get_alert_care(alert_id: AlertId, services: ServicesDep,
                   principal: AlertReaders) -> CareRecordPublic:
    alert, _ = visible_alert(services, principal, alert_id)
    registry = services.registry.load()
    household = registry.households.get(alert.household or "")
    if household is None:
        raise HTTPException(404, f"alert {alert_id!r} concerns no household")
    return care_record(services, registry, household, principal, alert.resident)


def _editable_household(services: Services, principal: Principal,
                        household_id: str) -> Household:
    household = services.registry.load().households.get(household_id)
    if household is None or not principal.sees_site(household.site):
        raise HTTPException(404, f"no household {household_id!r}")
    return household


@router.patch("/households/{household_id}/care", response_model=CareRecordPublic,
              summary="Change a household's care record (building, floor, unit, responders, "
                      "key holders)")
def patch_household_care(household_id: EntityPath, body: HouseholdCareUpdate,
                         services: ServicesDep, principal: Operators) -> CareRecordPublic:
    """Officers of the site, integrators and admins. Key holders given without an access
    note keep the stored note of the same name."""
    _editable_household(services, principal, household_id)
    changes = body.model_dump(exclude_unset=True)
    if "access_notes" in changes and not sees_access_notes(principal.role):
        raise HTTPException(403, "only the site's officers and admins write access notes")
    registry = services.registry.update("households", household_id, changes)
    return care_record(services, registry, registry.households[household_id], principal)


@router.patch("/residents/{resident_id}/care", response_model=CareRecordPublic,
              summary="Change a resident's care record (birth year, conditions, mobility, "
                      "language)")
def patch_resident_care(resident_id: EntityPath, body: ResidentCareUpdate,
                        services: ServicesDep, principal: Operators) -> CareRecordPublic:
    """Officers of the resident's site, integrators and admins; returns the household's
    care record."""
    resident = services.registry.load().residents.get(resident_id)
    if resident is None:
        raise HTTPException(404, f"no resident {resident_id!r}")
    _editable_household(services, principal, resident.household)
    registry = services.registry.update("residents", resident_id,
                                        body.model_dump(exclude_unset=True))
    return care_record(services, registry, registry.households[resident.household],
                       principal, resident_id)
