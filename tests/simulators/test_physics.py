"""The wearable's accelerometer windows look like the physics they claim to be."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from safehood.protocol import Label
from safehood.simulators import _physics as physics

from .conftest import Recording

FALL_FAMILY = ("fall", "fall_negative")


def signature(payload: dict[str, Any]) -> tuple[float, float, float, float]:
    """(lowest |a| before the peak, peak |a|, degrees the gravity axis turned, stillness after).

    The turn compares the mean of the first half second with the mean of the last second;
    stillness is the largest per-axis standard deviation over the last second.
    """
    accel = np.asarray(payload["accel"], dtype=float)
    hz = payload["hz"]
    magnitude = np.linalg.norm(accel, axis=1)
    peak_at = int(np.argmax(magnitude))
    dip = float(magnitude[: peak_at + 1].min())
    before = accel[: int(0.5 * hz)].mean(axis=0)
    after = accel[-int(hz):].mean(axis=0)
    cos = np.dot(before, after) / np.linalg.norm(before) / np.linalg.norm(after)
    turn = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return dip, float(magnitude[peak_at]), turn, float(accel[-int(hz):].std(axis=0).max())


def window_at(rec: Recording, label: Label) -> dict[str, Any]:
    """The window of ``label``'s band that contains the label's start (the impact)."""
    assert label.device_id is not None
    for payload in rec.messages(label.device_id, "telemetry", label.start - 10_000, label.start):
        duration = len(payload["accel"]) / payload["hz"] * 1000
        if payload["ts"] <= label.start <= payload["ts"] + duration:
            return payload
    raise AssertionError(f"no window of {label.device_id} covers the impact of {label}")


def test_the_recording_has_falls_and_every_kind_of_hard_negative(falls: Recording) -> None:
    variants = {getattr(label, "variant", None) for label in falls.labelled("fall_negative")}
    assert variants == set(physics.HARD_NEGATIVE_WINDOWS)
    recovered = {getattr(label, "recovered", None) for label in falls.labelled("fall")}
    assert recovered == {True, False}


def test_a_fall_window_has_free_fall_then_impact_then_a_new_orientation(falls: Recording) -> None:
    labels = falls.labelled("fall")
    assert len(labels) >= 6
    for label in labels:
        payload = window_at(falls, label)
        dip, peak, turn, stillness = signature(payload)
        assert dip < 0.6, f"no free fall in {label}"
        assert peak > 2.5, f"no impact in {label}"
        assert turn > 45, f"orientation did not change in {label}"
        # A person on the floor breathes and trembles, and the band is on the wrist.
        assert stillness > 0.008
        assert "hr_bpm" in payload


def test_hard_negatives_miss_the_fall_combination_in_their_own_way(falls: Recording) -> None:
    labels = [label for label in falls.labelled("fall_negative")
              if getattr(label, "variant", None) not in physics.WEARER_HARD_NEGATIVES]
    assert len(labels) >= 6
    for label in labels:
        assert getattr(label, "negative", False) is True
        payload = window_at(falls, label)
        dip, peak, turn, stillness = signature(payload)
        variant = getattr(label, "variant", None)
        if variant == "sit_hard":
            assert dip >= 0.6 and peak < 2.5
        elif variant == "jump":
            assert dip < 0.6 and peak > 2.5  # it does fly and land hard ...
            assert turn < 30  # ... but stays upright
        else:
            assert variant == "drop"
            # Free fall and impact, then the band lies flat and dead still, off the wrist.
            assert dip < 0.2 and peak > 2.5
            assert stillness < 0.008
            assert "hr_bpm" not in payload
            axis = np.abs(np.asarray(payload["accel"][-10:]).mean(axis=0))
            assert axis.max() > 0.98


def test_settled_hard_negatives_pass_for_a_fall_but_for_their_details(falls: Recording) -> None:
    """Slumping onto a sofa, a band taken off onto a table, flopping onto a bed: an impact and
    stillness in a new posture, as a fall, told apart by how they land and what follows."""
    labels = [label for label in falls.labelled("fall_negative")
              if getattr(label, "variant", None) in physics.WEARER_HARD_NEGATIVES]
    assert {getattr(label, "variant", None) for label in labels} == physics.WEARER_HARD_NEGATIVES
    for label in labels:
        payload = window_at(falls, label)
        dip, peak, turn, stillness = signature(payload)
        variant = getattr(label, "variant", None)
        assert "hr_bpm" in payload  # the band's running estimate, even when it comes off
        if variant == "sit_hard_still":
            assert dip > 0.5 and peak > 2.0  # no free fall, a hard landing
            assert 20 < turn < 85 and stillness > 0.008  # sitting, breathing
        elif variant == "bed_flop":
            assert 0.3 < dip < 0.75 and peak > 1.8  # a short tip back onto the mattress
            assert turn > 45 and stillness > 0.008  # lying, breathing
        else:
            assert variant == "take_off"
            assert dip < 0.2 and peak > 2.5  # a true free fall and a hard landing
            axis = np.abs(np.asarray(payload["accel"][-10:]).mean(axis=0))
            assert axis.max() > 0.95  # flat on the table
            assert label.device_id is not None and label.end is not None
            later = falls.messages(label.device_id, "telemetry", payload["ts"] + 10_000,
                                   label.end - 1)
            assert all("hr_bpm" not in window for window in later)


def test_falls_that_stay_down_report_lying_still_until_help_comes(falls: Recording) -> None:
    for label in falls.labelled("fall"):
        if getattr(label, "recovered", True):
            continue
        assert label.device_id is not None
        after = falls.messages(label.device_id, "telemetry", label.start + 60_000, label.end - 60_000)
        assert after, "the band says nothing while the resident is down"
        for payload in after:
            magnitude = np.linalg.norm(np.asarray(payload["accel"]), axis=1)
            assert magnitude.max() - magnitude.min() < 0.25


def test_ordinary_activity_never_looks_like_a_fall(falls: Recording, recording: Recording) -> None:
    checked = 0
    for rec in (falls, recording):
        spans = [(label.device_id, label.start - 15_000, label.end + 15_000)
                 for label in rec.labelled(*FALL_FAMILY)]
        for record in rec.records:
            payload = record["payload"]
            if "accel" not in payload:
                continue
            if any(record["device"] == device and lo <= payload["ts"] <= hi
                   for device, lo, hi in spans):
                continue
            magnitude = np.linalg.norm(np.asarray(payload["accel"]), axis=1)
            assert magnitude.min() > 0.6 and magnitude.max() < 2.0, payload["ts"]
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize(("make", "low", "high"), [(physics.walking, 1.5, 2.1),
                                                   (physics.stairs, 1.0, 1.6)])
def test_walking_and_stairs_oscillate_at_a_step_rate(make: Any, low: float, high: float) -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        window = make(rng, hz=25.0, seconds=4.0)
        magnitude = np.linalg.norm(window.accel, axis=1)
        spectrum = np.abs(np.fft.rfft(magnitude - magnitude.mean()))
        frequencies = np.fft.rfftfreq(len(magnitude), 1 / window.hz)
        assert low <= frequencies[int(np.argmax(spectrum))] <= high


def test_at_rest_the_band_reads_one_g() -> None:
    rng = np.random.default_rng(4)
    for make in (physics.sitting, physics.lying, physics.standing, physics.off_wrist):
        magnitude = np.linalg.norm(make(rng).accel, axis=1)
        assert 0.95 < magnitude.mean() < 1.05
        assert magnitude.std() < 0.06
