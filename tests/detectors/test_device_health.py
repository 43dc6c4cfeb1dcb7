from __future__ import annotations

import pytest

from ._support import HOUR, MIN, T0, S, engine, feed, msg, of_type, registry, summary

BUDGET_S = 3600  # motion budget in these tests


def health(decisions, *types):
    return summary(of_type(decisions, *(types or ("device_offline", "site_offline"))))


def chatter(reg, devices, start, end, step=5 * MIN, skip=()):
    """Status heartbeats from ``devices`` every ``step`` in [start, end)."""
    out = []
    t = start
    while t < end:
        out += [msg(reg, d, t, online=True) for d in devices if (d, t) not in skip]
        t += step
    return out


ALL_H1 = ["h1-smoke-kitchen", "h1-smoke-hall", "h1-leak", "h1-meter", "h1-door",
          "h1-balcony", "h1-motion-hall", "h1-motion-living", "h1-button", "r1-band"]
OTHERS = ["h2-smoke-kitchen", "h2-door", "h3-motion-living", "b1-smoke-stair"]


def test_last_will_raises_at_once_and_a_message_clears() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        msg(reg, "h1-motion-hall", T0, online=True),
        msg(reg, "h1-motion-hall", T0 + MIN, online=False),
        msg(reg, "h1-motion-hall", T0 + 2 * HOUR, event="motion"),
    ])
    assert health(decisions, "device_offline") == [("raise", "device_offline", "h1-motion-hall", 60),
                                 ("clear", "device_offline", "h1-motion-hall", 7200)]
    assert of_type(decisions, "device_offline")[0].evidence["reason"] == "last_will"
    assert of_type(decisions, "device_offline")[0].severity.value == "Minor"


def test_last_will_without_a_time_takes_the_sites_event_time() -> None:
    reg = registry()
    eng = engine(reg)
    feed(eng, [msg(reg, "h1-door", T0 + 10 * MIN, event="open")])
    will = msg(reg, "h1-motion-hall", 0, online=False, ts_from_receipt=True)
    assert health(eng.process_one(will)) == [("raise", "device_offline", "h1-motion-hall", 600)]


@pytest.mark.parametrize(("gap_s", "raised"), [(BUDGET_S - 1, False), (BUDGET_S, True)])
def test_silence_budget_boundary(gap_s: int, raised: bool) -> None:
    reg = registry()
    eng = engine(reg, device_health={"heartbeat_budget_s": {"motion": BUDGET_S},
                                     "default_budget_s": 10 * BUDGET_S})
    # Everyone else keeps talking: only the motion sensor is silent.
    others = [d for d in ALL_H1 + OTHERS if d != "h1-motion-living"]
    messages = [msg(reg, "h1-motion-living", T0, event="motion")]
    messages += chatter(reg, others, T0, T0 + gap_s * S)
    messages += [msg(reg, "h1-motion-living", T0 + gap_s * S, event="motion")]
    decisions = feed(eng, sorted(messages, key=lambda m: m.ts_ms))
    expected = [("raise", "device_offline", "h1-motion-living", BUDGET_S),
                ("clear", "device_offline", "h1-motion-living", gap_s)] if raised else []
    assert health(decisions) == expected


def test_whole_site_silent_raises_one_site_offline() -> None:
    reg = registry()
    eng = engine(reg, device_health={"site_silence_s": 600, "gateway_silence_s": 1200,
                                     "heartbeat_budget_s": {"smoke": 1800}})
    everyone = ALL_H1 + OTHERS
    decisions = feed(eng, chatter(reg, everyone, T0, T0 + 30 * MIN))
    decisions += eng.advance(T0 + 6 * HOUR)
    assert health(decisions) == [("raise", "site_offline", "s1", 25 * 60 + 600)]
    assert of_type(decisions, "site_offline")[0].severity.value == "Moderate"
    back = feed(eng, chatter(reg, everyone, T0 + 6 * HOUR, T0 + 7 * HOUR))
    assert health(back) == [("clear", "site_offline", "s1", 6 * 3600)]


def test_silent_household_gateway_raises_one_alert_for_the_household() -> None:
    reg = registry()
    eng = engine(reg, device_health={"site_silence_s": 600, "gateway_silence_s": 1200,
                                     "heartbeat_budget_s": {"smoke": 1800}})
    messages = chatter(reg, ALL_H1 + OTHERS, T0, T0 + 30 * MIN)
    messages += chatter(reg, OTHERS, T0 + 30 * MIN, T0 + 6 * HOUR)
    decisions = feed(eng, messages) + eng.advance(T0 + 6 * HOUR)
    assert health(decisions) == [("raise", "device_offline", "h1", 25 * 60 + 1200)]
    (gateway,) = of_type(decisions, "device_offline")
    assert gateway.evidence["scope"] == "gateway" and gateway.device_id is None


def test_device_still_silent_after_its_site_came_back_is_reported() -> None:
    reg = registry()
    eng = engine(reg, device_health={"site_silence_s": 600, "gateway_silence_s": 1200,
                                     "heartbeat_budget_s": {"smoke": 1800}})
    everyone = ALL_H1 + OTHERS
    feed(eng, chatter(reg, everyone, T0, T0 + 30 * MIN))
    eng.advance(T0 + 3 * HOUR)
    quiet = [d for d in everyone if d != "h2-smoke-kitchen"]
    decisions = feed(eng, chatter(reg, quiet, T0 + 3 * HOUR, T0 + 5 * HOUR))
    assert ("raise", "device_offline", "h2-smoke-kitchen", 3 * 3600 + 1800) in health(decisions)


@pytest.mark.parametrize(("battery", "raised"), [(15.0, False), (14.9, True)])
def test_battery_low_boundary(battery: float, raised: bool) -> None:
    reg = registry()
    decisions = engine(reg).process_one(msg(reg, "h1-leak", T0, online=True, battery=battery))
    assert bool(of_type(decisions, "battery_low")) is raised


def test_battery_clears_when_replaced_and_stale_reports_are_ignored() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        msg(reg, "h1-leak", T0, online=True, battery=10.0),
        msg(reg, "h1-leak", T0 + HOUR, online=True, battery=29.9),
        msg(reg, "h1-leak", T0 + 2 * HOUR, online=True, battery=95.0),
        msg(reg, "h1-leak", T0 + 90 * MIN, online=True, battery=9.0),  # late, older
    ])
    assert health(decisions, "battery_low") == [("raise", "battery_low", "h1-leak", 0),
                                                ("clear", "battery_low", "h1-leak", 7200)]


def test_tamper_event_raises_tamper() -> None:
    reg = registry()
    decisions = engine(reg).process_one(msg(reg, "h1-smoke-hall", T0, event="tamper"))
    assert health(decisions, "tamper") == [("raise", "tamper", "h1-smoke-hall", 0)]
    assert of_type(decisions, "tamper")[0].severity.value == "Minor"
