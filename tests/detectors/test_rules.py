"""A new rule is one declaration: a "stove left on" detector, written here, raises through
the engine with no change to the engine."""

from __future__ import annotations

from safehood.detectors import DetectorEngine
from safehood.detectors.base import Decisions, DeviceDetector, Rule, rebind_device
from safehood.detectors.rules import RULES
from safehood.protocol import AlertType, DecisionAction, Message, Severity, SmokeReading

from ._support import MIN, T0, feed, msg, registry, summary

HOT_C = 40.0
LEFT_ON_MS = 15 * MIN


class StoveLeftOnDetector(DeviceDetector):
    """A kitchen smoke sensor reading ``temp_c`` at or above ``hot_c`` for ``after_ms``."""

    kinds = frozenset({"smoke"})

    def __init__(self, device_id: str, *, site: str, household: str | None) -> None:
        super().__init__(device_id, site=site, household=household)
        self._hot_since: int | None = None
        self._raised = False

    @property
    def deadline_ms(self) -> int | None:
        if self._hot_since is None or self._raised:
            return None
        return self._hot_since + LEFT_ON_MS

    def process_one(self, message: Message) -> Decisions:
        reading = message.reading
        if not isinstance(reading, SmokeReading) or reading.temp_c is None:
            return []
        if reading.temp_c < HOT_C:
            self._hot_since, self._raised = None, False
        elif self._hot_since is None:
            self._hot_since = message.ts_ms
        return []

    def advance(self, now_ms: int) -> Decisions:
        deadline = self.deadline_ms
        if deadline is None or now_ms < deadline:
            return []
        self._raised = True
        return [self.device_decision(DecisionAction.RAISE, AlertType.ABNORMAL_ROUTINE,
                                     Severity.SEVERE, deadline, {"rule": "stove_left_on"})]


STOVE_LEFT_ON_RULE = Rule(
    "stove_left_on", "device", StoveLeftOnDetector.kinds,
    lambda device, view: device.device_id if device.room == "kitchen" else None,
    lambda device_id, device, view: StoveLeftOnDetector(
        device_id, site=device.site, household=device.household),
    rebind=rebind_device,
)


def warm_readings(device_id: str, temps: list[float]) -> list[Message]:
    reg = registry()
    return [msg(reg, device_id, T0 + i * MIN, smoke=0.0, temp_c=temp)
            for i, temp in enumerate(temps)]


def stove_alerts(device_id: str, temps: list[float]) -> list[tuple[str, str, str, int]]:
    detectors = DetectorEngine(registry(), rules=(*RULES, STOVE_LEFT_ON_RULE))
    decisions = feed(detectors, warm_readings(device_id, temps))
    return [row for row in summary(decisions) if row[1] == "abnormal_routine"]


def test_a_stove_left_on_raises_through_the_engine() -> None:
    assert stove_alerts("h1-smoke-kitchen", [45.0] * 20) == [
        ("raise", "abnormal_routine", "h1-smoke-kitchen", 15 * 60),
    ]


def test_only_kitchens_and_only_when_it_stays_hot() -> None:
    assert stove_alerts("h1-smoke-hall", [45.0] * 20) == []
    assert stove_alerts("h1-smoke-kitchen", [45.0] * 10 + [25.0] + [45.0] * 10) == []
