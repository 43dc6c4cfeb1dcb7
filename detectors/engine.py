"""The detector engine: routes each message to the detectors of its device, household and
site, keeps each site's event time, and fires detector timers as the watermark passes them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from safehood.protocol import AlertDecision, Device, DuplicateFilter, Message, Registry

from .base import Detector, HouseholdScope
from .clock import SiteClock, TimerQueue
from .config import DetectorConfig
from .const import (
    MS_PER_S,
    RULE_BATTERY,
    RULE_BUILDING_HEALTH,
    RULE_DEVICE_HEALTH,
    RULE_DOOR,
    RULE_FALL,
    RULE_GATEWAY_HEALTH,
    RULE_INACTIVITY,
    RULE_NIGHT_WANDERING,
    RULE_ORDER,
    RULE_SITE_HEALTH,
    RULE_SLOW_LEAK,
    RULE_SMOKE,
    RULE_SOS,
    RULE_TAMPER,
    RULE_WATER_LEAK,
)
from .device_health import (
    BatteryDetector,
    DeviceOfflineDetector,
    GroupHealthDetector,
    TamperDetector,
)
from .door import DoorDetector
from .fall import FallDetector
from .inactivity import InactivityDetector
from .night_wandering import NightWanderingDetector
from .smoke import SmokeDetector
from .sos import SosDetector
from .water import LeakDetector, SlowLeakDetector

Key = tuple[int, str]
"""A detector's key: (its rule's place in RULE_ORDER, its scope id)."""

_RULE_INDEX = {rule: index for index, rule in enumerate(RULE_ORDER)}


def _key(rule: str, scope: str) -> Key:
    return (_RULE_INDEX[rule], scope)


@dataclass(slots=True)
class EngineStats:
    """Counters of what the engine has seen, for progress lines and metrics."""

    messages: int = 0
    duplicates: int = 0
    late: int = 0
    decisions: Counter[str] = field(default_factory=Counter)


class DetectorEngine:
    """Every detector of a community, fed one enriched message at a time, in event time.

    Parameters
    ----------
    registry
        Households, residents and devices; messages are expected to have gone through
        ``registry.enrich`` (household, room and resident filled in).
    config
        Thresholds; :class:`DetectorConfig` defaults when None.

    Notes
    -----
    Each site has its own event time: its watermark is the newest event time seen at the site
    (or passed to :meth:`advance`) minus the allowed lateness. Before a message is taken,
    the timers of its site that the new watermark passes fire, earliest first, and so do the
    timers of the detectors it goes to that fall due at or before its own time; a decision of
    a timer carries its deadline as ``ts_ms``. So a recording gives the same decisions fed at
    once, replayed live, or advanced by wall-clock ticks in between. Repeated deliveries
    (same device, channel, ``seq``, ``ts`` and event) are dropped; messages older than the
    watermark are still taken (each detector decides what a stale reading may change), and
    nothing in a message's timing can make the engine raise.

    Not thread safe: one thread feeds it.

    Examples
    --------
    >>> from safehood.protocol import Registry, parse_message
    >>> registry = Registry.from_data({
    ...     "households": [{"id": "h1", "site": "s1", "lives_alone": True}],
    ...     "residents": [{"id": "r1", "household": "h1", "name": "Wang Fang", "elderly": True}],
    ...     "devices": [{"device_id": "h1-button", "site": "s1", "kind": "button",
    ...                  "household": "h1", "resident": "r1"}]})
    >>> engine = DetectorEngine(registry)
    >>> message = parse_message("safehood/v1/s1/h1-button/event",
    ...     b'{"ts": 1700000000000, "kind": "button", "event": "sos", "seq": 1}', 0, registry)
    >>> [(d.action.value, d.type.value, d.subject) for d in engine.process_one(message)]
    [('raise', 'sos', 'r1')]
    >>> engine.process_one(message)  # the same message delivered twice
    []
    """

    def __init__(self, registry: Registry, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.stats = EngineStats()
        self._lateness_ms = int(self.config.time.allowed_lateness_s * MS_PER_S)
        self._clocks: dict[str, SiteClock] = {}
        self._timers: dict[str, TimerQueue[Key]] = {}
        self._detectors: dict[Key, Detector] = {}
        self._sites_of: dict[Key, str] = {}
        self._dedup = DuplicateFilter(self.config.time.dedup_window)
        self.registry = registry
        self._households: dict[str, HouseholdScope] = {}
        self._site_devices: dict[str, list[Device]] = {}
        self._household_devices: dict[str, list[Device]] = {}
        self._building_devices: dict[str, list[Device]] = {}
        self._front_doors: dict[str, frozenset[str]] = {}
        self.update_registry(registry)

    # -- registry ---------------------------------------------------------------------

    def update_registry(self, registry: Registry) -> None:
        """Use a new registry from now on; learned state of what is still there is kept.

        Detectors of devices and households that are gone are dropped with their timers.
        """
        self.registry = registry
        self._route_cache: dict[str, list[tuple[Key, Callable[[], Detector]]]] = {}
        self._households = {
            h.id: HouseholdScope.from_registry(h, registry) for h in registry.households.values()
        }
        self._site_devices = {}
        self._household_devices = {}
        self._building_devices = {}
        for device in registry.devices.values():
            self._site_devices.setdefault(device.site, []).append(device)
            building = self._building_of(device)
            if building is not None:
                self._building_devices.setdefault(building, []).append(device)
            if device.household is not None:
                self._household_devices.setdefault(device.household, []).append(device)
        rooms = set(self.config.night_wandering.front_door_rooms)
        self._front_doors = {
            household: frozenset(
                d.device_id for d in devices
                if d.kind == "door" and (d.room is None or d.room in rooms)
            )
            for household, devices in self._household_devices.items()
        }
        for key in list(self._detectors):
            self._rebind(key)
        for site, clock in self._clocks.items():
            if clock.latest_ms is not None:
                self._start_site(site, clock.latest_ms)

    def _rebind(self, key: Key) -> None:
        """Point a live detector at the new registry's view of its scope, or drop it."""
        detector = self._detectors[key]
        site = self._sites_of[key]
        keep = True
        if isinstance(detector, InactivityDetector | NightWanderingDetector):
            scope = self._households.get(detector.household.id)
            keep = scope is not None and (
                scope.watch_inactivity if isinstance(detector, InactivityDetector)
                else bool(scope.at_risk_residents)
            )
            if scope is not None and keep:
                detector.household = scope
                if isinstance(detector, NightWanderingDetector):
                    detector.front_doors = self._front_doors.get(scope.id, frozenset())
        elif isinstance(detector, GroupHealthDetector):
            members = {
                "site": self._site_devices, "building": self._building_devices,
                "gateway": self._household_devices,
            }[detector.scope].get(detector.group_id, [])
            detector.size = len(members)
            keep = bool(members)
        elif isinstance(
            detector, DeviceOfflineDetector | BatteryDetector | TamperDetector | DoorDetector
            | LeakDetector | SlowLeakDetector
        ):
            device = self.registry.device(detector.device_id)
            keep = device is not None and device.household == detector.household
        if not keep:
            del self._detectors[key]
            del self._sites_of[key]
            self._timers[site].schedule(key, None)

    # -- feeding ----------------------------------------------------------------------

    def process_one(self, message: Message) -> list[AlertDecision]:
        """Take one validated, enriched message; return the decisions it leads to.

        First the timers of the message's site that its event time makes due fire, then the
        message goes to the detectors of its device, household and site.
        """
        if self._dedup.is_duplicate(message):
            self.stats.duplicates += 1
            return []
        self.stats.messages += 1
        clock = self._clock(message.site)
        if message.ts_from_receipt and clock.latest_ms is not None:
            # A last will carries no time of its own: it happened "now" in the site's time,
            # whatever the receiving machine's clock says.
            message = dataclasses.replace(message, ts_ms=clock.latest_ms)
        out: list[AlertDecision] = []
        if clock.latest_ms is None:
            clock.observe(message.ts_ms)
            self._start_site(message.site, message.ts_ms)
        else:
            if clock.is_late(message.ts_ms):
                self.stats.late += 1
            clock.observe(message.ts_ms)
            out += self._fire(message.site)
        for key, make in self._routes_of(message):
            detector = self._detector(key, message.site, make)
            deadline = detector.deadline_ms
            if deadline is not None and deadline <= message.ts_ms:
                # The message is past this detector's deadline: what it asked to be woken for
                # happened before the message, even though the watermark (which trails by the
                # allowed lateness) has not got there yet. A door shut 5 s after it had been
                # open for too long still was open for too long.
                out += detector.advance(message.ts_ms)
            out += detector.process_one(message)
            self._schedule(message.site, key, detector)
        self._count(out)
        return out

    def learn_one(self, message: Message) -> None:
        """Learn from a message of the past (e.g. history from the store at start-up).

        Detectors update what they learn (inactivity's usual quiet times) without deciding
        anything; no timer fires.
        """
        clock = self._clock(message.site)
        if clock.latest_ms is None:
            clock.observe(message.ts_ms)
            self._start_site(message.site, message.ts_ms)
        clock.observe(message.ts_ms)
        for key, make in self._routes_of(message):
            detector = self._detector(key, message.site, make)
            detector.learn_one(message)
            self._schedule(message.site, key, detector)

    def advance(self, now_ms: int, site: str | None = None) -> list[AlertDecision]:
        """Move event time of ``site`` (all sites when None) on to ``now_ms``; fire timers.

        The watermark becomes ``now_ms`` minus the allowed lateness. In live mode call it with
        the wall clock about once a second, so that a site that has gone silent still gets
        its timers; at the end of an offline run call it with the last event time plus the
        allowed lateness, so that every timer up to the end of the recording fires.
        """
        sites = [site] if site is not None else sorted(set(self._clocks) | set(self._site_devices))
        out: list[AlertDecision] = []
        for name in sites:
            clock = self._clock(name)
            if clock.latest_ms is None:
                clock.observe(now_ms)
                self._start_site(name, now_ms)
            clock.advance_to(now_ms)
            out += self._fire(name)
        self._count(out)
        return out

    @property
    def allowed_lateness_ms(self) -> int:
        """How far each site's watermark trails its newest event time."""
        return self._lateness_ms

    def watermark_ms(self, site: str) -> int | None:
        """The current watermark of ``site``, or None before anything was seen there."""
        clock = self._clocks.get(site)
        return None if clock is None else clock.watermark_ms

    @property
    def detectors(self) -> int:
        """How many detector instances are live."""
        return len(self._detectors)

    # -- internals --------------------------------------------------------------------

    def _count(self, decisions: Iterable[AlertDecision]) -> None:
        for item in decisions:
            self.stats.decisions[f"{item.type.value}:{item.action.value}"] += 1

    def _clock(self, site: str) -> SiteClock:
        clock = self._clocks.get(site)
        if clock is None:
            clock = self._clocks[site] = SiteClock(self._lateness_ms)
            self._timers[site] = TimerQueue()
        return clock

    def _fire(self, site: str) -> list[AlertDecision]:
        watermark = self._clocks[site].watermark_ms
        if watermark is None:
            return []
        out: list[AlertDecision] = []
        timers = self._timers[site]
        for deadline, key in timers.pop_due(watermark):
            detector = self._detectors.get(key)
            if detector is None:
                continue
            out += detector.advance(deadline)
            self._schedule(site, key, detector)
        return out

    def _schedule(self, site: str, key: Key, detector: Detector) -> None:
        self._timers[site].schedule(key, detector.deadline_ms)

    def _detector(self, key: Key, site: str, make: Callable[[], Detector]) -> Detector:
        detector = self._detectors.get(key)
        if detector is None:
            detector = self._detectors[key] = make()
            self._sites_of[key] = site
        return detector

    def _start_site(self, site: str, now_ms: int) -> None:
        """Start the silence budgets of a site's registered devices at ``now_ms``."""
        for device in self._site_devices.get(site, []):
            for key, make in self._health_routes(device):
                detector = self._detector(key, site, make)
                if isinstance(detector, DeviceOfflineDetector | GroupHealthDetector):
                    detector.start(now_ms)
                self._schedule(site, key, detector)

    def _building_of(self, device: Device) -> str | None:
        """The building group of a device: ``site/building``, or None when not in one."""
        household = self.registry.households.get(device.household or "")
        building = device.building or (household.building if household is not None else None)
        return f"{device.site}/{building}" if building else None

    def _health_routes(self, device: Device) -> list[tuple[Key, Callable[[], Detector]]]:
        """Site, building, gateway and device health routes, outermost first; each group's
        parent is the one before it."""
        config = self.config.device_health
        site, household = device.site, device.household
        building = self._building_of(device)
        # (key, scope, subject of its alerts, group id, silence, members)
        groups: list[tuple[Key, str, str, str, float, list[Device]]] = [
            (_key(RULE_SITE_HEALTH, site), "site", site, site, config.site_silence_s,
             self._site_devices.get(site, []))]
        if building is not None:
            groups.append((_key(RULE_BUILDING_HEALTH, building), "building",
                           building.removeprefix(f"{site}/"), building,
                           config.building_silence_s, self._building_devices.get(building, [])))
        if household is not None:
            groups.append((_key(RULE_GATEWAY_HEALTH, household), "gateway", household, household,
                           config.gateway_silence_s, self._household_devices.get(household, [])))
        routes: list[tuple[Key, Callable[[], Detector]]] = []
        for key, scope, subject, group_id, silence_s, members in groups:
            parent_route = routes[-1] if routes else None

            def group(scope: str = scope, subject: str = subject, group_id: str = group_id,
                      silence_s: float = silence_s, members: list[Device] = members,
                      parent_route: tuple[Key, Callable[[], Detector]] | None = parent_route,
                      ) -> Detector:
                parent = (self._detector(parent_route[0], site, parent_route[1])
                          if parent_route is not None else None)
                return GroupHealthDetector(
                    subject, group_id=group_id, site=site,
                    household=household if scope == "gateway" else None, scope=scope,
                    silence_s=silence_s, pending_s=config.pending_s, size=len(members),
                    min_devices=config.group_min_devices,
                    parent=parent if isinstance(parent, GroupHealthDetector) else None,
                )

            routes.append((key, group))
        innermost = routes[-1]

        def offline() -> Detector:
            group = self._detector(innermost[0], site, innermost[1])
            return DeviceOfflineDetector(
                device.device_id, site=site, household=household, kind=device.kind,
                group=group if isinstance(group, GroupHealthDetector) else None, config=config,
            )

        routes.append((_key(RULE_DEVICE_HEALTH, device.device_id), offline))
        return routes

    def _routes_of(self, message: Message) -> list[tuple[Key, Callable[[], Detector]]]:
        """The routes of the message's device, worked out once per device and registry."""
        routes = self._route_cache.get(message.device_id)
        if routes is None or message.device_id not in self.registry.devices:
            routes = self._routes(message)
            if message.device_id in self.registry.devices:
                self._route_cache[message.device_id] = routes
        return routes

    def _routes(self, message: Message) -> list[tuple[Key, Callable[[], Detector]]]:
        """The detectors a message goes to, in a fixed order, with how to make each."""
        device = self.registry.device(message.device_id) or Device(
            message.device_id, message.site, message.kind or "unknown", message.household,
            message.room, message.resident,
        )
        config = self.config
        site, household, kind = message.site, device.household, device.kind
        scope = self._households.get(household) if household is not None else None
        device_id = device.device_id
        routes = self._health_routes(device)
        routes.append((_key(RULE_BATTERY, device_id), lambda: BatteryDetector(
            device_id, site=site, household=household, config=config.device_health)))
        routes.append((_key(RULE_TAMPER, device_id), lambda: TamperDetector(
            device_id, site=site, household=household)))
        if kind == "smoke":
            building = device.building or (scope.building if scope is not None else None)
            smoke_scope = (f"building:{building}" if building else
                           f"household:{household}" if household else f"device:{device_id}")
            routes.append((_key(RULE_SMOKE, smoke_scope), lambda: SmokeDetector(
                smoke_scope, site=site, config=config.smoke)))
        if kind in ("button", "wearable"):
            person = device.resident or device_id
            routes.append((_key(RULE_SOS, person), lambda: SosDetector(
                person, site=site, household=household, config=config.sos)))
        if kind == "wearable":
            person = device.resident or device_id
            routes.append((_key(RULE_FALL, person), lambda: FallDetector(
                person, site=site, household=household, config=config.fall)))
        if kind == "water":
            routes.append((_key(RULE_WATER_LEAK, device_id), lambda: LeakDetector(
                device_id, site=site, household=household)))
            routes.append((_key(RULE_SLOW_LEAK, device_id), lambda: SlowLeakDetector(
                device_id, site=site, household=household, config=config.water)))
        if kind == "door":
            is_night = scope.is_night if scope is not None else None
            routes.append((_key(RULE_DOOR, device_id), lambda: DoorDetector(
                device_id, site=site, household=household, is_night=is_night,
                config=config.door)))
        if scope is not None:
            home = scope
            if kind in NightWanderingDetector.kinds and home.at_risk_residents:
                routes.append((_key(RULE_NIGHT_WANDERING, home.id), lambda: NightWanderingDetector(
                    home, self._front_doors.get(home.id, frozenset()),
                    config=config.night_wandering, door_config=config.door,
                    smoke_alarm_level=config.smoke.alarm_obscuration)))
            if kind in InactivityDetector.kinds and home.watch_inactivity:
                routes.append((_key(RULE_INACTIVITY, home.id), lambda: InactivityDetector(
                    home, config=config.inactivity, door_config=config.door)))
        return routes
