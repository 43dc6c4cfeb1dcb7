"""The classifier's features: one numpy expression over a batch of windows of any lengths and
rates, the same row for a window whether it is scored alone or in a batch."""

from __future__ import annotations

import numpy as np

from safehood.learning import FEATURE_NAMES, WindowBatch, aftermath, feature_matrix, tail_directions
from safehood.simulators import _physics as physics


def windows(seed: int) -> list[physics.Window]:
    rng = np.random.default_rng(seed)
    return [physics.fall(rng), physics.fall(rng, seconds=2.0), physics.drop(rng),
            physics.sit_hard(rng), physics.jump(rng), physics.walking(rng),
            physics.lying(rng), physics.get_up(rng), physics.sit_hard_still(rng),
            physics.take_off(rng, seconds=3.0), physics.bed_flop(rng, hz=25.0)]


def test_a_batch_of_mixed_windows_gives_each_window_its_own_row() -> None:
    drawn = windows(3)
    batch = WindowBatch.of([w.accel for w in drawn], [w.hz for w in drawn])
    together = feature_matrix(batch)
    alone = np.vstack([feature_matrix(WindowBatch.of([w.accel], w.hz)) for w in drawn])
    assert together.shape == (len(drawn), len(FEATURE_NAMES))
    np.testing.assert_allclose(together, alone, rtol=1e-9, atol=1e-12)
    assert np.isfinite(together).all()


def test_features_say_what_they_name() -> None:
    rng = np.random.default_rng(11)
    fall, walk, drop = physics.fall(rng), physics.walking(rng), physics.drop(rng)
    rows = feature_matrix(WindowBatch.of([fall.accel, walk.accel, drop.accel],
                                         [fall.hz, walk.hz, drop.hz]))
    f = dict(zip(FEATURE_NAMES, rows.T, strict=True))
    assert f["peak_g"][0] >= 2.8 > f["peak_g"][1]
    assert f["free_fall_depth_g"][0] > 0.5 > f["free_fall_depth_g"][1]
    assert f["posture_change_deg"][0] >= 45
    # after a fall the body breathes; a dropped band lies dead still
    assert f["after_std_g"][0] > f["after_std_g"][2]


def test_features_tell_the_rules_hard_negatives_from_a_fall() -> None:
    rng = np.random.default_rng(5)
    wearer = physics.Wearer.draw(rng)
    noisy = physics.Wearer(**{**{name: getattr(wearer, name) for name in wearer.__slots__},
                              "sensor_noise_g": 0.015})
    drawn = [physics.fall(rng), physics.sit_hard_still(rng, wearer=wearer),
             physics.take_off(rng, wearer=noisy), physics.bed_flop(rng, wearer=wearer)]
    rows = feature_matrix(WindowBatch.of([w.accel for w in drawn], [w.hz for w in drawn]))
    f = dict(zip(FEATURE_NAMES, rows.T, strict=True))
    fall, sofa, table, bed = range(4)
    # Sitting is upright enough to be no lying.
    assert f["after_tilt_deg"][sofa] < 80 <= f["after_tilt_deg"][fall]
    # A cushion or a mattress stops a body slowly; the floor stops a band at once.
    assert f["impact_width_s"][sofa] > f["impact_width_s"][fall]
    assert f["impact_width_s"][bed] > f["impact_width_s"][fall]
    # A band on a table varies as much as a breathing body, but not once averaged.
    assert f["after_std_g"][table] > 0.008
    assert f["after_motion_g"][table] < f["after_motion_g"][fall]
    # and it fell freely.
    assert f["free_fall_depth_g"][table] > 0.9 > f["free_fall_depth_g"][fall]


def test_an_empty_window_reads_as_nothing_happened() -> None:
    rows = feature_matrix(WindowBatch.of([np.zeros((0, 3)), [(0.0, 0.0, 1.0)]], 25.0))
    assert np.isfinite(rows).all()
    assert rows[0, FEATURE_NAMES.index("peak_g")] == 0.0


def test_docstring_examples_run() -> None:
    import doctest

    from safehood.learning import _features

    result = doctest.testmod(_features, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_tail_directions_alone_are_aftermaths_to_the_bit() -> None:
    # The fall detector keeps only this of a window without an impact; the next window's
    # posture change is measured from it, so it must be the very same floats.
    rng = np.random.default_rng(7)
    for _ in range(300):
        samples = int(rng.integers(1, 120))
        window = rng.normal(0.0, rng.choice([0.01, 1.0, 3.0]), (samples, 3)) + rng.normal(0, 1, 3)
        batch = WindowBatch.of([window], float(rng.choice([10.0, 12.5, 25.0, 50.0])))
        whole = aftermath(batch, 3.0, only_impacts=True).tail_direction
        assert np.array_equal(tail_directions(batch), whole, equal_nan=True)
