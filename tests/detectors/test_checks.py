"""Checks every detector passes, like river's ``checks``: it takes a long, messy stream of
valid messages (random values, out of order, repeated) without raising, its decisions are
well formed and stamped with event time, its timers move forward, it is deterministic, and
it never reads a clock."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from safehood.detectors import Detector, DetectorConfig
from safehood.detectors.base import HouseholdScope
from safehood.detectors.device_health import (
    DeviceChecksDetector,
    DeviceOfflineDetector,
    GroupHealthDetector,
)
from safehood.detectors.door import DoorDetector
from safehood.detectors.fall import FallDetector
from safehood.detectors.inactivity import InactivityDetector
from safehood.detectors.night_wandering import NightWanderingDetector
from safehood.detectors.smoke import SmokeDetector
from safehood.detectors.sos import SosDetector
from safehood.detectors.water import LeakDetector, SlowLeakDetector
from safehood.protocol import AlertDecision, AlertType, DecisionAction, Message, Severity, WearableWindow
from safehood.simulators import _physics as physics

from ._support import DAY, T0, msg, registry

CONFIG = DetectorConfig()
REG = registry()
H1 = HouseholdScope.from_registry(REG.households["h1"], REG)
H1_DEVICES = {d.device_id for d in REG.household_devices("h1")}


def random_stream(seed: int, count: int = 1500) -> list[Message]:
    """Valid messages of every device of the test registry over three days, in a jumbled
    order with repeats."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    devices = list(REG.devices.values())
    out: list[Message] = []
    for _ in range(count):
        device = rng.choice(devices)
        ts = T0 + rng.randrange(3 * DAY)
        d = device.device_id
        roll = rng.random()
        if roll < 0.1:
            out.append(msg(REG, d, ts, online=rng.random() < 0.8,
                           battery=round(rng.uniform(0, 100), 1)))
            continue
        kind = device.kind
        if kind == "smoke":
            out.append(msg(REG, d, ts, event=rng.choice(["alarm", "clear", "test", "tamper"]))
                       if roll < 0.3 else
                       msg(REG, d, ts, smoke=round(rng.uniform(0, 30) * rng.random() ** 3, 2),
                           temp_c=round(rng.uniform(15, 90), 1)))
        elif kind == "wearable":
            if roll < 0.2:
                out.append(msg(REG, d, ts, event=rng.choice(["sos", "fall"])))
            else:
                make = rng.choice([physics.fall, physics.drop, physics.jump, physics.sit_hard,
                                   *physics.ACTIVITY_WINDOWS.values()])
                window = make(nrng)
                extra = {"hr_bpm": 80} if window.worn else {}
                out.append(msg(REG, d, ts, accel=window.accel.tolist(), hz=window.hz, **extra))
        elif kind == "water":
            out.append(msg(REG, d, ts, event=rng.choice(["leak", "dry"])) if roll < 0.3 else
                       msg(REG, d, ts, leak=rng.random() < 0.2) if roll < 0.6 else
                       msg(REG, d, ts, flow_lpm=round(rng.uniform(0, 10) * rng.random(), 2)))
        elif kind == "door":
            if roll < 0.6:
                event = rng.choice(["open", "close", "lock", "unlock", "forced", "denied"])
                credential = rng.choice([None, "inside", "fingerprint:r1", "card:staff"])
                out.append(msg(REG, d, ts, event=event, credential=credential))
            else:
                out.append(msg(REG, d, ts, open=rng.random() < 0.5))
        elif kind == "motion":
            out.append(msg(REG, d, ts, event="motion") if roll < 0.6 else
                       msg(REG, d, ts, occupancy=rng.random() < 0.5))
        elif kind == "button":
            out.append(msg(REG, d, ts, event="sos"))
    out.sort(key=lambda m: m.ts_ms + rng.uniform(-60_000, 60_000))
    repeats = [rng.choice(out) for _ in range(count // 20)]
    for repeat in repeats:
        out.insert(rng.randrange(len(out)), repeat)
    return out


@dataclass(frozen=True)
class Case:
    """How to build one detector and which messages it is given."""

    name: str
    make: Callable[[], Detector]
    wants: Callable[[Message], bool]
    types: frozenset[AlertType]


def _site_group() -> GroupHealthDetector:
    return GroupHealthDetector("s1", site="s1", household=None, scope="site",
                               silence_s=900, size=len(REG.devices), min_devices=3)


CASES = [
    Case("smoke", lambda: SmokeDetector("building:b1", site="s1", config=CONFIG.smoke),
         lambda m: m.kind == "smoke" and m.device_id != "h3-motion-living",
         frozenset({AlertType.SMOKE, AlertType.FIRE})),
    Case("sos", lambda: SosDetector("r1", site="s1", household="h1", config=CONFIG.sos),
         lambda m: m.resident == "r1", frozenset({AlertType.SOS})),
    Case("fall", lambda: FallDetector("r1", site="s1", household="h1", config=CONFIG.fall),
         lambda m: m.device_id == "r1-band", frozenset({AlertType.FALL})),
    Case("leak", lambda: LeakDetector("h1-leak", site="s1", household="h1"),
         lambda m: m.device_id == "h1-leak", frozenset({AlertType.WATER_LEAK})),
    Case("slow_leak", lambda: SlowLeakDetector("h1-meter", site="s1", household="h1",
                                               config=CONFIG.water),
         lambda m: m.device_id == "h1-meter", frozenset({AlertType.WATER_LEAK})),
    Case("door", lambda: DoorDetector("h1-door", site="s1", household="h1",
                                      is_night=H1.is_night, config=CONFIG.door),
         lambda m: m.device_id == "h1-door",
         frozenset({AlertType.FORCED_ENTRY, AlertType.DOOR_LEFT_OPEN})),
    Case("night_wandering", lambda: NightWanderingDetector(H1, {"h1-door"},
                                                           CONFIG.night_wandering, CONFIG.door),
         lambda m: m.device_id in H1_DEVICES and m.kind in ("door", "motion"),
         frozenset({AlertType.NIGHT_WANDERING})),
    Case("inactivity", lambda: InactivityDetector(H1, CONFIG.inactivity, CONFIG.door),
         lambda m: m.device_id in H1_DEVICES, frozenset({AlertType.INACTIVITY})),
    Case("device_offline", lambda: DeviceOfflineDetector(
        "h1-motion-hall", site="s1", household="h1", kind="motion", group=_site_group(),
        config=CONFIG.device_health),
         lambda m: m.device_id == "h1-motion-hall", frozenset({AlertType.DEVICE_OFFLINE})),
    Case("site_health", _site_group, lambda m: True, frozenset({AlertType.SITE_OFFLINE})),
    Case("device_checks", lambda: DeviceChecksDetector(
        "h1-leak", site="s1", household="h1", kind="leak", group=_site_group(),
        config=CONFIG.device_health),
         lambda m: m.device_id == "h1-leak",
         frozenset({AlertType.DEVICE_OFFLINE, AlertType.BATTERY_LOW, AlertType.TAMPER})),
    Case("device_checks_smoke", lambda: DeviceChecksDetector(
        "h1-smoke-hall", site="s1", household="h1", kind="smoke", group=_site_group(),
        config=CONFIG.device_health),
         lambda m: m.device_id == "h1-smoke-hall",
         frozenset({AlertType.DEVICE_OFFLINE, AlertType.BATTERY_LOW, AlertType.TAMPER})),
]


def _span_ms(message: Message) -> int:
    """How long after its ``ts`` a message still describes: a wearable window's length."""
    window = message.reading
    return int(len(window.accel) / window.hz * 1000) if isinstance(window, WearableWindow) else 0


def drive(detector: Detector, messages: list[Message]) -> Iterator[tuple[int, AlertDecision]]:
    """Feed messages the way the engine does; yield (latest event time the decision may
    carry, decision)."""
    latest = T0
    for message in messages:
        deadline = detector.deadline_ms
        if deadline is not None and deadline <= message.ts_ms:
            for decision in detector.advance(message.ts_ms):
                yield message.ts_ms, decision
            after = detector.deadline_ms
            assert after is None or after > message.ts_ms, "a fired timer must move on"
        for decision in detector.process_one(message):
            yield message.ts_ms + _span_ms(message), decision
        latest = max(latest, message.ts_ms)
    end = latest + 2 * DAY
    for decision in detector.advance(end):
        yield end, decision
    after = detector.deadline_ms
    assert after is None or after > end


def stream_for(case: Case, seed: int) -> list[Message]:
    return [m for m in random_stream(seed) if case.wants(m)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", [1, 2])
def test_takes_a_messy_stream_and_decides_well_formed_things(case: Case, seed: int) -> None:
    messages = stream_for(case, seed)
    assert messages
    for called_at, decision in drive(case.make(), messages):
        assert isinstance(decision, AlertDecision)
        assert decision.type in case.types
        assert isinstance(decision.action, DecisionAction)
        assert isinstance(decision.severity, Severity)
        assert decision.site == "s1" and decision.subject
        # Stamped with event time: never later than what the call that made it knew of.
        assert T0 - DAY <= decision.ts_ms <= called_at
        for value in decision.evidence.values():
            assert value is None or isinstance(value, str | int | float | bool | list)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_is_deterministic(case: Case) -> None:
    messages = stream_for(case, 3)
    first = [d for _, d in drive(case.make(), messages)]
    second = [d for _, d in drive(case.make(), messages)]
    assert first == second


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_never_reads_a_clock(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    messages = stream_for(case, 4)

    def no_clock(*_args: object) -> float:
        raise AssertionError("a detector read the clock")

    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter"):
        monkeypatch.setattr(time, name, no_clock)
    for _ in drive(case.make(), messages):
        pass


def test_every_rule_has_a_case() -> None:
    import safehood.detectors.engine as engine_module

    classes = {obj for obj in vars(engine_module).values()
               if isinstance(obj, type) and issubclass(obj, Detector) and obj is not Detector}
    covered = {type(case.make()) for case in CASES}
    assert classes <= covered, f"no check case for {classes - covered}"


def test_random_stream_covers_the_registry() -> None:
    kinds = {m.kind for m in random_stream(1)}
    assert kinds >= {"smoke", "wearable", "water", "door", "motion", "button"}

