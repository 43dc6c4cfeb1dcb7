"""Registry CRUD (households, residents, devices) and bulk import/export.

Integrators and admins change the registry; officers read the part of their sites, without
residents' notification contacts. A device created here gets MQTT credentials (once)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from safehood.protocol import DEVICE_ID_RE, Device, Household, Registry, RegistryFile, Resident

from .._context import Services
from .._deps import EntityPath, IntegratorOrAdmin, RegistryReaders, ServicesDep
from .._disclosure import contacts_view, household_view, registry_view, sees_access_notes
from .._models import (
    DeviceCreate,
    DeviceCreated,
    DeviceFields,
    DevicePublic,
    DevicesPublic,
    DeviceUpdate,
    HouseholdCreate,
    HouseholdFields,
    HouseholdPublic,
    HouseholdsPublic,
    HouseholdUpdate,
    MqttCredentialsPublic,
    RegistryImportResult,
    ResidentCreate,
    ResidentFields,
    ResidentPublic,
    ResidentsPublic,
    ResidentUpdate,
)
from .._provisioning import MqttCredentials, SyncResult
from .._roles import Principal
from ..const import DEFAULT_LIMIT, MAX_LIMIT

log = logging.getLogger(__name__)
router = APIRouter(tags=["registry"])

DevicePath = Annotated[str, Path(pattern=f"^{DEVICE_ID_RE.pattern}$")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
SiteFilter = Annotated[str | None, Query(max_length=64)]
IdFilter = Annotated[str | None, Query(max_length=64)]


# --- conversions --------------------------------------------------------------------------


def household_public(h: Household, principal: Principal) -> HouseholdPublic:
    shown = household_view(Registry([h]).to_model().households[0], principal.role)
    return HouseholdPublic.model_validate(shown.model_dump())


def resident_public(r: Resident, principal: Principal) -> ResidentPublic:
    contacts = contacts_view(r.contacts, principal.role)
    return ResidentPublic(id=r.id, household=r.household, name=r.name, elderly=r.elderly,
                          dementia=r.dementia, contacts=contacts, birth_year=r.birth_year,
                          conditions=list(r.conditions), mobility=r.mobility,
                          language=r.language)


def device_public(d: Device, provisioned: bool) -> DevicePublic:
    return DevicePublic(**dataclasses.asdict(d), provisioned=provisioned)


def credentials_public(services: Services, creds: MqttCredentials,
                       result: SyncResult) -> MqttCredentialsPublic:
    return MqttCredentialsPublic(
        username=creds.username, password=creds.password,
        broker=services.context.settings.mqtt.url, publish_topic=creds.publish_topic,
        broker_reloaded=result.reloaded,
    )


def _resident_site(registry: Registry, r: Resident) -> str | None:
    household = registry.households.get(r.household)
    return household.site if household else None


def _page(items: list[Any], limit: int, offset: int) -> list[Any]:
    return items[offset:offset + limit]


# --- households ---------------------------------------------------------------------------


@router.get("/households", response_model=HouseholdsPublic, summary="List households")
def list_households(services: ServicesDep, principal: RegistryReaders,
                    site: SiteFilter = None, limit: Limit = DEFAULT_LIMIT,
                    offset: Offset = 0) -> HouseholdsPublic:
    found = [h for h in services.registry.load().households.values()
             if principal.sees_site(h.site) and (not site or h.site == site)]
    found.sort(key=lambda h: (h.site, h.id))
    return HouseholdsPublic(data=[household_public(h, principal) for h in _page(found, limit, offset)],
                            count=len(found))


@router.post("/households", response_model=HouseholdPublic, status_code=201,
             summary="Create a household")
def create_household(body: HouseholdCreate, services: ServicesDep,
                     principal: IntegratorOrAdmin) -> HouseholdPublic:
    registry = services.registry.create("households", body.model_dump())
    return household_public(registry.households[body.id], principal)


def _household(services: Services, principal: Principal, household_id: str) -> Household:
    household = services.registry.load().households.get(household_id)
    if household is None or not principal.sees_site(household.site):
        raise HTTPException(404, f"no household {household_id!r}")
    return household


@router.get("/households/{household_id}", response_model=HouseholdPublic,
            summary="Get a household")
def get_household(household_id: EntityPath, services: ServicesDep,
                  principal: RegistryReaders) -> HouseholdPublic:
    return household_public(_household(services, principal, household_id), principal)


@router.put("/households/{household_id}", response_model=HouseholdPublic,
            summary="Replace a household")
def replace_household(household_id: EntityPath, body: HouseholdFields, services: ServicesDep,
                      principal: IntegratorOrAdmin) -> HouseholdPublic:
    changes = body.model_dump()
    if not sees_access_notes(principal.role):
        # Access notes the caller may not read are kept, not replaced by their absence.
        stored = services.registry.load().households.get(household_id)
        changes["access_notes"] = stored.access_notes if stored else None
    registry = services.registry.update("households", household_id, changes, replace=True)
    return household_public(registry.households[household_id], principal)


@router.patch("/households/{household_id}", response_model=HouseholdPublic,
              summary="Change some fields of a household")
def patch_household(household_id: EntityPath, body: HouseholdUpdate, services: ServicesDep,
                    principal: IntegratorOrAdmin) -> HouseholdPublic:
    changes = body.model_dump(exclude_unset=True)
    if "access_notes" in changes and not sees_access_notes(principal.role):
        raise HTTPException(403, "only the site's officers and admins write access notes")
    registry = services.registry.update("households", household_id, changes)
    return household_public(registry.households[household_id], principal)


@router.delete("/households/{household_id}", status_code=204, response_class=Response,
               summary="Delete a household (it must have no residents or devices left)")
def delete_household(household_id: EntityPath, services: ServicesDep,
                     _: IntegratorOrAdmin) -> Response:
    services.registry.delete("households", household_id)
    return Response(status_code=204)


# --- residents ----------------------------------------------------------------------------


@router.get("/residents", response_model=ResidentsPublic, summary="List residents")
def list_residents(services: ServicesDep, principal: RegistryReaders,
                   household: IdFilter = None, site: SiteFilter = None,
                   limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> ResidentsPublic:
    registry = services.registry.load()
    found = []
    for r in registry.residents.values():
        r_site = _resident_site(registry, r)
        if (principal.sees_site(r_site) and (not household or r.household == household)
                and (not site or r_site == site)):
            found.append(r)
    found.sort(key=lambda r: (r.household, r.id))
    return ResidentsPublic(
        data=[resident_public(r, principal) for r in _page(found, limit, offset)],
        count=len(found))


@router.post("/residents", response_model=ResidentPublic, status_code=201,
             summary="Create a resident")
def create_resident(body: ResidentCreate, services: ServicesDep,
                    principal: IntegratorOrAdmin) -> ResidentPublic:
    registry = services.registry.create("residents", body.model_dump())
    return resident_public(registry.residents[body.id], principal)


def _resident(services: Services, principal: Principal, resident_id: str) -> Resident:
    registry = services.registry.load()
    resident = registry.residents.get(resident_id)
    if resident is None or not principal.sees_site(_resident_site(registry, resident)):
        raise HTTPException(404, f"no resident {resident_id!r}")
    return resident


@router.get("/residents/{resident_id}", response_model=ResidentPublic, summary="Get a resident")
def get_resident(resident_id: EntityPath, services: ServicesDep,
                 principal: RegistryReaders) -> ResidentPublic:
    return resident_public(_resident(services, principal, resident_id), principal)


@router.put("/residents/{resident_id}", response_model=ResidentPublic,
            summary="Replace a resident")
def replace_resident(resident_id: EntityPath, body: ResidentFields, services: ServicesDep,
                     principal: IntegratorOrAdmin) -> ResidentPublic:
    registry = services.registry.update("residents", resident_id, body.model_dump(),
                                        replace=True)
    return resident_public(registry.residents[resident_id], principal)


@router.patch("/residents/{resident_id}", response_model=ResidentPublic,
              summary="Change some fields of a resident")
def patch_resident(resident_id: EntityPath, body: ResidentUpdate, services: ServicesDep,
                   principal: IntegratorOrAdmin) -> ResidentPublic:
    registry = services.registry.update("residents", resident_id,
                                        body.model_dump(exclude_unset=True))
    return resident_public(registry.residents[resident_id], principal)


@router.delete("/residents/{resident_id}", status_code=204, response_class=Response,
               summary="Delete a resident (their devices stay, without a resident)")
def delete_resident(resident_id: EntityPath, services: ServicesDep,
                    _: IntegratorOrAdmin) -> Response:
    services.registry.delete("residents", resident_id)
    return Response(status_code=204)


# --- devices ------------------------------------------------------------------------------


@router.get("/devices", response_model=DevicesPublic, summary="List devices")
def list_devices(services: ServicesDep, principal: RegistryReaders,
                 site: SiteFilter = None, household: IdFilter = None,
                 kind: Annotated[str | None, Query(max_length=16)] = None,
                 limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> DevicesPublic:
    found = [d for d in services.registry.load().devices.values()
             if principal.sees_site(d.site) and (not site or d.site == site)
             and (not household or d.household == household)
             and (not kind or d.kind == kind)]
    found.sort(key=lambda d: (d.site, d.device_id))
    page = _page(found, limit, offset)
    provisioned = services.provisioner.provisioned([d.device_id for d in page])
    return DevicesPublic(data=[device_public(d, d.device_id in provisioned) for d in page],
                         count=len(found))


@router.post("/devices", response_model=DeviceCreated, status_code=201,
             summary="Create a device and give it MQTT credentials")
def create_device(
    body: DeviceCreate, services: ServicesDep, _: IntegratorOrAdmin,
    provision: Annotated[bool, Query(
        description="give the device an MQTT account (password and ACL)")] = True,
) -> DeviceCreated:
    """The response holds the device's MQTT password: safehood keeps only its hash, so it
    is shown this once (``POST /devices/{id}/credentials`` issues a new one)."""
    registry = services.registry.create("devices", body.model_dump())
    device = registry.devices[body.device_id]
    if not provision:
        return DeviceCreated(**device_public(device, False).model_dump())
    creds, result = services.provisioner.provision(device.device_id)
    return DeviceCreated(**device_public(device, True).model_dump(),
                         mqtt=credentials_public(services, creds, result))


def _device(services: Services, principal: Principal, device_id: str) -> Device:
    device = services.registry.load().devices.get(device_id)
    if device is None or not principal.sees_site(device.site):
        raise HTTPException(404, f"no device {device_id!r}")
    return device


@router.get("/devices/{device_id}", response_model=DevicePublic, summary="Get a device")
def get_device(device_id: DevicePath, services: ServicesDep,
               principal: RegistryReaders) -> DevicePublic:
    device = _device(services, principal, device_id)
    return device_public(device, bool(services.provisioner.provisioned([device_id])))


def _after_device_change(services: Services, device: Device) -> DevicePublic:
    provisioned = bool(services.provisioner.provisioned([device.device_id]))
    if provisioned:
        services.provisioner.sync()  # the ACL names the device's site
    return device_public(device, provisioned)


@router.put("/devices/{device_id}", response_model=DevicePublic, summary="Replace a device")
def replace_device(device_id: DevicePath, body: DeviceFields, services: ServicesDep,
                   _: IntegratorOrAdmin) -> DevicePublic:
    registry = services.registry.update("devices", device_id, body.model_dump(), replace=True)
    return _after_device_change(services, registry.devices[device_id])


@router.patch("/devices/{device_id}", response_model=DevicePublic,
              summary="Change some fields of a device")
def patch_device(device_id: DevicePath, body: DeviceUpdate, services: ServicesDep,
                 _: IntegratorOrAdmin) -> DevicePublic:
    registry = services.registry.update("devices", device_id,
                                        body.model_dump(exclude_unset=True))
    return _after_device_change(services, registry.devices[device_id])


@router.delete("/devices/{device_id}", status_code=204, response_class=Response,
               summary="Delete a device and its MQTT account")
def delete_device(device_id: DevicePath, services: ServicesDep,
                  _: IntegratorOrAdmin) -> Response:
    services.registry.delete("devices", device_id)
    services.provisioner.revoke(device_id)
    return Response(status_code=204)


@router.post("/devices/{device_id}/credentials", response_model=MqttCredentialsPublic,
             summary="Issue new MQTT credentials for a device (the old password stops working)")
def rotate_credentials(device_id: DevicePath, services: ServicesDep,
                       principal: IntegratorOrAdmin) -> MqttCredentialsPublic:
    _device(services, principal, device_id)
    creds, result = services.provisioner.provision(device_id)
    return credentials_public(services, creds, result)


# --- bulk ---------------------------------------------------------------------------------


@router.post("/registry/import", response_model=RegistryImportResult,
             summary="Import a registry file (JSON body)")
def import_registry_file(
    body: RegistryFile, services: ServicesDep, _: IntegratorOrAdmin,
    replace: Annotated[bool, Query(
        description="remove every household, resident and device the file does not name")]
    = False,
    provision: Annotated[bool, Query(
        description="give MQTT credentials to the file's devices that have none")] = False,
) -> RegistryImportResult:
    """Every entry of the file is inserted or updated; the whole registry is checked before
    anything is written, so a bad file changes nothing."""
    services.registry.import_file(body, replace=replace)
    credentials: list[MqttCredentialsPublic] = []
    ids = [d.device_id for d in body.devices]
    missing = [i for i in ids if i not in services.provisioner.provisioned(ids)]
    if provision and missing:
        issued, result = services.provisioner.provision_many(missing)
        credentials = [credentials_public(services, c, result) for c in issued]
    else:
        services.provisioner.sync()  # devices may have moved site or, with replace, gone
    return RegistryImportResult(households=len(body.households), residents=len(body.residents),
                                devices=len(body.devices), credentials=credentials)


@router.get("/registry/export", response_model=RegistryFile,
            summary="The whole registry as a registry file")
def export_registry(services: ServicesDep, principal: IntegratorOrAdmin) -> RegistryFile:
    """Integrators get contacts masked; importing the export back keeps the stored ones."""
    return registry_view(services.registry.load().to_model(), principal.role)
