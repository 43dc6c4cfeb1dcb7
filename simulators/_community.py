"""The simulated community: sites, buildings, households, residents and their devices."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safehood.protocol import Device, Household, Registry, Resident, parse_hhmm

from ._care import with_care_record
from ._population import DEFAULT_ROUTINE, POPULATIONS, DeviceTraits, Population, Routine
from ._rng import py_rng
from .const import (
    COMPOSITION_SHARES,
    DEFAULT_DEMENTIA_SHARE,
    DEFAULT_SITE_PREFIX,
    DEFAULT_TIMEZONE,
    ENGLISH_EVERY,
    HOUSEHOLDS_PER_BUILDING,
    HOUSEHOLDS_PER_SITE,
    NIGHT_HOURS,
    ROOMS,
    UNITS_PER_FLOOR,
)

_SURNAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun",
    "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo", "Liang", "Song", "Zheng", "Xie",
)
_GIVEN = (
    "Fang", "Wei", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong", "Yan", "Jie",
    "Tao", "Ming", "Chao", "Xiu", "Hua", "Ping", "Gang", "Hui", "Lan", "Mei", "Guo", "Feng",
)

# Which residents each composition has: (role, count) with role "elderly" or "adult".
_MEMBERS: dict[str, tuple[str, ...]] = {
    "elderly_alone": ("elderly",),
    "elderly_couple": ("elderly", "elderly"),
    "family_with_elder": ("adult", "adult", "elderly"),
    "couple": ("adult", "adult"),
    "single": ("adult",),
    "family": ("adult", "adult", "adult"),
}


@dataclass(frozen=True, slots=True)
class ResidentSpec:
    """A resident as the simulator sees them: registry facts plus routine traits."""

    id: str
    name: str
    elderly: bool
    dementia: bool
    works: bool  # leaves for work or school on weekdays
    cook: bool  # cooks the household's meals
    bedroom: str
    wearable: str | None  # device id of their band (elderly residents only)
    routine: Routine = DEFAULT_ROUTINE


@dataclass(frozen=True, slots=True)
class HouseholdDevices:
    """Device ids of one household, by role."""

    smoke_kitchen: str
    smoke_hall: str
    leak: str
    meter: str
    door: str
    lock: str
    button: str
    motion: tuple[tuple[str, str], ...]  # (room, device id)

    def motion_in(self, room: str) -> str | None:
        for name, device_id in self.motion:
            if name == room:
                return device_id
        return None


@dataclass(frozen=True, slots=True)
class HouseholdSpec:
    index: int
    id: str
    site: str
    building: str
    timezone: str
    night: tuple[str, str]
    composition: str
    residents: tuple[ResidentSpec, ...]
    rooms: tuple[str, ...]
    devices: HouseholdDevices
    unit: int = 1
    visit_share: float = 0.2  # chance of a visitor on a given day
    # Drawn heartbeat, radio and clock per device id (empty: the default population's).
    device_traits: Mapping[str, DeviceTraits] = field(default_factory=dict)

    @property
    def lives_alone(self) -> bool:
        return len(self.residents) == 1

    @property
    def floor(self) -> int:
        return (self.unit - 1) // UNITS_PER_FLOOR + 1

    @property
    def unit_label(self) -> str:
        """The flat's number on its door: floor, then position (``"203"``)."""
        return f"{self.floor}{(self.unit - 1) % UNITS_PER_FLOOR + 1:02d}"

    @property
    def elderly_alone(self) -> bool:
        return self.lives_alone and self.residents[0].elderly

    @property
    def wearers(self) -> tuple[ResidentSpec, ...]:
        return tuple(r for r in self.residents if r.wearable is not None)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def device_ids(self) -> list[str]:
        d = self.devices
        ids = [d.smoke_kitchen, d.smoke_hall, d.leak, d.meter, d.door, d.lock, d.button]
        ids += [device_id for _, device_id in d.motion]
        ids += [r.wearable for r in self.residents if r.wearable is not None]
        return ids

    def kind_of(self, device_id: str) -> str:
        """The device kind of one of this household's device ids."""
        d = self.devices
        if device_id in (d.smoke_kitchen, d.smoke_hall):
            return "smoke"
        if device_id in (d.leak, d.meter):
            return "water"
        if device_id in (d.door, d.lock):
            return "door"
        if device_id == d.button:
            return "button"
        if any(device_id == r.wearable for r in self.residents):
            return "wearable"
        return "motion"


@dataclass(frozen=True, slots=True)
class BuildingSpec:
    """A building's shared spaces: a stairwell smoke detector and the main door."""

    index: int
    id: str
    site: str
    households: int
    stair_smoke: str
    main_door: str
    device_traits: Mapping[str, DeviceTraits] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Community:
    """A generated community; :attr:`registry` is what safehood is told about it.

    Build one with :meth:`generate`; the same arguments always give the same community.
    """

    seed: int
    households: tuple[HouseholdSpec, ...]
    buildings: tuple[BuildingSpec, ...]
    registry: Registry

    @classmethod
    def generate(
        cls,
        households: int,
        seed: int = 0,
        *,
        sites: int | None = None,
        site_prefix: str = DEFAULT_SITE_PREFIX,
        timezone: str = DEFAULT_TIMEZONE,
        elderly_alone_share: float = COMPOSITION_SHARES["elderly_alone"],
        dementia_share: float = DEFAULT_DEMENTIA_SHARE,
        population: Population = POPULATIONS["default"],
    ) -> Community:
        """Generate ``households`` households over ``sites`` sites (one per 500 by default).

        ``population`` says where residents' habits and devices' reporting come from (see
        :mod:`._population`); the default one reproduces earlier communities seed for seed.

        Raises ``ValueError`` for a count below one, unknown time zone or share outside 0-1.
        """
        if households < 1:
            raise ValueError("a community needs at least one household")
        if sites is not None and not 1 <= sites <= households:
            raise ValueError(f"sites must be between 1 and the number of households ({households})")
        for name, share in (("elderly_alone_share", elderly_alone_share),
                            ("dementia_share", dementia_share)):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {timezone!r}") from None
        site_count = sites or math.ceil(households / HOUSEHOLDS_PER_SITE)
        shares = _composition_shares(elderly_alone_share)
        if population.diverse:
            shares = _with_two_residents(shares, population.two_resident_share)
        width = max(4, len(str(households)))
        resident_width = max(4, len(str(households * 3)))

        per_site = [households // site_count + (1 if i < households % site_count else 0)
                    for i in range(site_count)]
        specs: list[HouseholdSpec] = []
        buildings: list[BuildingSpec] = []
        resident_counter = 0
        building_width = max(3, len(str(math.ceil(households / HOUSEHOLDS_PER_BUILDING) + site_count)))
        for site_index, count in enumerate(per_site):
            site = f"{site_prefix}-{site_index + 1}"
            for offset in range(0, count, HOUSEHOLDS_PER_BUILDING):
                in_building = min(HOUSEHOLDS_PER_BUILDING, count - offset)
                building_id = f"b{len(buildings) + 1:0{building_width}d}"
                building = BuildingSpec(
                    index=len(buildings), id=building_id, site=site, households=in_building,
                    stair_smoke=f"{building_id}-smoke-stair", main_door=f"{building_id}-door-main",
                )
                if population.diverse:
                    building = dataclasses.replace(building, device_traits=_device_traits(
                        population, seed, ((building.stair_smoke, "smoke"),
                                           (building.main_door, "door"))))
                buildings.append(building)
                for unit in range(1, in_building + 1):
                    index = len(specs)
                    spec = _household(
                        index, f"h{index + 1:0{width}d}", site, building_id, unit, timezone,
                        seed, shares, dementia_share, resident_counter, resident_width,
                    )
                    if population.diverse:
                        spec = _diversify(spec, population, seed)
                    resident_counter += len(spec.residents)
                    specs.append(spec)
        if dementia_share > 0:
            _ensure_dementia(specs, seed)
        return cls(seed=seed, households=tuple(specs), buildings=tuple(buildings),
                   registry=_registry(specs, buildings, seed))

    def household(self, household_id: str) -> HouseholdSpec:
        for spec in self.households:
            if spec.id == household_id:
                return spec
        raise KeyError(household_id)

    @property
    def sites(self) -> list[str]:
        return sorted({h.site for h in self.households})


def _diversify(spec: HouseholdSpec, population: Population, seed: int) -> HouseholdSpec:
    """Draw ``spec``'s habits, registry night window and devices from ``population``.

    Each draw has its own random stream, so the default population's draws are untouched.
    """
    rng = py_rng(seed, "population", spec.index)
    residents = tuple(dataclasses.replace(r, routine=population.routine(rng, r.elderly))
                      for r in spec.residents)
    kinds = [(device_id, spec.kind_of(device_id)) for device_id in spec.device_ids()]
    return dataclasses.replace(
        spec, residents=residents, night=population.registry_night(rng),
        visit_share=rng.uniform(*population.visit_share),
        device_traits=_device_traits(population, seed, kinds),
    )


def _device_traits(population: Population, seed: int,
                   devices: Iterable[tuple[str, str]]) -> dict[str, DeviceTraits]:
    return {device_id: population.device(py_rng(seed, "device-traits", device_id), kind)
            for device_id, kind in devices}


def _ensure_dementia(specs: list[HouseholdSpec], seed: int) -> None:
    """Some resident has dementia (in a small community chance may have given none)."""
    elderly = [(i, j) for i, h in enumerate(specs) for j, r in enumerate(h.residents) if r.elderly]
    if not elderly or any(r.dementia for h in specs for r in h.residents):
        return
    i, j = py_rng(seed, "dementia").choice(elderly)
    residents = list(specs[i].residents)
    residents[j] = dataclasses.replace(residents[j], dementia=True)
    specs[i] = dataclasses.replace(specs[i], residents=tuple(residents))


def _composition_shares(elderly_alone: float) -> dict[str, float]:
    rest = 1.0 - COMPOSITION_SHARES["elderly_alone"]
    scale = (1.0 - elderly_alone) / rest
    shares = {k: v * scale for k, v in COMPOSITION_SHARES.items()}
    shares["elderly_alone"] = elderly_alone
    return shares


def _with_two_residents(shares: dict[str, float], two: float) -> dict[str, float]:
    """``shares`` scaled so that households of two residents make up ``two`` of them."""
    pairs = ("elderly_couple", "couple")
    paired = sum(shares[k] for k in pairs)
    others = 1.0 - paired
    if paired <= 0.0 or others <= 0.0:
        # Shares asked for explicitly (say, every household an elderly person alone) cannot
        # be rescaled to the population's mix: they win.
        return shares
    return {k: v * (two / paired if k in pairs else (1.0 - two) / others)
            for k, v in shares.items()}


def _household(
    index: int,
    household_id: str,
    site: str,
    building: str,
    unit: int,
    timezone: str,
    seed: int,
    shares: dict[str, float],
    dementia_share: float,
    first_resident: int,
    resident_width: int,
) -> HouseholdSpec:
    rng = py_rng(seed, "household", index)
    composition = rng.choices(list(shares), weights=list(shares.values()))[0]
    roles = _MEMBERS[composition]
    surname = rng.choice(_SURNAMES)
    rooms = list(ROOMS) + (["bedroom2"] if len(roles) >= 3 else [])
    cook_index = roles.index("elderly") if "elderly" in roles else 0
    residents: list[ResidentSpec] = []
    for i, role in enumerate(roles):
        resident_id = f"r{first_resident + i + 1:0{resident_width}d}"
        elderly = role == "elderly"
        # In a three-person household the third person sleeps in the second bedroom.
        bedroom = "bedroom2" if i >= 2 else "bedroom"
        residents.append(ResidentSpec(
            id=resident_id,
            name=f"{surname} {rng.choice(_GIVEN)}{rng.choice(_GIVEN).lower()}",
            elderly=elderly,
            dementia=elderly and rng.random() < dementia_share,
            works=not elderly,
            cook=i == cook_index,
            bedroom=bedroom,
            wearable=f"{resident_id}-band" if elderly else None,
        ))
    night = NIGHT_HOURS[rng.choices(range(len(NIGHT_HOURS)), weights=(6, 2, 2))[0]]
    devices = HouseholdDevices(
        smoke_kitchen=f"{household_id}-smoke-kitchen",
        smoke_hall=f"{household_id}-smoke-hall",
        leak=f"{household_id}-leak-kitchen",
        meter=f"{household_id}-water-meter",
        door=f"{household_id}-door-front",
        lock=f"{household_id}-lock-front",
        button=f"{household_id}-sos-bedroom",
        motion=tuple((room, f"{household_id}-motion-{room}") for room in rooms),
    )
    return HouseholdSpec(
        index=index, id=household_id, site=site, building=building, timezone=timezone,
        night=night, composition=composition, residents=tuple(residents), rooms=tuple(rooms),
        devices=devices, unit=unit,
    )


def _registry(specs: list[HouseholdSpec], buildings: list[BuildingSpec], seed: int) -> Registry:
    households: list[Household] = []
    residents: list[Resident] = []
    devices: list[Device] = []
    for b in buildings:
        devices.append(Device(b.stair_smoke, b.site, "smoke", room="stairwell", building=b.id))
        devices.append(Device(b.main_door, b.site, "door", room="entrance", building=b.id))
    for h in specs:
        household = Household(
            id=h.id, site=h.site, lives_alone=h.lives_alone, timezone=h.timezone,
            night_start=parse_hhmm(h.night[0]), night_end=parse_hhmm(h.night[1]),
            building=h.building, address=f"building {h.building}, unit {h.unit_label}",
        )
        elderly = [r for r in h.residents if r.elderly]
        home = [Resident(id=r.id, household=h.id, name=r.name, elderly=r.elderly,
                         dementia=r.dementia,
                         contacts=(f"mailto://family-{r.id}@example.org",) if r.elderly else ())
                for r in h.residents]
        household, home = with_care_record(household, home, h.unit, seed)
        if h.index % ENGLISH_EVERY == 5:  # a home that reads English, among Chinese ones
            home = [dataclasses.replace(r, language="en") for r in home]
        households.append(household)
        residents.extend(home)
        d = h.devices

        def add(device_id: str, kind: str, room: str | None, resident: str | None = None,
                h: HouseholdSpec = h) -> None:
            devices.append(Device(device_id, h.site, kind, household=h.id, room=room,
                                  resident=resident, building=h.building))

        add(d.smoke_kitchen, "smoke", "kitchen")
        add(d.smoke_hall, "smoke", "hall")
        add(d.leak, "water", "kitchen")
        add(d.meter, "water", None)
        add(d.door, "door", "entrance")
        add(d.lock, "door", "entrance")
        add(d.button, "button", "bedroom", elderly[0].id if len(elderly) == 1 else None)
        for room, device_id in d.motion:
            add(device_id, "motion", room)
        for r in h.residents:
            if r.wearable is not None:
                add(r.wearable, "wearable", None, r.id)
    return Registry(households, residents, devices)
