"""Detection quality on a small labelled simulator recording (the full-size run, 100+
households for a week over several seeds, is bench/evaluate_detectors.py)."""

from __future__ import annotations

import pytest

from safehood.commands.detect import AlertSink
from safehood.evaluation import Scorecard, score

from .conftest import DAYS, HOUSEHOLDS, Recording


@pytest.fixture(scope="module")
def card(recording: Recording) -> Scorecard:
    from safehood.detectors import DetectorEngine

    engine = DetectorEngine(recording.registry)
    sink = AlertSink(recording.registry)
    for message in recording.messages:
        sink.apply(engine.process_one(message))
    last = max(m.ts_ms for m in recording.messages)
    sink.apply(engine.advance(last + engine.allowed_lateness_ms))
    return score(recording.labels, sink.alerts(), household_days=HOUSEHOLDS * DAYS)


@pytest.mark.parametrize("alert_type", ["fire", "sos", "forced_entry", "water_leak"])
def test_every_incident_of_the_critical_types_is_detected(card: Scorecard,
                                                          alert_type: str) -> None:
    result = card.score(alert_type)
    assert result is not None and result.labels > 0
    assert result.recall == 1.0, [m for m in card.missed if m.type == alert_type]


@pytest.mark.parametrize("alert_type", ["fall", "inactivity", "night_wandering"])
def test_at_least_nine_in_ten_of_the_others(card: Scorecard, alert_type: str) -> None:
    result = card.score(alert_type)
    assert result is not None and result.labels > 0
    assert result.recall is not None and result.recall >= 0.9


def test_no_fire_on_burnt_food_and_no_fall_on_a_dropped_band(card: Scorecard) -> None:
    fire, fall = card.score("fire"), card.score("fall")
    assert fire is not None and fire.negatives > 0 and fire.negatives_alerted == 0
    assert fall is not None and fall.negatives > 0 and fall.negatives_alerted == 0


def test_false_alarms_stay_rare(card: Scorecard) -> None:
    # Beats chance by far: an alarm raised at random would be false nearly every time.
    for result in card.scores:
        assert result.false_alarms_per_100_household_days <= 5.0, result
