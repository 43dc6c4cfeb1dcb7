"""Silences and maintenance windows: matching alerts are recorded, nobody is notified.

Integrators and admins manage any; officers those of their sites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from safehood.alerting import Silence, WeeklyWindow
from safehood.protocol import Registry

from .._deps import Operators, ServicesDep
from .._models import SilenceCreate, SilencePublic, SilencesPublic, WeeklyWindowIn
from .._roles import Principal, Role
from .._time import parse_time, rfc3339

router = APIRouter(prefix="/silences", tags=["silences"])

# A recurring silence with no end given lasts ten years.
RECURRING_SILENCE_MS = 10 * 365 * 24 * 3600 * 1000

SilenceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


def _site_of(registry: Registry, silence: Silence) -> str | None:
    """The site a silence applies to, from its most specific matcher known."""
    if silence.site is not None:
        return silence.site
    if silence.household is not None:
        household = registry.households.get(silence.household)
        if household is not None:
            return household.site
    if silence.device_id is not None:
        device = registry.devices.get(silence.device_id)
        if device is not None:
            return device.site
    return None


def _timezone_of(registry: Registry, site: str | None, household: str | None) -> str:
    """The time zone of a household, else of the first household of a site, else UTC."""
    home = registry.households.get(household) if household else None
    if home is None and site is not None:
        home = next((h for h in registry.households.values() if h.site == site), None)
    return home.timezone if home is not None else "UTC"


def _visible(principal: Principal, registry: Registry, silence: Silence) -> bool:
    if principal.role is not Role.OFFICER:
        return True
    return principal.sees_site(_site_of(registry, silence))


def silence_public(silence: Silence, now_ms: int) -> SilencePublic:
    return SilencePublic(
        id=silence.id, site=silence.site, household=silence.household,
        device_id=silence.device_id, types=[t.value for t in silence.types],
        starts_at=rfc3339(silence.starts_ms) or "", ends_at=rfc3339(silence.ends_ms) or "",
        created_by=silence.created_by, created_at=rfc3339(silence.created_ms),
        comment=silence.comment, active=silence.active_at(now_ms),
        weekly=[WeeklyWindowIn(**w.as_dict()) for w in silence.weekly],
        timezone=silence.timezone,
    )


@router.get("", response_model=SilencesPublic, summary="List silences")
def list_silences(
    services: ServicesDep, principal: Operators,
    active: Annotated[bool, Query(description="only those active now")] = False,
) -> SilencesPublic:
    now = services.context.clock()
    registry = services.registry.load()
    silences = services.context.alerts.list_silences(now if active else None)
    return SilencesPublic(data=[silence_public(s, now) for s in silences
                                if _visible(principal, registry, s)])


@router.post("", response_model=SilencePublic, status_code=201,
             summary="Create a silence or maintenance window")
def create_silence(body: SilenceCreate, services: ServicesDep,
                   principal: Operators) -> SilencePublic:
    now = services.context.clock()
    starts_ms = parse_time(body.starts_at, "starts_at") or now
    ends_ms = parse_time(body.ends_at, "ends_at")
    if ends_ms is None and body.weekly:
        ends_ms = starts_ms + RECURRING_SILENCE_MS
    if ends_ms is None:
        raise HTTPException(422, "ends_at: give RFC 3339 or epoch milliseconds")
    registry = services.registry.load()
    silence = Silence(
        starts_ms=starts_ms, ends_ms=ends_ms, created_by=principal.actor,
        comment=body.comment, site=body.site, household=body.household,
        device_id=body.device_id,
        types=tuple(body.types),  # type: ignore[arg-type]  # checked by Silence
        weekly=tuple(WeeklyWindow(tuple(w.days), w.start, w.end) for w in body.weekly),
        timezone=body.timezone or _timezone_of(registry, body.site, body.household),
    )
    if principal.role is Role.OFFICER:
        # An officer's silence must stay inside their sites: name one of them, or a
        # household or device known to be there.
        site = _site_of(registry, silence)
        if site is None or not principal.sees_site(site) or (
                silence.site is None and silence.household is not None
                and silence.household not in registry.households):
            raise HTTPException(403, "officers may only silence their own sites")
    return silence_public(services.context.alerts.add_silence(silence), now)


@router.delete("/{silence_id}", status_code=204, response_class=Response,
               summary="End a silence")
def delete_silence(silence_id: SilenceId, services: ServicesDep,
                   principal: Operators) -> Response:
    registry = services.registry.load()
    silence = next((s for s in services.context.alerts.list_silences()
                    if s.id == silence_id), None)
    if silence is None or not _visible(principal, registry, silence):
        raise HTTPException(404, f"no silence {silence_id!r}")
    services.context.alerts.delete_silence(silence_id)
    return Response(status_code=204)
