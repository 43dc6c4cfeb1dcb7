"""Device health and readings from the time-series store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from safehood.protocol import DEVICE_ID_RE, format_ts

from .._deps import Operators, ServicesDep
from .._health import health_rows
from .._models import DeviceHealthList, ReadingPublic, ReadingsPublic
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
    end_ms = parse_time(end, "end") or services.context.clock()
    start_ms = parse_time(start, "start")
    if start_ms is None:
        start_ms = end_ms - DEFAULT_READINGS_WINDOW_MS
    if start_ms >= end_ms:
        raise HTTPException(422, "start: must be before end")
    readings = services.context.store.query(device_id, start_ms, end_ms, limit=limit)
    body = ReadingsPublic(
        device_id=device_id, start=format_ts(start_ms), end=format_ts(end_ms),
        data=[ReadingPublic(ts=format_ts(r.ts_ms), ts_ms=r.ts_ms, channel=r.channel,
                            fields=dict(r.fields)) for r in readings],
    )
    # Validated as built: serialised once (FastAPI would validate it again and dump it
    # twice: 4.5 of a day's 19 ms of CPU, against 0.8).
    return Response(body.model_dump_json(), media_type="application/json")
