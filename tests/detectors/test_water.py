from __future__ import annotations

import pytest

from ._support import MIN, T0, S, engine, feed, msg, of_type, registry, summary


def leaks(decisions):
    return summary(of_type(decisions, "water_leak"))


def test_leak_event_raises_and_dry_clears() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        msg(reg, "h1-leak", T0, event="leak"),
        msg(reg, "h1-leak", T0 + 60 * S, leak=True),  # still wet: nothing new
        msg(reg, "h1-leak", T0 + 600 * S, event="dry"),
    ])
    assert leaks(decisions) == [("raise", "water_leak", "h1-leak", 0),
                                ("clear", "water_leak", "h1-leak", 600)]
    assert decisions[0].severity.value == "Moderate"


def test_wet_telemetry_raises_too() -> None:
    reg = registry()
    decisions = engine(reg).process_one(msg(reg, "h1-leak", T0, leak=True))
    assert leaks(decisions) == [("raise", "water_leak", "h1-leak", 0)]


def test_stale_dry_reading_does_not_clear_a_newer_leak() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        msg(reg, "h1-leak", T0, event="leak"),
        msg(reg, "h1-leak", T0 - 30 * S, leak=False),
    ])
    assert leaks(decisions) == [("raise", "water_leak", "h1-leak", 0)]


def test_duplicate_leak_event_is_harmless() -> None:
    reg = registry()
    wet = msg(reg, "h1-leak", T0, event="leak", seq=3)
    assert leaks(feed(engine(reg), [wet, wet])) == [("raise", "water_leak", "h1-leak", 0)]


def meter(reg, minutes, flow):
    return msg(reg, "h1-meter", T0 + int(minutes * MIN), flow_lpm=flow)


@pytest.mark.parametrize(("minutes", "raised"), [(119, False), (120, True)])
def test_slow_leak_is_flow_that_never_stops(minutes: int, raised: bool) -> None:
    reg = registry()
    eng = engine(reg, water={"slow_leak_s": 7200})
    decisions = feed(eng, [meter(reg, m, 0.12) for m in range(0, minutes + 1, 15)]
                     + [meter(reg, minutes, 0.12)])
    # The flow stops right after: was it running for the whole slow_leak_s?
    decisions += feed(eng, [meter(reg, minutes + 0.01, 0.0)])
    slow = of_type(decisions, "water_leak")
    assert [d.action.value for d in slow] == (["raise", "clear"] if raised else [])
    if raised:
        assert slow[0].evidence["slow"] is True
        assert (slow[0].ts_ms - T0) // MIN == 120


def test_a_pause_in_the_flow_restarts_the_count() -> None:
    reg = registry()
    eng = engine(reg, water={"slow_leak_s": 7200})
    messages = [meter(reg, m, 0.5) for m in range(0, 100, 15)]
    messages += [meter(reg, 100, 0.0)]
    messages += [meter(reg, m, 0.5) for m in range(105, 220, 15)]
    decisions = feed(eng, messages) + eng.advance(T0 + 219 * MIN)
    assert of_type(decisions, "water_leak") == []


def test_flow_below_the_threshold_is_no_flow() -> None:
    reg = registry()
    eng = engine(reg, water={"slow_leak_s": 3600, "slow_leak_flow_lpm": 0.05})
    decisions = feed(eng, [meter(reg, m, 0.049) for m in range(0, 300, 15)])
    assert of_type(decisions, "water_leak") == []
