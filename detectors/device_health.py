"""Device health: ``device_offline``, ``site_offline``, ``battery_low`` and ``tamper``.

A device is offline when its MQTT last will says so (``{"online": false}`` on ``status``) or
when it has been silent for several of its own reporting intervals. Each device's interval
is learned online, in event time, as a high time-weighted quantile of the gaps between its
messages (:class:`ReportingCadence`); until enough has been seen, the budget of its kind
applies. Like a Prometheus rule with ``for:``, the condition must then hold for a pending
period before the alert fires, and only silence strictly longer than that fires, so that no
alert is raised and cleared at the same instant.

When a whole site, a building, or the gateway of a household (all the household's devices)
goes silent, one alert is raised for the group and the silence of what it holds is not
reported on top of it:

- a group with enough devices raises its alert when nothing at all has been heard from any
  of them for its silence time (plus the pending period);
- a device or group whose time runs out while an enclosing group's alert is open is covered
  by it, and is looked at again after the group is heard from again (it waits without a
  timer, so a jump of event time costs only the timers that fire, not one retry per device
  per silence time);
- a device or group whose time runs out while an enclosing group has been quiet for at least
  half that group's silence time waits until the group's own deadline, so that a dying
  gateway gives one alert and not first one per device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from safehood.protocol import (
    AlertDecision,
    AlertType,
    DecisionAction,
    Device,
    Message,
    Severity,
)

from .base import (
    Decisions,
    Detector,
    DeviceDetector,
    RegistryView,
    Rule,
    rebind_device,
    tidy_evidence,
)
from .config import DeviceHealthConfig
from .const import (
    MS_PER_S,
    RULE_BUILDING_HEALTH,
    RULE_DEVICE_HEALTH,
    RULE_GATEWAY_HEALTH,
    RULE_SITE_HEALTH,
)

DEVICE_OFFLINE_SEVERITY = Severity.MINOR
SITE_OFFLINE_SEVERITY = Severity.MODERATE
BATTERY_LOW_SEVERITY = Severity.MINOR
TAMPER_SEVERITY = Severity.MINOR


def is_last_will(message: Message) -> bool:
    """True for a status message saying the device went offline."""
    return message.channel == "status" and message.online is False


@dataclass(frozen=True, slots=True)
class CadenceSettings:
    """How :class:`ReportingCadence` learns, shared by every device of an engine (one copy
    per device would be five more slots and two floats each)."""

    quantile: float
    tail_quantile: float
    half_life_ms: float
    min_gaps: int
    min_span_ms: float

    @classmethod
    def of(cls, *, quantile: float, half_life_s: float, min_gaps: int, min_span_s: float,
           tail_quantile: float = 1.0) -> CadenceSettings:
        return cls(quantile, max(quantile, tail_quantile), half_life_s * MS_PER_S, min_gaps,
                   min_span_s * MS_PER_S)

    @classmethod
    def from_config(cls, config: DeviceHealthConfig) -> CadenceSettings:
        return cls.of(quantile=config.period_quantile, half_life_s=config.cadence_half_life_s,
                      min_gaps=config.cadence_min_gaps, min_span_s=config.cadence_min_span_s,
                      tail_quantile=config.tail_quantile)


class ReportingCadence:
    """A device's reporting interval, learned online from the event times of its messages.

    Each gap between two messages is counted with a weight equal to its length, in
    log-spaced bins (``BINS_PER_OCTAVE`` a doubling, from 1 s), and older gaps fade with a
    half-life. The interval is the ``quantile`` of that time-weighted distribution: the gap
    length that most of the device's time is spent in. A chatty burst of events adds little
    time and so does not shorten it; a lost message now and then lengthens it a little. It
    is known once ``min_gaps`` gaps covering at least ``min_span_s`` have been seen (see
    :class:`CadenceSettings`).

    Examples
    --------
    >>> cadence = ReportingCadence(CadenceSettings.of(
    ...     quantile=0.9, half_life_s=7 * 86400, min_gaps=4, min_span_s=3600))
    >>> for minute in range(0, 6 * 30, 30):
    ...     cadence.learn_one(minute * 60_000)
    >>> round(cadence.period_ms / 60_000)  # 30 min, rounded up to its bin's edge
    34
    """

    # Slots: one of each per registered device (see the README's memory figures).
    __slots__ = (
        '_origin_ms', '_period_bin', '_since_update', '_weights', 'gaps', 'last_ms',
        'longest_ms', 'period_ms', 'settings', 'span_ms', 'tail_ms'
    )

    BINS_PER_OCTAVE = 4
    BINS = 80  # up to 2 ** 20 s, twelve days

    def __init__(self, settings: CadenceSettings) -> None:
        self.settings = settings
        self.last_ms: int | None = None
        self.gaps = 0
        self.span_ms = 0
        self.longest_ms = 0
        # Made at the first gap: until a device is heard twice it needs none.
        self._weights: list[float] | None = None
        self._origin_ms = 0  # weights are scaled by 2 ** ((ts - origin) / half-life)
        self._period_bin: int | None = None
        self._since_update = 0
        #: The learned interval (upper edge of its bin), or None while not learned.
        self.period_ms: int | None = None
        #: The ``tail_quantile`` of the same distribution: the long gaps a lossy radio makes.
        self.tail_ms: int | None = None

    @property
    def learned(self) -> bool:
        settings = self.settings
        return self.gaps >= settings.min_gaps and self.span_ms >= settings.min_span_ms

    def learn_one(self, ts_ms: int) -> None:
        """Count the gap from the previous message to one at ``ts_ms`` (older ones are ignored)."""
        last = self.last_ms
        if last is not None and ts_ms <= last:
            return
        self.last_ms = ts_ms
        if last is None:
            self._origin_ms = ts_ms
            return
        gap_ms = ts_ms - last
        weights = self._weights
        if weights is None:
            weights = self._weights = [0.0] * self.BINS
        # Runs for nearly every message: locals and plain comparisons, not calls.
        settings = self.settings
        gaps = self.gaps = self.gaps + 1
        span_ms = self.span_ms = self.span_ms + gap_ms
        if gap_ms > self.longest_ms:
            self.longest_ms = gap_ms
        exponent = (ts_ms - self._origin_ms) / settings.half_life_ms
        if exponent > 64:  # rescale before the weights overflow
            weights = self._weights = [w * 2.0 ** -exponent for w in weights]
            self._origin_ms, exponent = ts_ms, 0.0
        seconds = gap_ms / MS_PER_S
        index = 0 if seconds <= 1 else min(
            self.BINS - 1, math.ceil(math.log2(seconds) * self.BINS_PER_OCTAVE) - 1)
        weights[index] += seconds * 2.0 ** exponent
        self._since_update += 1
        # Only a longer gap can move the quantile up (one in its own bin leaves it where it
        # is); shorter ones move it down slowly, so refresh for those now and then.
        # Before it is learned the interval stays None whatever the bins say: skip the scan.
        if (gaps >= settings.min_gaps and span_ms >= settings.min_span_ms
                and (self.period_ms is None or self._period_bin is None
                     or index > self._period_bin or self._since_update >= 16)):
            self._update()

    def _update(self) -> None:
        self._since_update = 0
        weights = self._weights or ()
        total = sum(weights)
        target, tail_target = self.settings.quantile * total, self.settings.tail_quantile * total
        running = 0.0
        period_bin = tail_bin = None
        for index, weight in enumerate(weights):
            running += weight
            if period_bin is None and running >= target and running > 0:
                period_bin = index
            if running >= tail_target and running > 0:
                tail_bin = index
                break
        self._period_bin = period_bin
        if self.learned and period_bin is not None:
            self.period_ms = self._upper_edge_ms(period_bin)
            self.tail_ms = self._upper_edge_ms(tail_bin if tail_bin is not None else period_bin)

    def _upper_edge_ms(self, index: int) -> int:
        return int(2 ** ((index + 1) / self.BINS_PER_OCTAVE) * MS_PER_S)


class GroupHealthDetector(Detector):
    """Silence of a whole group of devices: a site, a building, or a household's gateway.

    Raises ``site_offline`` (Moderate, subject the site) for a site, and ``device_offline``
    (Minor, subject the building or household, ``evidence.scope`` ``"building"`` or
    ``"gateway"``) for the others, when nothing has been heard from any device of the group
    for more than ``silence_s`` plus ``pending_s``; clears when one is heard again. A last
    will is not a sign of the group being alive. Groups smaller than ``min_devices`` are
    never reported as a whole. ``parent`` is the enclosing group, if any; ``group_id`` names
    the group where ``subject`` alone is not unique (a building's name within its site).
    """

    __slots__ = (
        '_check_ms', 'covered', 'group_id', 'household', 'last_seen_ms', 'limit_ms',
        'min_devices', 'offline', 'parent', 'returned_ms', 'scope', 'silence_ms', 'site',
        'size', 'subject'
    )

    def __init__(
        self,
        subject: str,
        *,
        group_id: str | None = None,
        site: str,
        household: str | None,
        scope: str,
        silence_s: float,
        size: int,
        min_devices: int,
        pending_s: float = 0.0,
        parent: GroupHealthDetector | None = None,
    ) -> None:
        self.subject = subject
        self.group_id = group_id or subject
        self.parent = parent
        self.site = site
        self.household = household
        self.scope = scope
        self.silence_ms = int(silence_s * MS_PER_S)
        self.limit_ms = self.silence_ms + int(pending_s * MS_PER_S)
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
        # Read before and after every message of the group: kept to plain comparisons.
        since = self.last_seen_ms
        if self.offline or since is None or self.size < self.min_devices:
            return None
        if self.covered:
            return None if _down_group(self.parent) is not None else self._check_ms
        # Silence counts from when the group could have been heard again: after its
        # enclosing groups came back. (That only ever moves the deadline later; the engine's
        # earlier timer then just finds nothing due and asks again.)
        parent = self.parent
        while parent is not None:
            returned = parent.returned_ms
            if returned is not None and returned > since:
                since = returned
            parent = parent.parent
        return since + self.limit_ms + 1

    @property
    def waiting_on(self) -> GroupHealthDetector | None:
        return _down_group(self.parent) if self.covered else None

    @property
    def blocking(self) -> bool:
        return self.down

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
        return [self._decision(DecisionAction.CLEAR, message.ts_ms, message.device_id,
                               silent_since=previous)]

    def advance(self, now_ms: int) -> Decisions:
        deadline = self.deadline_ms
        if deadline is None or now_ms < deadline:
            return []
        wait = _wait_for(self.parent, deadline)
        if wait is not None:
            # Behind a down parent, look again at this deadline once the parent is back.
            self.covered = True
            self._check_ms = deadline if isinstance(wait, GroupHealthDetector) else wait
            return []
        if self.covered:
            self.covered = False
            deadline = self.deadline_ms
            if deadline is None or now_ms < deadline:
                return []
        self.offline = True
        return [self._decision(DecisionAction.RAISE, deadline - 1, None,
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
        return AlertDecision(
            action=action,
            type=AlertType.SITE_OFFLINE if site_wide else AlertType.DEVICE_OFFLINE,
            severity=SITE_OFFLINE_SEVERITY if site_wide else DEVICE_OFFLINE_SEVERITY,
            subject=self.subject, site=self.site, ts_ms=ts_ms, household=self.household,
            evidence=tidy_evidence(evidence),
        )


def _wait_for(
    group: GroupHealthDetector | None, check_ms: int
) -> GroupHealthDetector | int | None:
    """What to wait for instead of alerting at ``check_ms``, or None to alert now.

    While an enclosing group (``group`` or one of its parents) is known to be down, its
    alert says it all: wait, without a timer, until that group is no longer down (returned
    here). While one has been quiet long enough that its own alert is near, wait for its
    deadline (returned here), so that a dying gateway gives one alert.
    """
    while group is not None:
        if group.down:
            return group
        deadline = group.deadline_ms
        if group.quiet(check_ms) and deadline is not None and deadline > check_ms:
            return deadline
        group = group.parent
    return None


def _down_group(group: GroupHealthDetector | None) -> GroupHealthDetector | None:
    """The innermost of ``group`` and its parents that is down, or None."""
    while group is not None and not group.down:
        group = group.parent
    return group


@dataclass(frozen=True, slots=True)
class DeviceLimits:
    """What a device's offline check takes from the configuration and its kind alone: made
    once per kind and shared by the devices of that kind (see :func:`device_limits`)."""

    kind: str
    config: DeviceHealthConfig
    budget_ms: int
    pending_ms: int
    ceiling_ms: int
    cadence: CadenceSettings

    @classmethod
    def of(cls, config: DeviceHealthConfig, kind: str) -> DeviceLimits:
        return cls(kind, config, int(config.budget_s(kind) * MS_PER_S),
                   int(config.pending_s * MS_PER_S), int(config.ceiling_s * MS_PER_S),
                   CadenceSettings.from_config(config))


class _State(StrEnum):
    ONLINE = "online"
    WAITING = "waiting"  # time ran out while a group is down (no timer) or quiet
    OFFLINE = "offline"  # alert raised


class DeviceOfflineDetector(DeviceDetector):
    """``device_offline`` (Minor) for one device: its last will, or silence past its limit.

    The limit is ``silent_periods`` of the device's own learned reporting interval (see
    :class:`ReportingCadence`), kept between ``floor_s`` and ``ceiling_s``; until the
    interval is learned, the budget of the device's kind or ``silent_periods`` of its
    longest gap so far, whichever is longer. Either condition must then hold for
    ``pending_s`` more before the alert is raised; a message in that time cancels it.

    Parameters
    ----------
    device_id, site, household, kind
        The device.
    group
        The group it belongs to most closely (its household gateway, else its building, else
        its site); the enclosing groups are its ``parent`` chain.
    config
        :class:`~detectors.config.DeviceHealthConfig`.

    Examples
    --------
    >>> from safehood.protocol import Message, Placement, SmokeReading
    >>> from safehood.detectors.config import DeviceHealthConfig
    >>> config = DeviceHealthConfig(heartbeat_budget_s={"smoke": 600}, pending_s=60)
    >>> detector = DeviceOfflineDetector("d1", site="s1", household="h1", kind="smoke",
    ...                                  config=config)
    >>> def beat(ts_ms):
    ...     return Message.from_reading(SmokeReading(ts=ts_ms, smoke=0.0), Placement("d1", "s1"))
    >>> detector.process_one(beat(0)), detector.deadline_ms  # 600 s budget, 60 s pending
    ([], 660001)
    >>> detector.advance(660_000)  # silent for exactly the limit: not yet
    []
    >>> [(d.action.value, d.ts_ms, d.evidence["reason"]) for d in detector.advance(660_001)]
    [('raise', 660000, 'silent')]
    """

    # Slots: one of each per registered device (see the README's memory figures); what
    # follows from the configuration and the kind alone is in the shared ``limits``.
    __slots__ = (
        '_check_ms', '_rhythm_ms', '_will_ms', 'cadence', 'group', 'last_seen_ms', 'limits',
        'state'
    )

    def __init__(
        self,
        device_id: str,
        *,
        site: str,
        household: str | None,
        kind: str,
        group: GroupHealthDetector | None = None,
        config: DeviceHealthConfig | None = None,
        limits: DeviceLimits | None = None,
    ) -> None:
        super().__init__(device_id, site=site, household=household)
        self.group = group
        if limits is None or limits.kind != kind:
            limits = DeviceLimits.of(config or DeviceHealthConfig(), kind)
        self.limits = limits
        # Made when it first learns: a device heard from once has no rhythm yet, only the
        # time its next gap will count from (``_rhythm_ms``, the cadence's ``last_ms``).
        self.cadence: ReportingCadence | None = None
        self._rhythm_ms: int | None = None
        self.last_seen_ms: int | None = None
        self.state = _State.ONLINE
        self._will_ms: int | None = None
        self._check_ms: int | None = None

    @property
    def kind(self) -> str:
        return self.limits.kind

    @property
    def config(self) -> DeviceHealthConfig:
        return self.limits.config

    @property
    def silence_limit_ms(self) -> int:
        """How long a silence is normal for this device, before the pending period."""
        limits = self.limits
        config = limits.config
        periods = config.silent_periods
        cadence = self.cadence
        period = None if cadence is None else cadence.period_ms
        if cadence is None or period is None:
            longest = 0 if cadence is None else cadence.longest_ms
            limit = max(limits.budget_ms, periods * longest)
        else:
            tail = cadence.tail_ms or period
            limit = max(config.floor_s * MS_PER_S, periods * period, config.tail_periods * tail)
        return int(min(limit, config.ceiling_s * MS_PER_S))

    @property
    def deadline_ms(self) -> int | None:
        state = self.state
        if state is _State.OFFLINE or (state is _State.WAITING and self.waiting_on is not None):
            return None
        return self._check_ms

    @property
    def waiting_on(self) -> GroupHealthDetector | None:
        return _down_group(self.group) if self.state is _State.WAITING else None

    def start(self, now_ms: int) -> None:
        """Start the silence limit at ``now_ms`` for a device not heard from yet."""
        if self.last_seen_ms is None and self.state is _State.ONLINE:
            self.last_seen_ms = now_ms
            self._check_ms = now_ms + self.silence_limit_ms + self.limits.pending_ms + 1

    def learn_one(self, message: Message) -> None:
        if not is_last_will(message):
            self._learn_rhythm(message.ts_ms)

    def _learn_rhythm(self, ts_ms: int) -> None:
        cadence = self.cadence
        if cadence is None:
            cadence = self.cadence = ReportingCadence(self.limits.cadence)
            cadence.last_ms = self._rhythm_ms
        cadence.learn_one(ts_ms)

    def process_one(self, message: Message) -> Decisions:
        if is_last_will(message):
            if self.last_seen_ms is not None and message.ts_ms < self.last_seen_ms:
                return []  # an old will, from before the device was heard again
            self.last_seen_ms = message.ts_ms
            if self.state is _State.OFFLINE or self._will_ms is not None:
                return []
            self._will_ms = message.ts_ms
            self._check_ms = message.ts_ms + self.limits.pending_ms + 1
            return []
        if self.last_seen_ms is not None and message.ts_ms <= self.last_seen_ms:
            return []
        was = self.state
        rhythm_ms = self._rhythm_ms if self.cadence is None else self.cadence.last_ms
        if self._will_ms is None and message.ts_ms - (rhythm_ms or 0) <= self.limits.ceiling_ms:
            # A device that comes back by itself, within the ceiling, was slower than its
            # limit said, not broken: its gap is its rhythm (a device reporting more slowly
            # than its kind's budget would otherwise never be learned and alarm every cycle).
            self._learn_rhythm(message.ts_ms)
        elif self.cadence is None:
            # The gap across a last will or a long outage says nothing about its rhythm.
            self._rhythm_ms = message.ts_ms
        else:
            self.cadence.last_ms = message.ts_ms
        self.last_seen_ms = message.ts_ms
        self._will_ms = None
        self._check_ms = message.ts_ms + self.silence_limit_ms + self.limits.pending_ms + 1
        self.state = _State.ONLINE
        if was is not _State.OFFLINE:
            return []
        return [self._decision(DecisionAction.CLEAR, message.ts_ms, "back_online")]

    def advance(self, now_ms: int) -> Decisions:
        check = self.deadline_ms
        if check is None or now_ms < check:
            return []
        limit_ms = self.silence_limit_ms + self.limits.pending_ms
        wait = _wait_for(self.group, check)
        if wait is not None:
            # Behind a down group, look again at this check once the group is back.
            self.state = _State.WAITING
            self._check_ms = check if isinstance(wait, GroupHealthDetector) else wait
            return []
        reason = "last_will"
        if self._will_ms is None:
            reason = "silent"
            # Silence only counts from when the device could have been heard: after its
            # groups came back, the device gets its full limit to show up.
            since = self.last_seen_ms if self.last_seen_ms is not None else check
            group = self.group
            while group is not None:
                since = max(since, group.returned_ms or since)
                group = group.parent
            if check <= since + limit_ms:
                self._check_ms = since + limit_ms + 1
                return []
        self.state = _State.OFFLINE
        return [self._decision(DecisionAction.RAISE, check - 1, reason)]

    def _decision(self, action: DecisionAction, ts_ms: int, reason: str) -> AlertDecision:
        evidence: dict[str, object] = {"reason": reason, "kind": self.kind,
                                       "last_seen_ms": self.last_seen_ms}
        if reason == "silent":
            period = None if self.cadence is None else self.cadence.period_ms
            evidence["limit_s"] = self.silence_limit_ms / MS_PER_S
            evidence["period_s"] = None if period is None else period / MS_PER_S
            evidence["pending_s"] = self.limits.pending_ms / MS_PER_S
        return self.device_decision(action, AlertType.DEVICE_OFFLINE, DEVICE_OFFLINE_SEVERITY,
                                    ts_ms, evidence)


class DeviceChecksDetector(DeviceOfflineDetector):
    """Every check of one device in one object, in this order: :class:`DeviceOfflineDetector`;
    ``battery_low`` (Minor) below ``battery_low_pct``, cleared at or above ``battery_ok_pct``;
    ``tamper`` (Minor) on the device's ``tamper`` event (someone has to check the device).

    What the engine runs per registered device: one object, key and timer a device where
    three separate detectors took three of each (see the README's memory figures).

    Examples
    --------
    >>> from safehood.protocol import Message, Placement, StatusReading
    >>> detector = DeviceChecksDetector("d1", site="s1", household=None, kind="smoke")
    >>> low = Message.from_reading(StatusReading(ts=0, online=True, battery=12.0),
    ...                            Placement("d1", "s1"))
    >>> [(d.type.value, d.action.value, d.evidence["battery"]) for d in detector.process_one(low)]
    [('battery_low', 'raise', 12.0)]
    """

    __slots__ = ('_battery_ms', 'battery_low')

    def __init__(
        self, device_id: str, *, site: str, household: str | None, kind: str,
        group: GroupHealthDetector | None = None, limits: DeviceLimits | None = None,
        config: DeviceHealthConfig | None = None,
    ) -> None:
        super().__init__(device_id, site=site, household=household, kind=kind, group=group,
                         config=config, limits=limits)
        self.battery_low = False
        self._battery_ms: int | None = None

    def process_one(self, message: Message) -> Decisions:
        out = super().process_one(message)
        if message.battery is not None:
            out += self._battery(message, message.battery)
        if message.event == "tamper" and message.channel == "event":
            out.append(self.device_decision(
                DecisionAction.RAISE, AlertType.TAMPER, TAMPER_SEVERITY, message.ts_ms,
                {"kind": message.kind, "room": message.room}))
        return out

    def _battery(self, message: Message, battery: float) -> Decisions:
        if self._battery_ms is not None and message.ts_ms < self._battery_ms:
            return []  # an older reading than the one the flag stands on
        self._battery_ms = message.ts_ms
        if not self.battery_low and battery < self.config.battery_low_pct:
            action = DecisionAction.RAISE
        elif self.battery_low and battery >= self.config.battery_ok_pct:
            action = DecisionAction.CLEAR
        else:
            return []
        self.battery_low = action is DecisionAction.RAISE
        return [self.device_decision(action, AlertType.BATTERY_LOW, BATTERY_LOW_SEVERITY,
                                     message.ts_ms, {"battery": battery, "kind": message.kind})]


# -- rules ------------------------------------------------------------------------------


def _group_devices(view: RegistryView, scope: str) -> Mapping[str, Sequence[Device]]:
    """The registered devices of each group of ``scope``, by group id."""
    return {"site": view.site_devices, "building": view.building_devices,
            "gateway": view.household_devices}[scope]


def _group_health(
    view: RegistryView, device: Device, group_id: str, *, subject: str, scope: str,
    household: str | None, silence_s: float, parent: Detector | None,
) -> GroupHealthDetector:
    config = view.config.device_health
    return GroupHealthDetector(
        subject, group_id=group_id, site=device.site, household=household, scope=scope,
        silence_s=silence_s, pending_s=config.pending_s,
        size=len(_group_devices(view, scope).get(group_id, ())),
        min_devices=config.group_min_devices,
        parent=parent if isinstance(parent, GroupHealthDetector) else None,
    )


def _site_health(site: str, device: Device, view: RegistryView) -> GroupHealthDetector:
    return _group_health(view, device, site, subject=site, scope="site", household=None,
                         silence_s=view.config.device_health.site_silence_s, parent=None)


def _building_health(building: str, device: Device, view: RegistryView) -> GroupHealthDetector:
    return _group_health(
        view, device, building, subject=building.removeprefix(f"{device.site}/"),
        scope="building", household=None,
        silence_s=view.config.device_health.building_silence_s,
        parent=view.detector_of(RULE_SITE_HEALTH, device),
    )


def _gateway_health(household: str, device: Device, view: RegistryView) -> GroupHealthDetector:
    return _group_health(
        view, device, household, subject=household, scope="gateway", household=household,
        silence_s=view.config.device_health.gateway_silence_s,
        parent=_innermost_group(device, view, (RULE_BUILDING_HEALTH, RULE_SITE_HEALTH)),
    )


def _rebind_group(detector: GroupHealthDetector, view: RegistryView) -> bool:
    detector.size = len(_group_devices(view, detector.scope).get(detector.group_id, ()))
    return detector.size > 0


def _innermost_group(device: Device, view: RegistryView, rules: Sequence[str]) -> Detector | None:
    """The detector of the first of ``rules`` that applies to ``device``."""
    for rule in rules:
        group = view.detector_of(rule, device)
        if group is not None:
            return group
    return None


def device_limits(view: RegistryView, kind: str) -> DeviceLimits:
    """The limits of ``kind``'s devices, made once and shared (kept with the engine's
    shared objects, under a name no site can have)."""
    key = (f"device-limits:{kind}", DeviceLimits)
    limits: DeviceLimits | None = view.shared.get(key)
    if limits is None or limits.config is not view.config.device_health:
        limits = view.shared[key] = DeviceLimits.of(view.config.device_health, kind)
    return limits


def _device_health(device_id: str, device: Device, view: RegistryView) -> DeviceChecksDetector:
    # Only the innermost group: the enclosing ones are its parent chain.
    group = _innermost_group(
        device, view, (RULE_GATEWAY_HEALTH, RULE_BUILDING_HEALTH, RULE_SITE_HEALTH))
    return DeviceChecksDetector(
        device_id, site=device.site, household=device.household, kind=device.kind,
        group=group if isinstance(group, GroupHealthDetector) else None,
        limits=device_limits(view, device.kind),
    )


def _device_scope(device: Device, view: RegistryView) -> str:
    return device.device_id


SITE_HEALTH_RULE = Rule(
    RULE_SITE_HEALTH, "site", None, lambda device, view: device.site, _site_health,
    rebind=_rebind_group, start=GroupHealthDetector.start,
)
BUILDING_HEALTH_RULE = Rule(
    RULE_BUILDING_HEALTH, "building", None, lambda device, view: view.building_group(device),
    _building_health, rebind=_rebind_group, start=GroupHealthDetector.start,
)
GATEWAY_HEALTH_RULE = Rule(
    RULE_GATEWAY_HEALTH, "household", None, lambda device, view: device.household,
    _gateway_health, rebind=_rebind_group, start=GroupHealthDetector.start,
)
DEVICE_HEALTH_RULE = Rule(
    RULE_DEVICE_HEALTH, "device", None, _device_scope, _device_health,
    rebind=rebind_device, start=DeviceOfflineDetector.start,
)
