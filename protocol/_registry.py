"""The registry of households, residents and devices, and its JSON/YAML file form."""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from ._errors import ContractViolation, Reason
from ._messages import Message
from ._scope import Placement
from ._topics import DEVICE_ID_RE, SITE_RE
from .const import DEVICE_KINDS

SiteId = Annotated[str, Field(pattern=f"^{SITE_RE.pattern}$")]
DeviceId = Annotated[str, Field(pattern=f"^{DEVICE_ID_RE.pattern}$")]
EntityId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
# A concrete topic (no wildcards) that a vendor device publishes on.
SourceTopic = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^#+\x00]+$")]
DialectName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
DeviceKind = Annotated[str, Field(json_schema_extra={"enum": list(DEVICE_KINDS)},
                                  description="device kind of wire contract v1")]


@functools.lru_cache(maxsize=2048)
def parse_hhmm(value: str) -> time:
    """``"HH:MM"`` as a :class:`datetime.time`; ValueError otherwise. Cached: the households
    of a registry share a few night hours, and a time object each took 26 bytes a device."""
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not HH:MM") from exc



Relation = Literal["family", "neighbour", "grid_worker"]
"""Who a responder is to the household; the dashboard lists them in the order given."""
PhoneNumber = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ()-]{2,31}$", examples=["+86 139 0000 0000"])]
Note = Annotated[str, Field(max_length=500)]


class ContactIn(BaseModel):
    """Someone to phone: what a responder and a key holder have in common."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phone: PhoneNumber


class ResponderIn(ContactIn):
    """Someone to call when the household has an alert (care record)."""

    relation: Relation
    note: Note | None = None


class KeyHolderIn(ContactIn):
    """Someone who holds a key to the home; ``access_note`` says how to get in (shown to the
    site's officers and admins only)."""

    access_note: Note | None = None


class HouseholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: EntityId
    site: SiteId
    lives_alone: StrictBool = False
    timezone: str = "UTC"
    night: tuple[str, str] = ("22:00", "06:00")
    building: str | None = None
    address: str | None = None
    floor: int | None = Field(default=None, ge=-10, le=300)
    unit: str | None = Field(default=None, min_length=1, max_length=32)
    responders: list[ResponderIn] = Field(default_factory=list, max_length=20)
    key_holders: list[KeyHolderIn] = Field(default_factory=list, max_length=10)
    access_notes: Note | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("night")
    @classmethod
    def _hhmm(cls, value: tuple[str, str]) -> tuple[str, str]:
        for part in value:
            parse_hhmm(part)
        return value


class ResidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: EntityId
    household: EntityId
    name: str = Field(min_length=1, max_length=200)
    elderly: StrictBool = False
    dementia: StrictBool = False
    contacts: list[str] = Field(default_factory=list)
    birth_year: int | None = Field(default=None, ge=1880, le=2100)
    conditions: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=20)
    mobility: Note | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
                                 description="BCP 47 tag of the language to speak to them in")


class DeviceFields(BaseModel):
    """A device's registry entry but for its id: the base of the file's :class:`DeviceIn`
    and of the API's device bodies (whose update makes ``site`` and ``kind`` optional)."""

    model_config = ConfigDict(extra="forbid")

    site: SiteId
    kind: DeviceKind
    household: EntityId | None = None
    room: str | None = Field(default=None, max_length=200)
    resident: EntityId | None = None
    building: str | None = Field(default=None, max_length=200)
    # A device that speaks a vendor dialect (see safehood.dialects) instead of contract v1:
    # the MQTT topic it publishes on and the name of the mapping that translates it.
    source_topic: SourceTopic | None = Field(
        default=None,
        description="vendor topic the device publishes on instead of contract v1 (with dialect)")
    dialect: DialectName | None = Field(
        default=None, description="vendor dialect mapping, e.g. zigbee2mqtt or shelly")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        # An update's explicit null fails here too: a device always has a kind.
        if value not in DEVICE_KINDS:
            raise ValueError(f"kind {value!r} is not one of {', '.join(DEVICE_KINDS)}")
        return value


class DeviceIn(DeviceFields):
    device_id: DeviceId

    @model_validator(mode="after")
    def _source_and_dialect(self) -> DeviceIn:
        if (self.source_topic is None) != (self.dialect is None):
            raise ValueError(f"device {self.device_id}: source_topic and dialect go together")
        return self


class RegistryFile(BaseModel):
    """The registry file of DESIGN.md, validated: ids unique and references resolved."""

    model_config = ConfigDict(extra="forbid")

    households: list[HouseholdIn] = Field(default_factory=list)
    residents: list[ResidentIn] = Field(default_factory=list)
    devices: list[DeviceIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> RegistryFile:
        _check_references(self.households, self.residents, self.devices)
        return self


def _check_references(
    households: Sequence[HouseholdIn | Household], residents: Sequence[ResidentIn | Resident],
    devices: Sequence[DeviceIn | Device],
) -> None:
    """ValueError unless ids are unique and every reference resolves (the file's models or
    the frozen records, which name their fields alike)."""
    by_id = {h.id: h for h in households}
    if len(by_id) != len(households):
        raise ValueError("household ids are not unique")
    resident_ids = {r.id for r in residents}
    if len(resident_ids) != len(residents):
        raise ValueError("resident ids are not unique")
    if len({d.device_id for d in devices}) != len(devices):
        raise ValueError("device ids are not unique")
    sources = [d.source_topic for d in devices if d.source_topic is not None]
    if len(set(sources)) != len(sources):
        raise ValueError("source topics are not unique: one topic, one device")
    for resident in residents:
        if resident.household not in by_id:
            raise ValueError(f"resident {resident.id} names unknown household {resident.household}")
    for device in devices:
        if device.household is not None:
            household = by_id.get(device.household)
            if household is None:
                raise ValueError(f"device {device.device_id} names unknown household {device.household}")
            if household.site != device.site:
                raise ValueError(f"device {device.device_id} is at site {device.site}, "
                                 f"its household at {household.site}")
        if device.resident is not None and device.resident not in resident_ids:
            raise ValueError(f"device {device.device_id} names unknown resident {device.resident}")


def in_window(moment: time, start: time, end: time) -> bool:
    """True when ``moment`` is in ``[start, end)``, a window that may wrap midnight.

    >>> in_window(time(23, 30), time(22, 0), time(6, 0)), in_window(time(12), time(22), time(6))
    (True, False)
    """
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """Someone to phone (:class:`ContactIn`, frozen)."""

    name: str
    phone: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Responder(Contact):
    relation: str
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyHolder(Contact):
    access_note: str | None = None


@dataclass(frozen=True, slots=True)
class Household:
    id: str
    site: str
    lives_alone: bool = False
    timezone: str = "UTC"
    night_start: time = time(22, 0)
    night_end: time = time(6, 0)
    building: str | None = None
    address: str | None = None
    floor: int | None = None
    unit: str | None = None
    responders: tuple[Responder, ...] = ()
    key_holders: tuple[KeyHolder, ...] = ()
    access_notes: str | None = None


@dataclass(frozen=True, slots=True)
class Resident:
    id: str
    household: str
    name: str
    elderly: bool = False
    dementia: bool = False
    contacts: tuple[str, ...] = ()
    birth_year: int | None = None
    conditions: tuple[str, ...] = ()
    mobility: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Device(Placement):
    kind: str
    building: str | None = None
    source_topic: str | None = None
    dialect: str | None = None


def _household_in(household: Household) -> HouseholdIn:
    fields = dataclasses.asdict(household)
    start, end = fields.pop("night_start"), fields.pop("night_end")
    return HouseholdIn(**fields, night=(start.strftime("%H:%M"), end.strftime("%H:%M")))


_SECTIONS = frozenset({"households", "residents", "devices"})


def _section(data: dict[str, Any], name: str) -> list[Any]:
    items = data.get(name, [])
    if not isinstance(items, list):
        raise ValueError(f"{name} is not a list")
    return items


# The frozen records share one string object for each id, site, kind and room they repeat
# (the registry's own strings are most of its memory at 100,000 devices).
_shared = sys.intern


def _optional(value: str | None) -> str | None:
    return None if value is None else _shared(value)


def _household_of(h: HouseholdIn) -> Household:
    # Field by field as the file gives them, but for what the frozen form keeps in
    # another shape: night hours as times, lists as tuples.
    fields = h.model_dump(exclude={"id", "site", "night", "responders", "key_holders"})
    return Household(
        id=_shared(h.id), site=_shared(h.site), **fields,
        night_start=parse_hhmm(h.night[0]), night_end=parse_hhmm(h.night[1]),
        responders=tuple(Responder(**p.model_dump()) for p in h.responders),
        key_holders=tuple(KeyHolder(**k.model_dump()) for k in h.key_holders),
    )


def _resident_of(r: ResidentIn) -> Resident:
    fields = r.model_dump(exclude={"id", "household", "contacts", "conditions"})
    return Resident(id=_shared(r.id), household=_shared(r.household), **fields,
                    contacts=tuple(r.contacts), conditions=tuple(r.conditions))


def _device_of(d: DeviceIn) -> Device:
    return Device(
        device_id=d.device_id, site=_shared(d.site), kind=_shared(d.kind),
        household=_optional(d.household), room=_optional(d.room),
        resident=_optional(d.resident), building=_optional(d.building),
        source_topic=d.source_topic, dialect=_optional(d.dialect),
    )


class Registry:
    """In-memory view of the registry: lookups by id, and message enrichment.

    Not thread safe for writers; readers see whole replacements made with :meth:`replace`.
    """

    def __init__(
        self,
        households: Iterable[Household] = (),
        residents: Iterable[Resident] = (),
        devices: Iterable[Device] = (),
    ) -> None:
        self.households: dict[str, Household] = {h.id: h for h in households}
        self.residents: dict[str, Resident] = {r.id: r for r in residents}
        self.devices: dict[str, Device] = {d.device_id: d for d in devices}
        # Who lives in and what is installed in each household, indexed once: asked for
        # every household, a scan of all residents made building a registry quadratic.
        self._residents_of: dict[str, list[Resident]] = {}
        for resident in self.residents.values():
            self._residents_of.setdefault(resident.household, []).append(resident)
        self._devices_of: dict[str, list[Device]] = {}
        for device in self.devices.values():
            if device.household is not None:
                self._devices_of.setdefault(device.household, []).append(device)

    @classmethod
    def from_model(cls, model: RegistryFile) -> Registry:
        return cls([_household_of(h) for h in model.households],
                   [_resident_of(r) for r in model.residents],
                   [_device_of(d) for d in model.devices])

    @classmethod
    def from_data(cls, data: Any) -> Registry:
        """The registry of a registry file's data, validated as :class:`RegistryFile`.

        Each entry is validated and made its frozen record at once: a model of the whole
        file, held at once, took 1.4 KiB a device at start-up. Where anything is wrong,
        the whole file's model says what, as before.
        """
        try:
            return cls._from_entries(data)
        except ValueError:  # ValidationError is one
            return cls.from_model(RegistryFile.model_validate(data))

    @classmethod
    def _from_entries(cls, data: Any) -> Registry:
        if not isinstance(data, dict) or not set(data) <= _SECTIONS:
            raise ValueError("not a registry file")
        households = [_household_of(HouseholdIn.model_validate(h))
                      for h in _section(data, "households")]
        residents = [_resident_of(ResidentIn.model_validate(r))
                     for r in _section(data, "residents")]
        devices = [_device_of(DeviceIn.model_validate(d)) for d in _section(data, "devices")]
        _check_references(households, residents, devices)
        return cls(households, residents, devices)

    @classmethod
    def load(cls, path: str | Path) -> Registry:
        """Load a registry file; ``.yaml``/``.yml`` as YAML, anything else as JSON."""
        path = Path(path)
        text = path.read_bytes()
        # msgspec, not orjson: orjson's parse of a large file peaks at four times the
        # objects it makes (2 KiB a device at 100,000 devices), msgspec's at none more.
        data = (yaml.safe_load(text) if path.suffix in (".yaml", ".yml")
                else msgspec.json.decode(text))
        del text
        return cls.from_data(data)

    def to_model(self) -> RegistryFile:
        return RegistryFile(
            households=[_household_in(h) for h in self.households.values()],
            # The file's models take the frozen form's tuples for their lists.
            residents=[ResidentIn(**dataclasses.asdict(r)) for r in self.residents.values()],
            devices=[DeviceIn(**dataclasses.asdict(d)) for d in self.devices.values()],
        )

    def dump(self, path: str | Path) -> None:
        """Write the registry file (YAML for ``.yaml``/``.yml``, else JSON)."""
        path = Path(path)
        data = self.to_model().model_dump(exclude_none=True)
        if path.suffix in (".yaml", ".yml"):
            path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        else:
            path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))

    def device(self, device_id: str) -> Device | None:
        return self.devices.get(device_id)

    def household_devices(self, household_id: str) -> list[Device]:
        return list(self._devices_of.get(household_id, ()))

    @property
    def devices_by_household(self) -> Mapping[str, Sequence[Device]]:
        """Each household's devices, in registry order, by household id (read only: the
        registry's own index)."""
        return self._devices_of

    def building_households(self, site: str, building: str) -> list[Household]:
        """The households of one building of a site."""
        return [h for h in self.households.values()
                if h.site == site and h.building == building]

    def building_of(self, household_id: str | None, device_id: str | None) -> str | None:
        """The building of a household, else of a device (a stairwell detector)."""
        household = self.households.get(household_id) if household_id else None
        if household is not None and household.building:
            return household.building
        device = self.devices.get(device_id) if device_id else None
        return device.building if device is not None else None

    def household_residents(self, household_id: str) -> list[Resident]:
        return list(self._residents_of.get(household_id, ()))

    def sites(self) -> list[str]:
        return sorted({h.site for h in self.households.values()} | {d.site for d in self.devices.values()})

    def placement(self, device_id: str, site: str, kind: str | None) -> Device:
        """The registered device that a message from ``device_id`` at ``site`` claiming
        ``kind`` (None: no claim) comes from; :class:`ContractViolation` when there is none
        or it is elsewhere or of another kind."""
        device = self.devices.get(device_id)
        if device is None:
            raise ContractViolation(Reason.UNKNOWN_DEVICE, f"device {device_id!r} is not registered")
        if device.site != site:
            raise ContractViolation(
                Reason.SITE_MISMATCH,
                f"device {device_id!r} is registered at site {device.site!r}, not {site!r}",
            )
        if kind is not None and kind != device.kind:
            raise ContractViolation(
                Reason.KIND_MISMATCH,
                f"device {device_id!r} is a {device.kind!r}, the message says {kind!r}",
            )
        return device

    def enrich(self, message: Message) -> Message:
        """Check ``message`` against the registry and add household, room and resident."""
        device = self.placement(message.device_id, message.site, message.kind)
        return dataclasses.replace(
            message, kind=device.kind, household=device.household, room=device.room,
            resident=device.resident,
        )
