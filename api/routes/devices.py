"""Device health, and readings from the time-series store: a device's, or a household's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic_core import to_json

from safehood.protocol import DEVICE_ID_RE, format_ts

from .._context import Services
from .._deps import EntityPath, Operators, ServicesDep
from .._health import health_rows
from .._models import DeviceHealthList, HouseholdReadingsPublic, ReadingsPublic
from .._roles import Role
from .._time import parse_time
from ..const import DEFAULT_READINGS_WINDOW_MS, MAX_READINGS

router = APIRouter(tags=["devices"])

TimeParam = Annotated[str | None, Query(
    max_length=40, description="RFC 3339 or epoch milliseconds")]


@router.get("/devices/health", response_model=DeviceHealthList,
            summary="Health of the registered devices: last seen, battery, online")
def device_health(services: ServicesDep, principal: Operators,
                  site: Annotated[str | None, Query(max_length=64)] = None,
                  household: Annotated[str | None, Query(max_length=64)] = None,
                  ) -> DeviceHealthList:
    devices = [d for d in services.registry.load().devices.values()
               if principal.sees_site(d.site) and (not site or d.site == site)
               and (not household or d.household == household)]
    devices.sort(key=lambda d: (d.site, d.household or "", d.device_id))
    rows, _ = health_rows(services.context.engine, devices, services.context.clock())
    return DeviceHealthList(data=rows)


@router.get("/devices/{device_id}/readings", response_model=ReadingsPublic,
            summary="Readings of a device over a time range (default: the last hour)")
def device_readings(
    device_id: Annotated[str, Path(pattern=f"^{DEVICE_ID_RE.pattern}$")],
    services: ServicesDep, principal: Operators,
    start: TimeParam = None, end: TimeParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_READINGS)] = MAX_READINGS,
) -> Response:
    device = services.registry.load().devices.get(device_id)
    # Officers only see registered devices of their sites; integrators and admins may look
    # at any device id (e.g. one that publishes but is not registered yet).
    if principal.role is Role.OFFICER and (device is None or not principal.sees_site(device.site)):
        raise HTTPException(404, f"no device {device_id!r}")
    start_ms, end_ms = _time_range(services, start, end)
    return _json(_readings(services, device_id, start_ms, end_ms, limit))


@router.get("/households/{household_id}/readings", response_model=HouseholdReadingsPublic,
            summary="Readings of every device of a household over a time range "
                    "(default: the last hour)")
def household_readings(
    household_id: EntityPath, services: ServicesDep, principal: Operators,
    start: TimeParam = None, end: TimeParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_READINGS, description="at most this many a device")]
    = MAX_READINGS,
) -> Response:
    """Each registered device of the household, by id, with its readings (at most
    ``limit`` a device): what one request a device gave, in one request."""
    registry = services.registry.load()
    household = registry.households.get(household_id)
    if household is None or not principal.sees_site(household.site):
        raise HTTPException(404, f"no household {household_id!r}")
    start_ms, end_ms = _time_range(services, start, end)
    devices = sorted(d.device_id for d in registry.household_devices(household_id))
    return _json({"household": household_id, "start": format_ts(start_ms),
                  "end": format_ts(end_ms),
                  "devices": [_readings(services, d, start_ms, end_ms, limit) for d in devices]})


def _time_range(services: Services, start: str | None, end: str | None) -> tuple[int, int]:
    """The range asked for, in epoch ms: ``end`` defaults to now, ``start`` to the
    default window before it; 422 unless start is before end."""
    end_ms = parse_time(end, "end") or services.context.clock()
    start_ms = parse_time(start, "start")
    if start_ms is None:
        start_ms = end_ms - DEFAULT_READINGS_WINDOW_MS
    if start_ms >= end_ms:
        raise HTTPException(422, "start: must be before end")
    return start_ms, end_ms


def _readings(services: Services, device_id: str, start_ms: int, end_ms: int,
              limit: int) -> dict[str, Any]:
    """A device's readings as the JSON object of ``ReadingsPublic``."""
    readings = services.context.store.query(device_id, start_ms, end_ms, limit=limit)
    return {"device_id": device_id, "start": format_ts(start_ms), "end": format_ts(end_ms),
            "data": [{"ts": format_ts(r.ts_ms), "ts_ms": r.ts_ms, "channel": r.channel,
                      "fields": r.fields} for r in readings]}


def _json(document: dict[str, Any]) -> Response:
    # Built from the store's typed readings and serialised as the declared model would be:
    # a model a reading was a third of a device's day (and FastAPI validated the model again).
    return Response(to_json(document, inf_nan_mode="null"), media_type="application/json")
