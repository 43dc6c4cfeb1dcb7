"""Device health: ``device_offline``, ``site_offline``, ``battery_low`` and ``tamper``.

A device is offline when its MQTT last will says so (``{"online": false}`` on ``status``) or
when nothing is heard from it for longer than the heartbeat budget of its kind. When a
whole site, or the gateway of a household (all the household's devices), goes silent, one
alert is raised for the group and its devices' own silence is not reported on top of it:

- a group (a site, a household's devices) with enough devices raises its alert when nothing
  at all has been heard from any of them for its silence time;
- a device whose budget runs out while its group's alert is open is covered by it, and is
  looked at again a budget after the group is heard from again;
- a device whose budget runs out while its group has been quiet for at least half the
  group's silence time waits until the group's own deadline, so that a dying gateway gives
  one alert and not first one per device.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from safehood.protocol import (
    AlertDecision,
    AlertType,
    DecisionAction,
    Device,
    Message,
    Severity,
)

from .base import Decisions, Detector, RegistryView, Rule, decision
from .config import DeviceHealthConfig
from .const import (
    MS_PER_S,
    RULE_BATTERY,
    RULE_DEVICE_HEALTH,
    RULE_GATEWAY_HEALTH,
    RULE_SITE_HEALTH,
    RULE_TAMPER,
)

DEVICE_OFFLINE_SEVERITY = Severity.MINOR
SITE_OFFLINE_SEVERITY = Severity.MODERATE
BATTERY_LOW_SEVERITY = Severity.MINOR
TAMPER_SEVERITY = Severity.MINOR


def is_last_will(message: Message) -> bool:
    """True for a status message saying the device went offline."""
    return message.channel == "status" and message.online is False


class GroupHealthDetector(Detector):
    """Silence of a whole group of devices: a site, or the devices behind a household gateway.

    Raises ``site_offline`` (Moderate, subject the site) for a site, and ``device_offline``
    (Minor, subject the household, ``evidence.scope == "gateway"``) for a household, when
    nothing has been heard from any device of the group for ``silence_s``; clears when one
    is heard again. A last will is not a sign of the group being alive. Groups smaller than
    ``min_devices`` are never reported as a whole.
    """

    def __init__(
        self,
        subject: str,
        *,
        site: str,
        household: str | None,
        scope: str,
        silence_s: float,
        size: int,
        min_devices: int,
        parent: GroupHealthDetector | None = None,
    ) -> None:
        self.subject = subject
        self.parent = parent
        self.site = site
        self.household = household
        self.scope = scope
        self.silence_ms = int(silence_s * MS_PER_S)
        self.size = size
        self.min_devices = min_devices
        self.last_seen_ms: int | None = None
        self.offline = False
        self.covered = False  # silent, but inside a parent group whose alert says so
        self.returned_ms: int | None = None
        self._check_ms: int | None = None

    @property
    def reportable(self) -> bool:
        return self.size >= self.min_devices

    @property
    def down(self) -> bool:
        """True while the group is known to be silent (reported, or covered by its parent)."""
        return self.offline or self.covered

    @property
    def deadline_ms(self) -> int | None:
        if self.offline or not self.reportable or self.last_seen_ms is None:
            return None
        if self.covered:
            return self._check_ms
        # Silence counts from when the group could have been heard again: after its parent
        # came back. (That only ever moves the deadline later; the engine's earlier timer
        # then just finds nothing due and asks again.)
        since = self.last_seen_ms
        if self.parent is not None and self.parent.returned_ms is not None:
            since = max(since, self.parent.returned_ms)
        return since + self.silence_ms

    def start(self, now_ms: int) -> None:
        """Count the group as heard at ``now_ms`` when nothing was heard from it before."""
        if self.last_seen_ms is None:
            self.last_seen_ms = now_ms

    def quiet(self, now_ms: int) -> bool:
        """True when the group has been quiet for at least half its silence time."""
        return (
            self.reportable
            and self.last_seen_ms is not None
            and now_ms - self.last_seen_ms >= self.silence_ms // 2
        )

    def process_one(self, message: Message) -> Decisions:
        if is_last_will(message):
            return []
        previous = self.last_seen_ms
        if previous is not None and message.ts_ms <= previous:
            return []
        self.last_seen_ms = message.ts_ms
        if self.covered:
            self.covered = False
            self.returned_ms = message.ts_ms
            return []
        if not self.offline:
            return []
        self.offline = False
        self.returned_ms = message.ts_ms
        evidence_since = previous
        return [self._decision(DecisionAction.CLEAR, message.ts_ms, message.device_id,
                               silent_since=evidence_since)]

    def advance(self, now_ms: int) -> Decisions:
        deadline = self.deadline_ms
        if deadline is None or now_ms < deadline:
            return []
        if self.parent is not None and self.parent.down:
            # The whole site is silent and already reported: look again a silence later.
            self.covered = True
            self._check_ms = deadline + self.silence_ms
            return []
        if self.covered:
            self.covered = False
            deadline = self.deadline_ms
            if deadline is None or now_ms < deadline:
                return []
        self.offline = True
        return [self._decision(DecisionAction.RAISE, deadline, None,
                               silent_since=self.last_seen_ms)]

    def _decision(
        self, action: DecisionAction, ts_ms: int, heard: str | None, *, silent_since: int | None
    ) -> AlertDecision:
        site_wide = self.scope == "site"
        evidence: dict[str, object] = {
            "scope": self.scope, "devices": self.size, "silent_since_ms": silent_since,
            "silence_s": self.silence_ms / MS_PER_S,
        }
        if heard is not None:
            evidence["heard_from"] = heard
        return decision(
            action,
            AlertType.SITE_OFFLINE if site_wide else AlertType.DEVICE_OFFLINE,
            SITE_OFFLINE_SEVERITY if site_wide else DEVICE_OFFLINE_SEVERITY,
            subject=self.subject, site=self.site, ts_ms=ts_ms, household=self.household,
            evidence=evidence,
        )


class _State(StrEnum):
    ONLINE = "online"
    WAITING = "waiting"  # budget ran out while a group is down or quiet
    OFFLINE = "offline"  # alert raised


class DeviceOfflineDetector(Detector):
    """``device_offline`` (Minor) for one device: last will at once, or silence past budget.

    Parameters
    ----------
    device_id, site, household, kind
        The device.
    groups
        The groups it belongs to (its household gateway, its site), innermost first.
    config
        :class:`~detectors.config.DeviceHealthConfig`.

    Examples
    --------
    >>> from safehood.protocol import Message, SmokeReading
    >>> from safehood.detectors.config import DeviceHealthConfig
    >>> config = DeviceHealthConfig(heartbeat_budget_s={"smoke": 600})
    >>> detector = DeviceOfflineDetector("d1", site="s1", household="h1", kind="smoke",
    ...                                  config=config)
    >>> beat = Message.from_reading(SmokeReading(ts=0, smoke=0.0), site="s1", device_id="d1")
    >>> detector.process_one(beat), detector.deadline_ms
    ([], 600000)
    >>> [(d.action.value, d.evidence["reason"]) for d in detector.advance(600_000)]
    [('raise', 'silent')]
    """

    def __init__(
        self,
        device_id: str,
        *,
        site: str,
        household: str | None,
        kind: str,
        groups: Sequence[GroupHealthDetector] = (),
        config: DeviceHealthConfig | None = None,
    ) -> None:
        self.device_id = device_id
        self.site = site
        self.household = household
        self.kind = kind
        self.groups = tuple(groups)
        self.config = config or DeviceHealthConfig()
        self.budget_ms = int(self.config.budget_s(kind) * MS_PER_S)
        self.last_seen_ms: int | None = None
        self.state = _State.ONLINE
        self._offline_since: int | None = None
        self._check_ms: int | None = None

    @property
    def deadline_ms(self) -> int | None:
        return None if self.state is _State.OFFLINE else self._check_ms

    def start(self, now_ms: int) -> None:
        """Start the budget at ``now_ms`` for a device not heard from yet."""
        if self.last_seen_ms is None and self.state is _State.ONLINE:
            self.last_seen_ms = now_ms
            self._check_ms = now_ms + self.budget_ms

    def process_one(self, message: Message) -> Decisions:
        if is_last_will(message):
            if self.last_seen_ms is not None and message.ts_ms < self.last_seen_ms:
                return []  # an old will, from before the device was heard again
            self.last_seen_ms = message.ts_ms
            if self.state is _State.OFFLINE:
                return []
            self._offline_since = message.ts_ms
            self.state = _State.OFFLINE
            self._check_ms = None
            if any(group.down for group in self.groups):
                # The group's alert already says it; keep quiet but remember the will.
                self.state = _State.WAITING
                self._check_ms = message.ts_ms + self.budget_ms
                return []
            return [self._decision(DecisionAction.RAISE, message.ts_ms, "last_will")]
        if self.last_seen_ms is not None and message.ts_ms <= self.last_seen_ms:
            return []
        self.last_seen_ms = message.ts_ms
        self._check_ms = message.ts_ms + self.budget_ms
        was = self.state
        self.state = _State.ONLINE
        if was is not _State.OFFLINE:
            return []
        return [self._decision(DecisionAction.CLEAR, message.ts_ms, "back_online")]

    def advance(self, now_ms: int) -> Decisions:
        check = self.deadline_ms
        if check is None or now_ms < check:
            return []
        if any(group.down for group in self.groups):
            self.state = _State.WAITING
            self._check_ms = check + self.budget_ms
            return []
        for group in self.groups:
            group_deadline = group.deadline_ms
            if group.quiet(check) and group_deadline is not None and group_deadline > check:
                self.state = _State.WAITING
                self._check_ms = group_deadline
                return []
        # Silence only counts from when the device could have been heard: after its group
        # came back, the device gets a full budget to show up.
        seen = self.last_seen_ms if self.last_seen_ms is not None else check
        since = max([seen] + [g.returned_ms for g in self.groups if g.returned_ms is not None])
        if check < since + self.budget_ms:
            self._check_ms = since + self.budget_ms
            return []
        self.state = _State.OFFLINE
        self._offline_since = since
        return [self._decision(DecisionAction.RAISE, check, "silent")]

    def _decision(self, action: DecisionAction, ts_ms: int, reason: str) -> AlertDecision:
        evidence: dict[str, object] = {"reason": reason, "kind": self.kind,
                                       "last_seen_ms": self.last_seen_ms}
        if reason == "silent":
            evidence["budget_s"] = self.budget_ms / MS_PER_S
        return decision(
            action, AlertType.DEVICE_OFFLINE, DEVICE_OFFLINE_SEVERITY, subject=self.device_id,
            site=self.site, ts_ms=ts_ms, household=self.household, device_id=self.device_id,
            evidence=evidence,
        )


class BatteryDetector(Detector):
    """``battery_low`` (Minor) below ``battery_low_pct``; clears at or above ``battery_ok_pct``.

    Examples
    --------
    >>> from safehood.protocol import Message, StatusReading
    >>> detector = BatteryDetector("d1", site="s1", household=None)
    >>> low = Message.from_reading(StatusReading(ts=0, online=True, battery=12.0), site="s1",
    ...                            device_id="d1")
    >>> [(d.action.value, d.evidence["battery"]) for d in detector.process_one(low)]
    [('raise', 12.0)]
    """

    def __init__(
        self, device_id: str, *, site: str, household: str | None,
        config: DeviceHealthConfig | None = None,
    ) -> None:
        self.device_id = device_id
        self.site = site
        self.household = household
        self.config = config or DeviceHealthConfig()
        self.low = False
        self._last_ms: int | None = None

    def process_one(self, message: Message) -> Decisions:
        battery = message.battery
        if battery is None or (self._last_ms is not None and message.ts_ms < self._last_ms):
            return []
        self._last_ms = message.ts_ms
        if not self.low and battery < self.config.battery_low_pct:
            self.low = True
            action = DecisionAction.RAISE
        elif self.low and battery >= self.config.battery_ok_pct:
            self.low = False
            action = DecisionAction.CLEAR
        else:
            return []
        return [decision(
            action, AlertType.BATTERY_LOW, BATTERY_LOW_SEVERITY, subject=self.device_id,
            site=self.site, ts_ms=message.ts_ms, household=self.household,
            device_id=self.device_id, evidence={"battery": battery, "kind": message.kind},
        )]


class TamperDetector(Detector):
    """``tamper`` (Minor) on a device's ``tamper`` event; someone has to check the device."""

    def __init__(self, device_id: str, *, site: str, household: str | None) -> None:
        self.device_id = device_id
        self.site = site
        self.household = household

    def process_one(self, message: Message) -> Decisions:
        if message.channel != "event" or message.event != "tamper":
            return []
        return [decision(
            DecisionAction.RAISE, AlertType.TAMPER, TAMPER_SEVERITY, subject=self.device_id,
            site=self.site, ts_ms=message.ts_ms, household=self.household,
            device_id=self.device_id, evidence={"kind": message.kind, "room": message.room},
        )]


# -- rules ------------------------------------------------------------------------------


def _site_health(site: str, device: Device, view: RegistryView) -> GroupHealthDetector:
    config = view.config.device_health
    return GroupHealthDetector(
        site, site=site, household=None, scope="site", silence_s=config.site_silence_s,
        size=len(view.site_devices.get(site, ())), min_devices=config.group_min_devices,
    )


def _rebind_site_health(detector: GroupHealthDetector, view: RegistryView) -> bool:
    detector.size = len(view.site_devices.get(detector.subject, ()))
    return detector.size > 0


def _gateway_health(household: str, device: Device, view: RegistryView) -> GroupHealthDetector:
    config = view.config.device_health
    parent = view.detector_of(RULE_SITE_HEALTH, device)
    return GroupHealthDetector(
        household, site=device.site, household=household, scope="gateway",
        silence_s=config.gateway_silence_s, size=len(view.household_devices.get(household, ())),
        min_devices=config.group_min_devices,
        parent=parent if isinstance(parent, GroupHealthDetector) else None,
    )


def _rebind_gateway_health(detector: GroupHealthDetector, view: RegistryView) -> bool:
    detector.size = len(view.household_devices.get(detector.subject, ()))
    return detector.size > 0


def _device_health(device_id: str, device: Device, view: RegistryView) -> DeviceOfflineDetector:
    site = view.detector_of(RULE_SITE_HEALTH, device)
    gateway = view.detector_of(RULE_GATEWAY_HEALTH, device)
    return DeviceOfflineDetector(
        device_id, site=device.site, household=device.household, kind=device.kind,
        groups=[g for g in (gateway, site) if isinstance(g, GroupHealthDetector)],
        config=view.config.device_health,
    )


def _rebind_device(detector: DeviceOfflineDetector | BatteryDetector | TamperDetector,
                   view: RegistryView) -> bool:
    return view.still_placed(detector.device_id, detector.household)


def _device_scope(device: Device, view: RegistryView) -> str:
    return device.device_id


SITE_HEALTH_RULE = Rule(
    RULE_SITE_HEALTH, "site", None, lambda device, view: device.site, _site_health,
    rebind=_rebind_site_health, start=GroupHealthDetector.start,
)
GATEWAY_HEALTH_RULE = Rule(
    RULE_GATEWAY_HEALTH, "household", None, lambda device, view: device.household,
    _gateway_health, rebind=_rebind_gateway_health, start=GroupHealthDetector.start,
)
DEVICE_HEALTH_RULE = Rule(
    RULE_DEVICE_HEALTH, "device", None, _device_scope, _device_health,
    rebind=_rebind_device, start=DeviceOfflineDetector.start,
)
BATTERY_RULE = Rule(
    RULE_BATTERY, "device", None, _device_scope,
    lambda device_id, device, view: BatteryDetector(
        device_id, site=device.site, household=device.household,
        config=view.config.device_health),
    rebind=_rebind_device,
)
TAMPER_RULE = Rule(
    RULE_TAMPER, "device", None, _device_scope,
    lambda device_id, device, view: TamperDetector(
        device_id, site=device.site, household=device.household),
    rebind=_rebind_device,
)
