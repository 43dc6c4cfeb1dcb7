"""``water_leak`` from leak sensors, and slow leaks from a household's water meter."""

from __future__ import annotations

from operator import attrgetter

from safehood.protocol import (
    AlertDecision,
    AlertType,
    DecisionAction,
    Message,
    Severity,
    WaterReading,
)

from .base import Decisions, DeviceDetector, Rule, rebind_device, two_state_reader
from .config import WaterConfig
from .const import MS_PER_S, RULE_SLOW_LEAK, RULE_WATER_LEAK

WATER_LEAK_SEVERITY = Severity.MODERATE


class LeakDetector(DeviceDetector):
    """Raises ``water_leak`` when a leak sensor gets wet; clears it when it is dry again.

    Wet is a ``leak`` event or a telemetry ``leak: true``; dry is ``dry`` or ``leak: false``.
    A reading older than the newest one already taken is stale and does not change the
    state (a late ``dry`` must not clear a newer leak).

    Examples
    --------
    >>> from safehood.protocol import DeviceEvent, Message, Placement, WaterReading
    >>> leak = Placement("h1-leak", "s1", household="h1")
    >>> detector = LeakDetector("h1-leak", site="s1", household="h1")
    >>> wet = Message.from_reading(DeviceEvent(ts=5_000, kind="water", event="leak"), leak)
    >>> [d.action.value for d in detector.process_one(wet)]
    ['raise']
    >>> dry = Message.from_reading(WaterReading(ts=9_000, leak=False), leak)
    >>> [d.action.value for d in detector.process_one(dry)]
    ['clear']
    """

    kinds = frozenset({"water"})
    channels = frozenset({"telemetry", "event"})  # a status says nothing it uses

    def __init__(self, device_id: str, *, site: str, household: str | None) -> None:
        super().__init__(device_id, site=site, household=household)
        self.wet = False
        self._state_ms: int | None = None

    def process_one(self, message: Message) -> Decisions:
        wet = wet_state(message)
        if wet is None:
            return []
        if self._state_ms is not None and message.ts_ms < self._state_ms:
            return []
        self._state_ms = message.ts_ms
        if wet == self.wet:
            return []
        self.wet = wet
        return [self.device_decision(
            DecisionAction.RAISE if wet else DecisionAction.CLEAR,
            AlertType.WATER_LEAK, WATER_LEAK_SEVERITY, message.ts_ms,
            {"source": "leak_sensor", "room": message.room, "wet": wet},
        )]


#: Whether a leak sensor's message says wet (True), dry (False), or nothing (None).
wet_state = two_state_reader({"leak": True, "dry": False}, WaterReading, attrgetter("leak"))


class SlowLeakDetector(DeviceDetector):
    """Raises ``water_leak`` (``slow: true``) when the household meter never stops running.

    Water use stops every so often; a meter whose ``flow_lpm`` stays at or above
    ``slow_leak_flow_lpm`` for longer than ``slow_leak_s`` without one reading below it is a
    slow leak (a dripping tap, a running cistern). It clears at the first reading below. A
    run only counts while the meter keeps reporting it: readings more than
    ``max_reading_gap_s`` apart, or a meter gone silent, break it.

    Examples
    --------
    >>> from safehood.protocol import Message, Placement, WaterReading
    >>> from safehood.detectors.config import WaterConfig
    >>> detector = SlowLeakDetector("h1-meter", site="s1", household="h1",
    ...                             config=WaterConfig(slow_leak_s=3600))
    >>> def meter(ts_ms, flow):
    ...     return Message.from_reading(WaterReading(ts=ts_ms, flow_lpm=flow),
    ...                                 Placement("h1-meter", "s1", household="h1"))
    >>> for minute in range(0, 61, 10):
    ...     _ = detector.process_one(meter(minute * 60_000, 0.3))
    >>> detector.deadline_ms
    3600000
    >>> [(d.action.value, d.evidence["slow"]) for d in detector.advance(3_600_000)]
    [('raise', True)]
    """

    kinds = frozenset({"water"})
    channels = frozenset({"telemetry"})  # only the meter's flow readings

    def __init__(
        self, device_id: str, *, site: str, household: str | None, config: WaterConfig | None = None
    ) -> None:
        super().__init__(device_id, site=site, household=household)
        self.config = config or WaterConfig()
        self._running_since: int | None = None
        self._last_ms: int | None = None
        self._last_flow = 0.0
        self.raised = False

    @property
    def deadline_ms(self) -> int | None:
        if self.raised or self._running_since is None:
            return None
        return self._running_since + int(self.config.slow_leak_s * MS_PER_S)

    def process_one(self, message: Message) -> Decisions:
        reading = message.reading
        flow = reading.flow_lpm if isinstance(reading, WaterReading) else None
        if flow is None:
            return []
        if self._last_ms is not None and message.ts_ms < self._last_ms:
            return []
        gap_ms = int(self.config.max_reading_gap_s * MS_PER_S)
        if self._last_ms is not None and message.ts_ms - self._last_ms > gap_ms:
            self._running_since = None  # unseen in between: the run, if any, starts anew
        self._last_ms = message.ts_ms
        self._last_flow = float(flow)
        if flow >= self.config.slow_leak_flow_lpm:
            if self._running_since is None:
                self._running_since = message.ts_ms
            return []
        self._running_since = None
        if not self.raised:
            return []
        self.raised = False
        return [self._decision(DecisionAction.CLEAR, message.ts_ms)]

    def advance(self, now_ms: int) -> Decisions:
        deadline = self.deadline_ms
        if deadline is None or now_ms < deadline:
            return []
        gap_ms = int(self.config.max_reading_gap_s * MS_PER_S)
        if self._last_ms is None or deadline - self._last_ms > gap_ms:
            # The meter stopped reporting while the water ran: nothing says it still runs.
            self._running_since = None
            return []
        self.raised = True
        return [self._decision(DecisionAction.RAISE, deadline)]

    def _decision(self, action: DecisionAction, ts_ms: int) -> AlertDecision:
        return self.device_decision(
            action, AlertType.WATER_LEAK, WATER_LEAK_SEVERITY, ts_ms,
            {"source": "meter", "slow": True, "flow_lpm": self._last_flow,
             "running_since_ms": self._running_since},
        )


WATER_LEAK_RULE = Rule(
    RULE_WATER_LEAK, "device", LeakDetector.kinds, lambda device, view: device.device_id,
    lambda device_id, device, view: LeakDetector(
        device_id, site=device.site, household=device.household),
    rebind=rebind_device,
    channels=LeakDetector.channels,
)
SLOW_LEAK_RULE = Rule(
    RULE_SLOW_LEAK, "device", SlowLeakDetector.kinds, lambda device, view: device.device_id,
    lambda device_id, device, view: SlowLeakDetector(
        device_id, site=device.site, household=device.household, config=view.config.water),
    rebind=rebind_device,
    channels=SlowLeakDetector.channels,
)
