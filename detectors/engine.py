"""The detector engine: routes each message to the detectors of its device, household and
site, keeps each site's event time, and fires detector timers as the watermark passes them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from safehood.learning import FallClassifier
from safehood.protocol import AlertDecision, Device, DuplicateFilter, Message, Registry

from .base import Detector, RegistryView, Rule
from .clock import SiteClock, TimerQueue
from .config import DetectorConfig
from .const import MS_PER_S
from .rules import RULES

Key = tuple[int, str]
"""A detector's key: (its rule's place in the engine's rules, its scope id)."""


class _Unread:
    """The type of :data:`_UNREAD`: a deadline not read yet (None is a deadline's value)."""


_UNREAD = _Unread()


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
    rules
        The rules to run, in the order their timers fire when due at the same instant;
        :data:`detectors.rules.RULES` when None.
    fall_classifier
        The fall detectors' trained model when ``config.fall.method`` is ``learned``; when
        None it is read here, once, from ``config.fall.model`` (or the shipped model file),
        and a file that cannot be used raises :class:`safehood.learning.ModelError`.
    drop_duplicates
        Drop repeated deliveries (``config.time``'s window and retention of keys a
        device). False where something in front already does, as the live pipeline's
        ingest: one check a message, with one owner. A recording read offline has only the engine's.

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

    def __init__(
        self, registry: Registry, config: DetectorConfig | None = None,
        rules: Iterable[Rule[Any]] | None = None, fall_classifier: FallClassifier | None = None,
        *, drop_duplicates: bool = True,
    ) -> None:
        self.config = config or DetectorConfig()
        if self.config.fall.method == "rules":
            fall_classifier = None
        elif fall_classifier is None:
            fall_classifier = FallClassifier.load(self.config.fall.model)
        self.fall_classifier = fall_classifier
        self._rules = tuple(RULES if rules is None else rules)
        self._rule_index = {rule.name: index for index, rule in enumerate(self._rules)}
        self.stats = EngineStats()
        self._lateness_ms = int(self.config.time.allowed_lateness_s * MS_PER_S)
        self._clocks: dict[str, SiteClock] = {}
        self._timers: dict[str, TimerQueue[Key]] = {}
        self._detectors: dict[Key, Detector] = {}
        # One tuple object for each live detector's key, which its routes and timers all
        # hold: a key made anew for each route and deadline took ~150 bytes a device.
        self._keys: dict[Key, Key] = {}
        # Detectors with no timer that wait on another (see Detector.waiting_on), by the
        # id of the one they wait on: woken when it stops blocking, so that a long silence
        # costs nothing per waiting device, however far event time jumps.
        self._waiting: dict[int, tuple[Detector, dict[Key, str]]] = {}
        timing = self.config.time
        self._dedup = (DuplicateFilter(timing.dedup_window, retention_s=timing.dedup_retention_s)
                       if drop_duplicates else None)
        self.registry = registry
        # Objects a site's detectors share, such as its community priors; they outlive
        # registry changes.
        self._site_state: dict[tuple[str, type], Any] = {}
        self.update_registry(registry)

    # -- registry ---------------------------------------------------------------------

    def update_registry(self, registry: Registry) -> None:
        """Use a new registry from now on; learned state of what is still there is kept.

        Detectors of devices and households that are gone are dropped with their timers.
        """
        self.registry = registry
        # Per channel and registered device heard from on it, its detectors' keys and the
        # detectors themselves, flattened (key, detector, key, detector, ...): one small
        # tuple a device and channel. Detectors are dropped only here.
        self._route_cache: dict[str, dict[str, tuple[Key | Detector, ...]]] = {}
        self._view = RegistryView.build(registry, self.config, self._detector_of,
                                        self._site_state, self.fall_classifier)
        for key in list(self._detectors):
            if not self._rules[key[0]].rebind(self._detectors[key], self._view):
                del self._detectors[key]
                del self._keys[key]
                # Rare (a device or household left): each site's queue is asked.
                for timers in self._timers.values():
                    timers.schedule(key, None)
        # What they wait on may be gone: each asks again (those still blocked wait again).
        waiting, self._waiting = self._waiting, {}
        for _, keys in waiting.values():
            self._wake(keys)
        for site, clock in self._clocks.items():
            if clock.latest_ms is not None:
                self._start_site(site, clock.latest_ms)

    # -- feeding ----------------------------------------------------------------------

    def process_one(self, message: Message) -> list[AlertDecision]:
        """Take one validated, enriched message; return the decisions it leads to.

        First the timers of the message's site that its event time makes due fire, then the
        message goes to the detectors of its device, household and site.
        """
        dedup = self._dedup
        if dedup is not None and dedup.is_duplicate(message):
            self.stats.duplicates += 1
            return []
        self.stats.messages += 1
        clock = self._clock(message.site)
        if message.ts_from_receipt and clock.latest_ms is not None:
            # A last will carries no time of its own: it happened "now" in the site's time,
            # whatever the receiving machine's clock says.
            message = dataclasses.replace(message, ts_ms=clock.latest_ms)
        out: list[AlertDecision] = []
        site, ts_ms = message.site, message.ts_ms
        timers = self._timers[site]
        if clock.latest_ms is None:
            clock.observe(ts_ms)
            self._start_site(site, ts_ms)
        else:
            if clock.is_late(ts_ms):
                self.stats.late += 1
            clock.observe(ts_ms)
            out += self._fire(site)
        routes = iter(self._routes_of(message))
        key: Key
        detector: Detector
        for key, detector in zip(routes, routes, strict=True):  # type: ignore[assignment]
            deadline = detector.deadline_ms
            if deadline is not None and deadline <= ts_ms:
                # The message is past this detector's deadline: what it asked to be woken for
                # happened before the message, even though the watermark (which trails by the
                # allowed lateness) has not got there yet. A door shut 5 s after it had been
                # open for too long still was open for too long.
                out += detector.advance(ts_ms)
            made = detector.process_one(message)
            if made:
                out += made
            deadline = detector.deadline_ms
            if deadline is None or self._waiting:
                self._schedule(site, key, detector, deadline)
            else:
                # What _schedule comes to for a detector with a deadline while none waits:
                # inline, as it runs for every detector a message goes to.
                timers.schedule(key, deadline)
        if out:
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
        routes = iter(self._routes_of(message))
        key: Key
        detector: Detector
        for key, detector in zip(routes, routes, strict=True):  # type: ignore[assignment]
            detector.learn_one(message)
            self._schedule(message.site, key, detector)

    def advance(self, now_ms: int, site: str | None = None) -> list[AlertDecision]:
        """Move event time of ``site`` (all sites when None) on to ``now_ms``; fire timers.

        The watermark becomes ``now_ms`` minus the allowed lateness. In live mode call it with
        the wall clock about once a second, so that a site that has gone silent still gets
        its timers; at the end of an offline run call it with the last event time plus the
        allowed lateness, so that every timer up to the end of the recording fires.
        """
        sites = [site] if site is not None else sorted(set(self._clocks) | set(self._view.site_devices))
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
        timers = self._timers[site]
        earliest = timers.earliest_ms
        if watermark is None or earliest is None or earliest > watermark:
            return []  # what most messages find: nothing due
        out: list[AlertDecision] = []
        for deadline, key in timers.pop_due(watermark):
            detector = self._detectors.get(key)
            if detector is None:
                continue
            out += detector.advance(deadline)
            self._schedule(site, key, detector)
        return out

    def _schedule(self, site: str, key: Key, detector: Detector,
                  deadline: int | _Unread | None = _UNREAD) -> None:
        """Set the timer of ``key`` to the detector's deadline (``deadline``, where the caller
        has just read it) and keep track of the detectors waiting on others."""
        if isinstance(deadline, _Unread):
            deadline = detector.deadline_ms
        self._timers[site].schedule(key, deadline)
        if deadline is None:
            blocker = detector.waiting_on
            if blocker is not None:
                self._waiting.setdefault(id(blocker), (blocker, {}))[1][key] = site
        if self._waiting:
            waiting = self._waiting.get(id(detector))
            if waiting is not None and not detector.blocking:
                del self._waiting[id(detector)]
                self._wake(waiting[1])

    def _wake(self, keys: dict[Key, str]) -> None:
        """Read the deadlines of waiting detectors again (those still blocked wait again)."""
        for key, site in keys.items():
            detector = self._detectors.get(key)
            if detector is not None:
                self._schedule(site, key, detector)

    def _detector(self, key: Key, device: Device) -> Detector:
        """The live detector of ``key`` (a route of ``device``), made when missing."""
        detector = self._detectors.get(key)
        if detector is None:
            rule = self._rules[key[0]]
            detector = rule.build(key[1], device, self._view)
            # Built first: building a group's detector may make its parent's.
            self._detectors[key] = detector
            self._keys[key] = key
        return detector

    def _start_site(self, site: str, now_ms: int) -> None:
        """Start the silence budgets of a site's registered devices at ``now_ms``."""
        # The devices of a kind start with equal deadlines: one int object a value, which
        # the timers keep once the devices' own deadlines have moved on (32 bytes a device).
        deadlines: dict[int, int] = {}
        for device in self._view.site_devices.get(site, ()):
            for index, rule in enumerate(self._rules):
                if rule.start is None:
                    continue
                key = self._key(index, rule, device)
                if key is not None:
                    detector = self._detector(key, device)
                    key = self._keys[key]
                    rule.start(detector, now_ms)
                    deadline = detector.deadline_ms
                    if deadline is not None:
                        deadline = deadlines.setdefault(deadline, deadline)
                    self._schedule(site, key, detector, deadline)

    def _key(self, index: int, rule: Rule[Any], device: Device) -> Key | None:
        """The key of ``rule``'s detector for ``device``, or None where the rule does not
        apply to the device."""
        scope = rule.scope_of(device, self._view)
        return None if scope is None else (index, scope)

    def _detector_of(self, name: str, device: Device) -> Detector | None:
        """The live detector of the rule called ``name`` for ``device``, made when missing."""
        index = self._rule_index.get(name)
        key = None if index is None else self._key(index, self._rules[index], device)
        return None if key is None else self._detector(key, device)

    def _device_of(self, message: Message) -> Device:
        """The registered device of ``message``, or one made up from it (not cached)."""
        return self.registry.device(message.device_id) or Device(
            message.device_id, message.site, message.kind or "unknown", message.household,
            message.room, message.resident,
        )

    def _routes_of(self, message: Message) -> tuple[Key | Detector, ...]:
        """The keys of the detectors ``message`` goes to (by its device and channel), in
        rule order, each followed by its detector (made when missing); worked out once per
        registered device, channel and registry, and found by the device's id after that
        (no registry lookup a message)."""
        channel = message.channel
        by_device = self._route_cache.get(channel)
        if by_device is None:
            by_device = self._route_cache[channel] = {}
        routes = by_device.get(message.device_id)
        if routes is None:
            device = self._device_of(message)
            keys = [
                self._key(index, rule, device) for index, rule in enumerate(self._rules)
                if (rule.kinds is None or device.kind in rule.kinds)
                and (rule.channels is None or channel in rule.channels)
            ]
            parts: list[Key | Detector] = []
            for key in keys:
                if key is not None:
                    detector = self._detector(key, device)
                    parts += (self._keys[key], detector)
            routes = tuple(parts)
            if self.registry.devices.get(device.device_id) is device:
                by_device[device.device_id] = routes
        return routes
