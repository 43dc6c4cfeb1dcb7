from __future__ import annotations

import numpy as np
import pytest

from safehood.detectors import DetectorConfig
from safehood.detectors.fall import accelerometer_says_fall, window_features
from safehood.simulators import _physics as physics

from ._support import MIN, T0, S, engine, feed, msg, of_type, registry, run_until, summary

FALL = DetectorConfig().fall


def band(reg, offset_ms, window, hr=70):
    extra = {} if hr is None else {"hr_bpm": hr}
    return msg(reg, "r1-band", T0 + offset_ms, accel=window.accel.tolist(), hz=window.hz, **extra)


def falls(decisions):
    return of_type(decisions, "fall")


@pytest.mark.parametrize("seed", range(5))
def test_fall_window_raises_a_possible_fall_at_the_impact(seed: int) -> None:
    reg = registry()
    window = physics.fall(np.random.default_rng(seed))
    decisions = engine(reg).process_one(band(reg, 0, window, hr=100))
    (fall,) = falls(decisions)
    assert (fall.action.value, fall.severity.value, fall.confirmed) == ("raise", "Severe", False)
    assert (fall.subject, fall.resident, fall.household) == ("r1", "r1", "h1")
    assert abs(fall.ts_ms - (T0 + window.impact_s * 1000)) <= 40


def test_dropped_band_is_caught_by_stillness_even_with_a_heart_rate() -> None:
    reg = registry()
    window = physics.drop(np.random.default_rng(7))
    assert falls(engine(reg).process_one(band(reg, 0, window, hr=80))) == []


def test_band_own_fall_event_right_after_a_drop_is_not_believed() -> None:
    reg = registry()
    window = physics.drop(np.random.default_rng(3))
    impact_ms = int(window.impact_s * 1000)
    decisions = feed(engine(reg), [
        band(reg, 0, window, hr=None),
        msg(reg, "r1-band", T0 + impact_ms + 1500, event="fall"),
    ])
    assert falls(decisions) == []


def test_band_own_fall_event_and_the_window_of_the_same_fall_make_one_alert() -> None:
    reg = registry()
    window = physics.fall(np.random.default_rng(1))
    impact_ms = int(window.impact_s * 1000)
    decisions = feed(engine(reg), [
        msg(reg, "r1-band", T0 + impact_ms + 1200, event="fall"),
        band(reg, 0, window, hr=100),  # the window arrives after the event
    ])
    (fall,) = falls(decisions)
    assert fall.action.value == "raise"
    assert fall.evidence["sources"] == ["accelerometer", "device"]


def test_band_own_fall_event_alone_raises_after_the_veto_time_at_its_own_time() -> None:
    reg = registry()
    eng = engine(reg)
    assert falls(eng.process_one(msg(reg, "r1-band", T0, event="fall"))) == []
    lateness = eng.allowed_lateness_ms
    assert falls(eng.advance(T0 + int(FALL.veto_s * S) + lateness - 1)) == []
    (fall,) = falls(eng.advance(T0 + int(FALL.veto_s * S) + lateness))
    assert (fall.action.value, fall.ts_ms, fall.evidence["sources"]) == ("raise", T0, ["device"])


def test_drop_window_arriving_after_the_bands_own_fall_event_still_vetoes_it() -> None:
    reg = registry()
    eng = engine(reg)
    window = physics.drop(np.random.default_rng(3))
    impact_ms = int(window.impact_s * 1000)
    decisions = eng.process_one(msg(reg, "r1-band", T0 + impact_ms + 1500, event="fall"))
    decisions += eng.process_one(band(reg, 0, window, hr=None))
    decisions += eng.advance(T0 + 10 * MIN)
    assert falls(decisions) == []


@pytest.mark.parametrize(("impact", "raised"), [(FALL.impact_g - 0.05, False),
                                                (FALL.impact_g + 0.05, True)])
def test_impact_threshold(impact: float, raised: bool) -> None:
    # Standing, an impact of the given peak, then lying still with a wearer's tremor.
    rng = np.random.default_rng(0)
    upright = np.tile([0.0, 1.0, 0.0], (50, 1))
    lying = np.tile([1.0, 0.0, 0.0], (60, 1)) + rng.normal(0, 0.015, (60, 3))
    samples = np.vstack([upright, [[impact, 0.0, 0.0]], lying])
    features = window_features(samples.tolist(), 25.0, FALL)
    assert (features.impact_at_s is not None and bool(features.still_after)) is raised


@pytest.mark.parametrize(("angle", "raised"), [(FALL.posture_change_deg - 2, False),
                                               (FALL.posture_change_deg + 2, True)])
def test_posture_change_threshold(angle: float, raised: bool) -> None:
    reg = registry()
    rng = np.random.default_rng(0)
    rad = np.radians(angle)
    after = np.tile([np.sin(rad), np.cos(rad), 0.0], (60, 1)) + rng.normal(0, 0.015, (60, 3))
    samples = np.vstack([np.tile([0.0, 1.0, 0.0], (50, 1)), [[0.0, 3.0, 0.0]], after])
    message = msg(reg, "r1-band", T0, accel=samples.tolist(), hz=25.0, hr_bpm=90)
    assert bool(falls(engine(reg).process_one(message))) is raised


def test_a_window_passed_over_still_gives_the_next_its_posture_before_the_impact() -> None:
    # The first window has no impact, so the detector does not measure it; the second opens
    # with one, so its posture before the impact is the first window's last second.
    reg = registry()
    rng = np.random.default_rng(3)
    upright = (np.tile([0.3, 0.95, 0.0], (50, 1)) + rng.normal(0, 0.02, (50, 3))).tolist()
    after = np.tile([1.0, 0.0, 0.0], (75, 1)) + rng.normal(0, 0.015, (75, 3))
    impact_first = np.vstack([[[0.0, 3.0, 0.0]], after]).tolist()
    detector = engine(reg)
    assert detector.process_one(msg(reg, "r1-band", T0, accel=upright, hz=25.0, hr_bpm=90)) == []
    (fall,) = falls(detector.process_one(
        msg(reg, "r1-band", T0 + 2 * S, accel=impact_first, hz=25.0, hr_bpm=90)))
    expected = window_features(
        impact_first, 25.0, FALL, window_features(upright, 25.0, FALL).tail_direction)
    assert fall.evidence["posture_change_deg"] == round(expected.posture_change_deg, 3)
    assert window_features(impact_first, 25.0, FALL).posture_change_deg is None


def lying_windows(reg, start_ms, count, posture):
    rng = np.random.default_rng(11)
    return [band(reg, start_ms + i * 2 * MIN, physics.lying(rng, posture=posture), hr=60)
            for i in range(count)]


@pytest.mark.parametrize(("up_after_s", "confirmed"), [(int(FALL.long_lie_s) - 1, False),
                                                       (int(FALL.long_lie_s), True)])
def test_long_lie_boundary(up_after_s: int, confirmed: bool) -> None:
    reg = registry()
    eng = engine(reg)
    window = physics.fall(np.random.default_rng(2))
    impact_ms = int(window.impact_s * 1000)
    decisions = eng.process_one(band(reg, 0, window, hr=100))
    up = physics.get_up(np.random.default_rng(3))
    decisions += eng.process_one(band(reg, impact_ms + up_after_s * S, up, hr=90))
    decisions += eng.advance(T0 + 30 * MIN)
    updates = [(d.action.value, d.severity.value, d.confirmed) for d in falls(decisions)]
    assert (("update", "Extreme", True) in updates) is confirmed
    assert "moved_at_ms" in falls(decisions)[-1].evidence


def test_lying_still_after_a_fall_confirms_it_and_getting_up_later_is_noted() -> None:
    reg = registry()
    eng = engine(reg)
    window = physics.fall(np.random.default_rng(4))
    posture = window.accel[-10:].mean(axis=0)
    posture = posture / np.linalg.norm(posture)
    decisions = feed(eng, [band(reg, 0, window, hr=100),
                           *lying_windows(reg, 2 * MIN, 10, posture)])
    decisions += eng.advance(T0 + 25 * MIN)
    assert [(d.action.value, d.severity.value) for d in falls(decisions)] == [
        ("raise", "Severe"), ("update", "Extreme")]


def test_duplicate_and_out_of_order_windows_are_harmless() -> None:
    reg = registry()
    window = physics.fall(np.random.default_rng(5))
    fall_message = band(reg, 0, window, hr=100)
    earlier = band(reg, -5 * MIN, physics.walking(np.random.default_rng(6)), hr=90)
    decisions = feed(engine(reg), [fall_message, fall_message, earlier])
    assert [d.action.value for d in falls(decisions)] == ["raise"]


def test_walking_is_not_a_fall() -> None:
    reg = registry()
    rng = np.random.default_rng(8)
    decisions = feed(engine(reg), [band(reg, i * 20 * S, physics.walking(rng), hr=90)
                                   for i in range(20)])
    assert summary(falls(decisions)) == []


def _fallen_and_lying(reg, eng, seed: int):
    window = physics.fall(np.random.default_rng(seed))
    posture = window.accel[-10:].mean(axis=0)
    posture = posture / np.linalg.norm(posture)
    return feed(eng, [band(reg, 0, window, hr=100), *lying_windows(reg, 2 * MIN, 3, posture)])


@pytest.mark.parametrize(("moved_after_s", "noted"), [(int(FALL.incident_s), True),
                                                      (int(FALL.incident_s) + 60, False)])
def test_movement_updates_the_fall_alert_only_within_the_incident(
        moved_after_s: int, noted: bool) -> None:
    # The last news of the incident is the long lie, confirmed long_lie_s after the fall.
    reg = registry()
    eng = engine(reg)
    decisions = _fallen_and_lying(reg, eng, 4)
    decisions += eng.advance(T0 + 6 * MIN)
    confirmed_ms = falls(decisions)[-1].ts_ms
    up = physics.get_up(np.random.default_rng(3))
    moved = eng.process_one(band(reg, confirmed_ms - T0 + moved_after_s * S, up, hr=90))
    assert [d.action.value for d in falls(moved)] == (["update"] if noted else [])


def test_fall_then_movement_hours_later_is_one_alert_offline() -> None:
    from safehood.commands.detect import AlertSink

    reg = registry()
    eng = engine(reg)
    sink = AlertSink(reg)
    sink.apply(_fallen_and_lying(reg, eng, 4))
    sink.apply(eng.advance(T0 + 6 * MIN))
    up = physics.get_up(np.random.default_rng(3))
    sink.apply(eng.process_one(band(reg, 3 * 60 * MIN, up, hr=90)))
    alerts = [a for a in sink.alerts() if a.type.value == "fall"]
    assert [(a.severity.value, a.count) for a in alerts] == [("Extreme", 2)]


def test_a_new_fall_after_the_quiet_gap_is_a_new_incident() -> None:
    reg = registry()
    eng = engine(reg)
    first = physics.fall(np.random.default_rng(4))
    up = physics.get_up(np.random.default_rng(3))
    second = physics.fall(np.random.default_rng(5))
    gap_ms = int(FALL.incident_s * 1000)
    decisions = feed(eng, [band(reg, 0, first, hr=100), band(reg, 1 * MIN, up, hr=90),
                           band(reg, 2 * MIN, second, hr=100),
                           band(reg, 2 * MIN + gap_ms + 1 * MIN, second, hr=100)])
    assert [d.action.value for d in falls(decisions)] == ["raise", "update", "update", "raise"]


# -- the learned path (fall.method: learned, the shipped model) ----------------------------------

LEARNED = {"fall": {"method": "learned"}}


@pytest.mark.parametrize("seed", range(5))
def test_learned_path_raises_a_fall_whose_window_ends_before_the_rules_can_see_it(seed: int) -> None:
    reg = registry()
    window = physics.fall(np.random.default_rng(seed), seconds=2.0)
    assert falls(engine(reg).process_one(band(reg, 0, window, hr=100))) == []
    (fall,) = falls(engine(reg, **LEARNED).process_one(band(reg, 0, window, hr=100)))
    assert (fall.action.value, fall.severity.value, fall.confirmed) == ("raise", "Severe", False)
    assert fall.evidence["method"] == "learned"
    assert fall.evidence["score"] >= fall.evidence["threshold"]
    assert abs(fall.ts_ms - (T0 + window.impact_s * 1000)) <= 40


@pytest.mark.parametrize("path", [{}, LEARNED], ids=["rules", "learned"])
@pytest.mark.parametrize("make", [physics.drop, physics.sit_hard, physics.jump])
@pytest.mark.parametrize("seed", range(5))
def test_hard_negatives_raise_nothing(path: dict, make, seed: int) -> None:
    reg = registry()
    window = make(np.random.default_rng(seed))
    hr = None if not window.worn else 80
    assert falls(engine(reg, **path).process_one(band(reg, 0, window, hr=hr))) == []


def test_learned_possible_fall_is_confirmed_only_by_a_long_lie() -> None:
    reg = registry()
    eng = engine(reg, **LEARNED)
    window = physics.fall(np.random.default_rng(8), seconds=2.0)
    decisions = feed(eng, [band(reg, 0, window, hr=100),
                           *lying_windows(reg, 30 * S, 1, physics.LYING[0])])
    assert [(d.action.value, d.severity.value) for d in falls(decisions)] == [("raise", "Severe")]
    decisions += eng.advance(T0 + 25 * MIN)
    assert [(d.action.value, d.severity.value, d.confirmed) for d in falls(decisions)] == [
        ("raise", "Severe", False), ("update", "Extreme", True)]
    assert falls(decisions)[1].ts_ms == falls(decisions)[0].ts_ms + FALL.long_lie_s * 1000


def test_learned_fall_then_getting_up_is_noted_and_not_confirmed() -> None:
    reg = registry()
    eng = engine(reg, **LEARNED)
    window = physics.fall(np.random.default_rng(9), seconds=2.0)
    up = physics.get_up(np.random.default_rng(10), posture=physics.LYING[1])
    decisions = feed(eng, [band(reg, 0, window, hr=100),
                           *lying_windows(reg, 20 * S, 1, physics.LYING[1]),
                           band(reg, 60 * S, up, hr=90)])
    decisions += eng.advance(T0 + 25 * MIN)
    assert [d.confirmed for d in falls(decisions)] == [False, False]
    assert "moved_at_ms" in falls(decisions)[-1].evidence


def test_an_unusable_fall_model_stops_the_engine_with_a_clear_error(tmp_path) -> None:
    from safehood.learning import ModelError

    (tmp_path / "model.joblib").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="model"):
        engine(registry(), fall={"method": "learned", "model": str(tmp_path / "model.joblib")})


def test_learned_path_does_not_believe_the_bands_own_fall_event_after_a_drop() -> None:
    reg = registry()
    window = physics.drop(np.random.default_rng(3))
    impact_ms = int(window.impact_s * 1000)
    decisions = run_until(reg, [band(reg, 0, window, hr=None),
                                msg(reg, "r1-band", T0 + impact_ms + 1500, event="fall")],
                          T0 + 10 * MIN, **LEARNED)
    assert falls(decisions) == []


def rule_fooling_windows(make, count: int) -> list[physics.Window]:
    """``count`` windows of a hard negative that the rule path takes for a fall, each drawn
    for a wearer of its own (a noisy band for one taken off)."""
    rng = np.random.default_rng(17)
    found: list[physics.Window] = []
    while len(found) < count:
        wearer = physics.Wearer.draw(rng)
        window = make(rng, wearer=wearer)
        features = window_features(window.accel, window.hz, FALL)
        if accelerometer_says_fall(features, FALL):
            found.append(window)
    return found


@pytest.mark.parametrize("make", [physics.sit_hard_still, physics.take_off, physics.bed_flop])
def test_the_rules_fall_for_a_settled_hard_negative_and_the_classifier_does_not(make) -> None:
    """Slumping onto a sofa, a band taken off onto a table, flopping onto a bed: an impact,
    stillness (a worn band's, or a noisy sensor's) and a new posture, then nothing moves.
    The rules raise it and, with no movement, confirm it; the classifier raises nothing."""
    reg = registry()
    for window in rule_fooling_windows(make, 3):
        rules = run_until(reg, [band(reg, 0, window, hr=75)], T0 + 10 * MIN)
        assert [(d.action.value, d.confirmed) for d in falls(rules)] == [
            ("raise", False), ("update", True)]
        learned = run_until(reg, [band(reg, 0, window, hr=75)], T0 + 10 * MIN, **LEARNED)
        assert falls(learned) == []
