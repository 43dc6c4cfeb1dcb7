"""A resident's data on request (personal information protection), for admins only: the
same export and erasure as ``safehood resident`` (README, "Export and erase of a
resident's data")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from safehood.database import DAY_MS, ErasureRefused, UnknownResident
from safehood.store import StoreError

from .._deps import AdminOnly, ServicesDep
from .._personal_data import erase_resident_data, export_resident_data
from .._provisioning import ProvisioningError

router = APIRouter(tags=["personal data"])

ResidentPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


@router.get("/residents/{resident_id}/personal-data",
            summary="Export everything kept about a resident (admin)")
def export_personal_data(resident_id: ResidentPath, services: ServicesDep,
                         _: AdminOnly) -> dict[str, Any]:
    context = services.context
    since = context.clock() - context.settings.retention_readings_days * DAY_MS
    try:
        return export_resident_data(context.engine, context.store, resident_id, since)
    except UnknownResident as exc:
        raise HTTPException(404, str(exc)) from None
    except StoreError as exc:
        raise HTTPException(503, f"the reading store cannot be read: {exc}") from None


@router.delete("/residents/{resident_id}/personal-data",
               summary="Erase a resident's personal data; their alerts are kept anonymised (admin)")
def erase_personal_data(resident_id: ResidentPath, services: ServicesDep,
                        _: AdminOnly) -> dict[str, Any]:
    context = services.context
    try:
        erasure = erase_resident_data(context.engine, context.store, services.provisioner,
                                      resident_id, context.clock())
    except UnknownResident as exc:
        raise HTTPException(404, str(exc)) from None
    except ErasureRefused as exc:
        raise HTTPException(409, str(exc)) from None
    except (StoreError, ProvisioningError) as exc:
        raise HTTPException(503, f"erasure incomplete: {exc}") from None
    services.registry.refresh()
    return {"resident": resident_id, "devices_erased": erasure.device_ids,
            "alerts_anonymised": erasure.alerts_anonymised,
            "tokens_changed": erasure.tokens_changed}
