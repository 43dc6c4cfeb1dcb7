"""The abstract detector and what detectors know about the registry.

A detector keeps the state of one rule for one scope (a device, a household, a site): it
takes one enriched :class:`protocol.Message` at a time and returns decisions. It never
does I/O and never reads a clock; time reaches it only as event time, in the messages and
in :meth:`Detector.advance`, which the engine calls when the site's watermark passes the
deadline the detector asked for in :attr:`Detector.deadline_ms`.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Generic, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from safehood.learning import FallClassifier
from safehood.protocol import (
    AlertDecision,
    AlertType,
    DecisionAction,
    Device,
    DeviceEvent,
    Household,
    Message,
    Registry,
    Resident,
    Severity,
    in_window,
)

from .config import DetectorConfig

Decisions = list[AlertDecision]
R = TypeVar("R")


class Detector(abc.ABC):
    """One rule over one scope, fed one message at a time (river's ``anomaly.base`` style).

    Subclasses implement :meth:`process_one`; those that learn a normal pattern implement
    :meth:`learn_one`, and those with timers :attr:`deadline_ms` and :meth:`advance`.
    Contract:

    - ``process_one`` and ``advance`` never raise on well-typed input, whatever its order:
      out-of-order, late and repeated messages are expected;
    - decisions carry the event time that caused them: a message's ``ts_ms``, or for a
      timer the deadline itself;
    - no I/O, no clock reads, no globals.
    """

    # Empty, so that a detector made per device can be slotted (no ``__dict__``).
    __slots__ = ()

    #: Device kinds whose messages this detector wants; its rule routes by it.
    kinds: frozenset[str] = frozenset()
    #: Channels whose messages it uses, where not all; its rule routes by it (see
    #: :attr:`Rule.channels`).
    channels: frozenset[str] | None = None

    def learn_one(self, message: Message) -> None:  # noqa: B027 - optional hook
        """Update the learned normal pattern with ``message`` without deciding anything."""

    @abc.abstractmethod
    def process_one(self, message: Message) -> Decisions:
        """Take one message into account; return the decisions it leads to."""

    @property
    def deadline_ms(self) -> int | None:
        """Event time at which :meth:`advance` must be called next, or None."""
        return None

    def advance(self, now_ms: int) -> Decisions:
        """Fire the timers due at or before event time ``now_ms``."""
        return []

    @property
    def waiting_on(self) -> Detector | None:
        """While :attr:`deadline_ms` is None: the detector whose alert stands for this one's
        (a device behind its silent gateway), which wakes it by ceasing to be
        :attr:`blocking`; then the engine reads this one's deadline again."""
        return None

    @property
    def blocking(self) -> bool:
        """True while the detectors :attr:`waiting_on` this one must keep waiting."""
        return False


class ScopedDetector(Detector):
    """A detector of one subject in a site and household: a device, or a person across
    their button and wearable (the resident, or the device when it belongs to no one, see
    :func:`person_of`). Its decisions are about the subject there."""

    __slots__ = ("household", "site", "subject")

    def __init__(self, subject: str, *, site: str, household: str | None) -> None:
        self.subject = subject
        self.site = site
        self.household = household

    def scoped_decision(
        self, action: DecisionAction, alert_type: AlertType, severity: Severity, ts_ms: int, *,
        evidence: Mapping[str, Any], resident: str | None = None, device_id: str | None = None,
        confirmed: bool = True,
    ) -> AlertDecision:
        """A decision about this detector's subject."""
        return AlertDecision(
            action=action, type=alert_type, severity=severity, subject=self.subject,
            site=self.site, ts_ms=ts_ms, household=self.household, resident=resident,
            device_id=device_id, evidence=tidy_evidence(evidence), confirmed=confirmed,
        )


class DeviceDetector(ScopedDetector):
    """A detector of one registered device, its subject; it lives while the device stays in
    the same household (:func:`rebind_device`)."""

    __slots__ = ()

    @property
    def device_id(self) -> str:
        return self.subject

    def device_decision(
        self, action: DecisionAction, alert_type: AlertType, severity: Severity, ts_ms: int,
        evidence: Mapping[str, Any],
    ) -> AlertDecision:
        """A decision about this device."""
        return self.scoped_decision(action, alert_type, severity, ts_ms, evidence=evidence,
                                    device_id=self.subject)


def rebind_device(detector: DeviceDetector, view: RegistryView) -> bool:
    """Keeps a device's detector while the device is registered in the same household."""
    return view.still_placed(detector.subject, detector.household)


def person_of(device: Device, view: RegistryView) -> str:
    """The person a device's person detector is about: its resident, else the device."""
    return device.resident or device.device_id


@dataclass(frozen=True, slots=True)
class HouseholdScope:
    """A household as the detectors need it: who lives there and its local night."""

    id: str
    site: str
    building: str | None
    lives_alone: bool
    zone: ZoneInfo
    night_start: time
    night_end: time
    residents: tuple[Resident, ...]
    # The last ``local`` answer with its instant: a message's detectors (routine, inactivity,
    # night wandering) each ask it for the same instant, often twice. Set past the frozen
    # guard, as dataclasses' own __init__ does; one tuple, so that a reader on another
    # thread never sees one instant's time with another's.
    _last_local: tuple[int, datetime] | None = field(
        default=None, init=False, compare=False, repr=False)

    @classmethod
    def from_registry(cls, household: Household, registry: Registry) -> HouseholdScope:
        return cls(
            id=household.id,
            site=household.site,
            building=household.building,
            lives_alone=household.lives_alone,
            zone=ZoneInfo(household.timezone),
            night_start=household.night_start,
            night_end=household.night_end,
            residents=tuple(registry.household_residents(household.id)),
        )

    @property
    def watch_inactivity(self) -> bool:
        """Inactivity is watched where an elderly person lives alone."""
        return self.lives_alone and any(r.elderly for r in self.residents)

    @property
    def at_risk_residents(self) -> tuple[Resident, ...]:
        """Residents whose leaving at night is night wandering (flagged with dementia)."""
        return tuple(r for r in self.residents if r.dementia)

    def local(self, ts_ms: int) -> datetime:
        """``ts_ms`` as local time in the household's zone."""
        last = self._last_local
        if last is not None and last[0] == ts_ms:
            return last[1]
        moment = datetime.fromtimestamp(ts_ms / 1000, tz=self.zone)
        object.__setattr__(self, "_last_local", (ts_ms, moment))
        return moment

    def is_night(self, ts_ms: int) -> bool:
        """True when ``ts_ms`` falls in the household's night hours (local time)."""
        return in_window(self.local(ts_ms).time(), self.night_start, self.night_end)


def time_before(moment: time, seconds: float) -> time:
    """The time of day ``seconds`` before ``moment``, wrapping past midnight.

    >>> time_before(time(22), 4 * 3600), time_before(time(1), 2 * 3600)
    (datetime.time(18, 0), datetime.time(23, 0))
    """
    return (datetime.combine(date(2000, 1, 2), moment) - timedelta(seconds=seconds)).time()


def two_state_reader(
    by_event: Mapping[str, bool], reading_type: type[R], value: Callable[[R], bool | None]
) -> Callable[[Message], bool | None]:
    """The reader of a two-state device (a door open or shut, a leak sensor wet or dry): the
    state an event names in ``by_event``, else ``value`` of a telemetry reading of
    ``reading_type``; None when the message says neither."""

    def state(message: Message) -> bool | None:
        reading = message.reading
        if isinstance(reading, DeviceEvent):
            return by_event.get(reading.event)
        if isinstance(reading, reading_type):
            return value(reading)
        return None

    return state


def tidy_evidence(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """A decision's evidence as it is kept: floats rounded to keep output readable (not a
    number: None), sequences as lists."""
    out: dict[str, Any] = {}
    for key, value in evidence.items():
        if isinstance(value, float):
            value = round(value, 3) if math.isfinite(value) else None
        elif isinstance(value, Sequence) and not isinstance(value, str):
            value = list(value)
        out[key] = value
    return out


Scope = Literal["device", "household", "building", "site", "person"]
D = TypeVar("D", bound=Detector)
S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class RegistryView:
    """What rules see of the registry (and of each other's live detectors), rebuilt by the
    engine each time the registry changes.

    ``detector_of(rule, device)`` is the live detector of the rule named ``rule`` for
    ``device`` (made when missing), or None where that rule does not apply to it.
    ``building_devices`` is keyed by ``site/building`` (see :meth:`building_group`).
    ``fall_classifier`` is the fall detectors' trained model, None where they use rules.
    """

    registry: Registry
    config: DetectorConfig
    households: Mapping[str, HouseholdScope]
    site_devices: Mapping[str, Sequence[Device]]
    household_devices: Mapping[str, Sequence[Device]]
    building_devices: Mapping[str, Sequence[Device]]
    detector_of: Callable[[str, Device], Detector | None]
    shared: MutableMapping[tuple[str, type], Any]
    fall_classifier: FallClassifier | None = None

    @classmethod
    def build(
        cls, registry: Registry, config: DetectorConfig,
        detector_of: Callable[[str, Device], Detector | None],
        shared: MutableMapping[tuple[str, type], Any],
        fall_classifier: FallClassifier | None = None,
    ) -> RegistryView:
        households = {
            h.id: HouseholdScope.from_registry(h, registry) for h in registry.households.values()
        }
        site_devices: dict[str, list[Device]] = {}
        building_devices: dict[str, list[Device]] = {}
        for device in registry.devices.values():
            site_devices.setdefault(device.site, []).append(device)
            building = _building_group(device, households)
            if building is not None:
                building_devices.setdefault(building, []).append(device)
        # The registry's own index of devices by household, not a copy (50 bytes a device).
        return cls(registry, config, households, site_devices, registry.devices_by_household,
                   building_devices, detector_of, shared, fall_classifier)

    def front_doors(self, household: str) -> frozenset[str]:
        """Device ids of the household's doors to the outside (asked for the few homes
        watched for night wandering, not kept for every household)."""
        rooms = self.config.night_wandering.front_door_rooms
        return frozenset(
            d.device_id for d in self.household_devices.get(household, ())
            if d.kind == "door" and (d.room is None or d.room in rooms))

    def site_state(self, site: str, kind: type[S]) -> S:
        """The one ``kind()`` object that the detectors of ``site`` share (its community
        priors, say); the engine keeps it across registry changes."""
        state = self.shared.get((site, kind))
        if state is None:
            state = self.shared[(site, kind)] = kind()
        return state

    def household_of(self, device: Device) -> HouseholdScope | None:
        return self.households.get(device.household) if device.household is not None else None

    def building_group(self, device: Device) -> str | None:
        """The building a device is in, its own else its household's, as ``site/building``
        (a building's name is unique within its site); None when neither says."""
        return _building_group(device, self.households)

    def still_placed(self, device_id: str, household: str | None) -> bool:
        """True when ``device_id`` is still registered, in ``household``."""
        device = self.registry.device(device_id)
        return device is not None and device.household == household


def _building_group(device: Device, households: Mapping[str, HouseholdScope]) -> str | None:
    home = households.get(device.household) if device.household is not None else None
    building = device.building or (home.building if home is not None else None)
    return f"{device.site}/{building}" if building else None


class _OfHousehold(Protocol):
    household: HouseholdScope


def _every_home(home: HouseholdScope) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class WatchedHomes:
    """Which households a household rule watches (those for which ``watched`` holds): its
    ``scope_of`` and, for its detectors, a ``rebind`` that points one at its household in the
    new view, or drops it where the household is gone or no longer watched."""

    watched: Callable[[HouseholdScope], bool] = _every_home

    def scope_of(self, device: Device, view: RegistryView) -> str | None:
        home = view.household_of(device)
        return home.id if home is not None and self.watched(home) else None

    def rebind(self, detector: _OfHousehold, view: RegistryView) -> bool:
        home = view.households.get(detector.household.id)
        if home is None or not self.watched(home):
            return False
        detector.household = home
        return True


def _keep(detector: Detector, view: RegistryView) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Rule(Generic[D]):
    """A detector rule declared as data: the engine routes, builds and rebinds by it.

    Parameters
    ----------
    name
        The rule's name, first part of its detectors' keys (see ``RULES`` for their order).
    scope
        What one detector of the rule watches: a device, household, building, site or person.
    kinds
        Device kinds whose messages go to the rule; None for every kind.
    scope_of
        The scope id of a device's detector (e.g. its household), or None where the rule
        does not apply to the device.
    build
        Makes the detector of scope id for a device from the registry view.
    rebind
        Points a live detector at a new registry view; False drops it.
    start
        For rules that watch silence: called on each registered device's detector when its
        site's event time starts, with that time.
    channels
        Channels whose messages go to the rule; None for every channel. The engine routes
        the others around its detectors, and makes a detector at the first message it
        uses: a device that only ever sent its status costs the rule nothing.
    """

    name: str
    scope: Scope
    kinds: frozenset[str] | None
    scope_of: Callable[[Device, RegistryView], str | None]
    build: Callable[[str, Device, RegistryView], D]
    rebind: Callable[[D, RegistryView], bool] = _keep
    start: Callable[[D, int], None] | None = None
    channels: frozenset[str] | None = None
