"""A jump of a site's event time costs the timers that fall due, not the devices registered:
devices and groups covered by a silent group wait on it without a timer (no retry per
silence time), and are woken when it is heard from again."""

from __future__ import annotations

from collections import Counter

import pytest

from safehood.detectors import DetectorEngine
from safehood.detectors.device_health import DeviceOfflineDetector, GroupHealthDetector
from safehood.protocol import AlertDecision, Registry

from ._support import DAY, HOUR, SITE, T0, msg

HOUSEHOLDS = 20_000
PER_HOUSEHOLD = 5  # 100,000 devices


@pytest.fixture(scope="module")
def big_registry() -> Registry:
    return Registry.from_data({
        "households": [{"id": f"h{h}", "site": SITE, "lives_alone": False}
                       for h in range(HOUSEHOLDS)],
        "devices": [{"device_id": f"h{h}-smoke-{i}", "site": SITE, "kind": "smoke",
                     "household": f"h{h}"}
                    for h in range(HOUSEHOLDS) for i in range(PER_HOUSEHOLD)],
    })


@pytest.fixture
def advances(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the health detectors' timer calls: the work a jump of event time does."""
    calls: Counter[str] = Counter()
    for cls in (DeviceOfflineDetector, GroupHealthDetector):
        def counted(self: object, now_ms: int, _advance=cls.advance,
                    _name: str = cls.__name__) -> list[AlertDecision]:
            calls[_name] += 1
            return _advance(self, now_ms)
        monkeypatch.setattr(cls, "advance", counted)
    return calls


def timers(engine: DetectorEngine) -> int:
    return len(engine._timers[SITE])


def test_a_jump_fires_each_due_timer_once_however_long(
    big_registry: Registry, advances: Counter[str],
) -> None:
    engine = DetectorEngine(big_registry)
    device = "h0-smoke-0"
    engine.process_one(msg(big_registry, device, T0, smoke=0.0))
    armed = timers(engine)
    assert armed >= HOUSEHOLDS * (PER_HOUSEHOLD + 1)  # every device and gateway is timed

    # Ten days of silence at once: every device and gateway is past its limit, and the
    # site's own alert stands for all of them.
    decisions = engine.advance(T0 + 10 * DAY)
    assert [(d.type.value, d.action.value) for d in decisions] == [("site_offline", "raise")]
    assert sum(advances.values()) <= armed + 1
    assert timers(engine) == 0  # all wait on the site, with no timer

    # Ten times as far: nothing is due, nothing is touched.
    advances.clear()
    assert engine.advance(T0 + 100 * DAY) == []
    assert sum(advances.values()) == 0

    # The site is heard from: only now do the waiting gateways come back to the timers
    # (each once), and the devices behind them when their gateway's turn comes.
    decisions = engine.process_one(msg(big_registry, device, T0 + 100 * DAY + HOUR, smoke=0.0))
    assert [(d.type.value, d.action.value) for d in decisions] == [("site_offline", "clear")]
    # Every gateway, the site, and the heard household's devices (its gateway is back).
    assert timers(engine) == HOUSEHOLDS + 1 + PER_HOUSEHOLD
    advances.clear()
    engine.advance(T0 + 100 * DAY + 2 * HOUR)
    assert advances["GroupHealthDetector"] <= 2 * HOUSEHOLDS
