from __future__ import annotations

import pytest

from safehood.detectors import DetectorConfig

from ._support import T0, S, engine, feed, msg, of_type, registry, summary

SMOKE = DetectorConfig().smoke
ALARM = SMOKE.alarm_obscuration
WINDOW_S = int(SMOKE.verify_window_s)
SUSTAIN_S = int(SMOKE.sustain_s)
SKEW_S = int(SMOKE.clock_skew_s)


def smoke(reg, device, offset_s, level, **extra):
    return msg(reg, device, T0 + int(offset_s * S), smoke=level, **extra)


def fire_and_smoke(decisions):
    return summary(of_type(decisions, "smoke", "fire"))


def test_first_alarm_reading_raises_smoke_unconfirmed_at_once() -> None:
    reg = registry()
    decisions = engine(reg).process_one(smoke(reg, "h1-smoke-kitchen", 0, ALARM))
    assert fire_and_smoke(decisions) == [("raise", "smoke", "h1", 0)]
    assert decisions[0].severity.value == "Severe"
    assert decisions[0].confirmed is False


def test_reading_just_below_the_alarm_level_raises_nothing() -> None:
    reg = registry()
    decisions = engine(reg).process_one(smoke(reg, "h1-smoke-kitchen", 0, ALARM - 0.01))
    assert fire_and_smoke(decisions) == []


def test_alarm_event_raises_smoke_and_test_event_does_not() -> None:
    reg = registry()
    eng = engine(reg)
    assert fire_and_smoke(eng.process_one(msg(reg, "h2-smoke-kitchen", T0, event="test"))) == []
    assert fire_and_smoke(eng.process_one(msg(reg, "h1-smoke-kitchen", T0, event="alarm"))) == [
        ("raise", "smoke", "h1", 0)]


@pytest.mark.parametrize(("second_at_s", "fire"), [(WINDOW_S, True), (WINDOW_S + 1, False)])
def test_second_detector_within_the_window_confirms_fire(second_at_s: int, fire: bool) -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        smoke(reg, "h1-smoke-kitchen", 0, ALARM + 1),
        smoke(reg, "h1-smoke-kitchen", 10, 0.1),  # the first one cleared again
        smoke(reg, "h1-smoke-hall", second_at_s, ALARM + 1),
    ])
    fires = of_type(decisions, "fire")
    assert bool(fires) is fire
    if fire:
        assert fires[0].severity.value == "Extreme" and fires[0].confirmed
        assert fires[0].evidence["confirmed_by"] == "second_detector"


def test_stairwell_detector_of_the_building_confirms_a_household_fire() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        smoke(reg, "h1-smoke-kitchen", 0, ALARM + 1),
        smoke(reg, "b1-smoke-stair", 20, ALARM + 1),
    ])
    assert ("raise", "fire", "h1", 20) in fire_and_smoke(decisions)
    # The stairwell's own smoke is reported on its own subject, and confirmed too.
    assert ("raise", "fire", "b1-smoke-stair", 20) in fire_and_smoke(decisions)


def test_household_in_another_building_does_not_confirm() -> None:
    reg = registry()
    data_h3_smoke = [smoke(reg, "h1-smoke-kitchen", 0, ALARM + 1)]
    decisions = feed(engine(reg), data_h3_smoke)
    assert of_type(decisions, "fire") == []


@pytest.mark.parametrize(("cleared_at_s", "fire"), [(SUSTAIN_S - 1, False), (SUSTAIN_S, True)])
def test_alarm_lasting_sustain_s_confirms_fire(cleared_at_s: int, fire: bool) -> None:
    reg = registry()
    eng = engine(reg)
    times = range(0, cleared_at_s, 5)
    decisions = feed(eng, [smoke(reg, "h1-smoke-kitchen", t, ALARM + 0.5) for t in times])
    decisions += feed(eng, [smoke(reg, "h1-smoke-kitchen", cleared_at_s, 0.0)])
    decisions += eng.advance(T0 + 10 * WINDOW_S * S)
    assert bool(of_type(decisions, "fire")) is fire


def test_alarm_event_without_readings_is_sustained_by_time() -> None:
    """A detector silent after its alarm confirms once the site's time has passed sustain_s
    plus the clock skew between devices (its own clock may run behind the site's)."""
    reg = registry()
    eng = engine(reg)
    silent_s = SUSTAIN_S + SKEW_S
    decisions = eng.process_one(msg(reg, "h1-smoke-kitchen", T0, event="alarm"))
    decisions += eng.advance(T0 + (silent_s - 1) * S + eng.allowed_lateness_ms)
    assert of_type(decisions, "fire") == []
    decisions += eng.advance(T0 + silent_s * S + eng.allowed_lateness_ms)
    assert summary(of_type(decisions, "fire")) == [("raise", "fire", "h1", silent_s)]


def test_a_detector_whose_clock_runs_behind_is_judged_by_its_own_readings() -> None:
    """Burnt toast: alarm for 40 s by the kitchen detector's clock, which runs 30 s behind
    the hall's. The hall's readings move the site's time past sustain_s before the kitchen's
    clear arrives; that is no fire."""
    reg = registry()
    eng = engine(reg)
    skew_ms = 30 * S
    decisions = feed(eng, [msg(reg, "h1-smoke-kitchen", T0 - skew_ms + t * S, smoke=10.0)
                           for t in range(0, 40, 10)])
    decisions += feed(eng, [msg(reg, "h1-smoke-hall", T0 + t * S, smoke=0.1)
                            for t in range(0, 100, 10)])
    decisions += feed(eng, [msg(reg, "h1-smoke-kitchen", T0 - skew_ms + 40 * S, smoke=1.0)])
    decisions += eng.advance(T0 + 10 * 60 * S)
    assert of_type(decisions, "smoke") and not of_type(decisions, "fire")


@pytest.mark.parametrize(("factor", "fire"), [(SMOKE.rise_factor - 0.01, False),
                                               (SMOKE.rise_factor, True)])
def test_rising_level_confirms_fire(factor: float, fire: bool) -> None:
    reg = registry()
    level = min(ALARM, 30 / SMOKE.rise_factor)
    decisions = feed(engine(reg), [
        smoke(reg, "h1-smoke-kitchen", 0, level),
        smoke(reg, "h1-smoke-kitchen", 5, min(30.0, level * factor)),
    ])
    assert bool(of_type(decisions, "fire")) is fire


@pytest.mark.parametrize(("rise", "fire"), [(SMOKE.temp_rise_c - 0.1, False),
                                             (SMOKE.temp_rise_c, True)])
def test_temperature_rise_confirms_fire(rise: float, fire: bool) -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        smoke(reg, "h1-smoke-kitchen", -300, 0.0, temp_c=22.0),
        smoke(reg, "h1-smoke-kitchen", 0, ALARM, temp_c=23.0),
        smoke(reg, "h1-smoke-kitchen", 5, ALARM, temp_c=22.0 + rise),
    ])
    assert bool(of_type(decisions, "fire")) is fire


def test_fixed_temperature_confirms_fire() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        smoke(reg, "h1-smoke-kitchen", 0, ALARM, temp_c=SMOKE.temp_fixed_c),
    ])
    assert [d.evidence["confirmed_by"] for d in of_type(decisions, "fire")] == ["temperature"]


def test_cooking_smoke_that_clears_quickly_resolves_as_nuisance() -> None:
    reg = registry()
    eng = engine(reg)
    decisions = feed(eng, [
        smoke(reg, "h1-smoke-kitchen", 0, ALARM + 0.5),
        smoke(reg, "h1-smoke-kitchen", 10, ALARM + 0.2),
        smoke(reg, "h1-smoke-kitchen", 20, 0.3),
    ])
    decisions += eng.advance(T0 + (WINDOW_S + 60) * S)
    assert fire_and_smoke(decisions) == [("raise", "smoke", "h1", 0),
                                         ("clear", "smoke", "h1", WINDOW_S)]
    assert decisions[-1].nuisance is True or of_type(decisions, "smoke")[-1].nuisance


def test_smoke_coming_back_within_the_window_is_the_same_incident() -> None:
    reg = registry()
    eng = engine(reg)
    decisions = feed(eng, [
        smoke(reg, "h1-smoke-kitchen", 0, ALARM),
        smoke(reg, "h1-smoke-kitchen", 10, 0.0),
        smoke(reg, "h1-smoke-kitchen", 20, ALARM),
    ])
    assert [d.action.value for d in of_type(decisions, "smoke")] == ["raise"]


def test_confirmed_fire_clears_when_every_detector_is_clear() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        smoke(reg, "h1-smoke-kitchen", 0, ALARM),
        smoke(reg, "h1-smoke-hall", 5, ALARM),
        smoke(reg, "h1-smoke-kitchen", 200, 0.0),
        smoke(reg, "h1-smoke-hall", 210, 0.0),
    ])
    assert fire_and_smoke(decisions)[-2:] == [("clear", "smoke", "h1", 210),
                                              ("clear", "fire", "h1", 210)]
    assert of_type(decisions, "smoke")[-1].nuisance is False


def test_stale_clear_reading_does_not_end_the_alarm() -> None:
    reg = registry()
    eng = engine(reg)
    decisions = feed(eng, [
        smoke(reg, "h1-smoke-kitchen", 0, ALARM),
        smoke(reg, "h1-smoke-kitchen", -5, 0.0),  # sent before the alarm, arrives after
    ])
    decisions += eng.advance(T0 + (WINDOW_S + 60) * S)
    # Still in alarm at the end of the window: sustained, so it is a fire.
    assert [d.evidence.get("confirmed_by") for d in of_type(decisions, "fire")] == ["sustained"]


def test_duplicate_alarm_is_harmless() -> None:
    reg = registry()
    alarm = smoke(reg, "h1-smoke-kitchen", 0, ALARM, seq=42)
    decisions = feed(engine(reg), [alarm, alarm])
    assert fire_and_smoke(decisions) == [("raise", "smoke", "h1", 0)]


def test_kitchens_of_two_households_do_not_confirm_each_other() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        smoke(reg, "h1-smoke-kitchen", 0, ALARM + 1),
        smoke(reg, "h2-smoke-kitchen", 20, ALARM + 1),
    ])
    assert fire_and_smoke(decisions) == [("raise", "smoke", "h1", 0), ("raise", "smoke", "h2", 20)]
