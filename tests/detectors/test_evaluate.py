"""Scoring alerts against labels (safehood evaluate)."""

from __future__ import annotations

from typing import Any

import pytest

from safehood.evaluation import format_table, score
from safehood.protocol import Alert, Label, format_ts

from ._support import HOUR, MIN, T0, S


def label(kind: str, start: int, end: int, **extra: Any) -> Label:
    return Label.model_validate({"type": kind, "start": start, "end": end, "site": "s1", **extra})


def alert(kind: str, started: int, **fields: Any) -> Alert:
    base = {"id": f"a{started}", "type": kind, "severity": "Severe", "status": "firing",
            "site": "s1", "subject": fields.get("household") or fields.get("device_id") or "x",
            "started_at": format_ts(started)}
    return Alert.model_validate(base | fields)


def test_recall_precision_false_alarms_and_delay() -> None:
    labels = [label("sos", T0, T0 + 10 * MIN, household="h1", resident="r1"),
              label("sos", T0 + HOUR, T0 + HOUR + 10 * MIN, household="h2", resident="r2")]
    alerts = [alert("sos", T0 + 2 * S, household="h1", resident="r1"),
              alert("sos", T0 + 5 * HOUR, household="h3")]
    card = score(labels, alerts, household_days=200)
    sos = card.score("sos")
    assert sos is not None
    assert (sos.labels, sos.detected, sos.recall) == (2, 1, 0.5)
    assert (sos.alerts, sos.true_alerts, sos.precision, sos.false_alarms) == (2, 1, 0.5, 1)
    assert sos.false_alarms_per_100_household_days == pytest.approx(0.5)
    assert sos.delays_s == (2.0,)
    assert [m.household for m in card.missed] == ["h2"]


@pytest.mark.parametrize(("offset_s", "detected"), [(-60, True), (-61, False)])
def test_tolerance_before_the_label(offset_s: int, detected: bool) -> None:
    labels = [label("fall", T0, T0 + MIN, household="h1")]
    card = score(labels, [alert("fall", T0 + offset_s * S, household="h1")], household_days=1,
                 tolerance_s=60)
    assert card.score("fall").detected == int(detected)


@pytest.mark.parametrize(("after_end_s", "detected"), [(600, True), (601, False)])
def test_longest_delay_after_the_label_ends(after_end_s: int, detected: bool) -> None:
    labels = [label("fall", T0, T0 + MIN, household="h1")]
    card = score(labels, [alert("fall", T0 + MIN + after_end_s * S, household="h1")],
                 household_days=1, max_delay_s={"fall": 600})
    assert card.score("fall").detected == int(detected)


def test_alert_about_another_household_does_not_count() -> None:
    labels = [label("inactivity", T0, T0 + 6 * HOUR, household="h1", resident="r1")]
    card = score(labels, [alert("inactivity", T0 + 4 * HOUR, household="h2")],
                 household_days=1)
    assert card.score("inactivity").detected == 0


def test_any_device_the_label_names_will_do() -> None:
    labels = [label("water_leak", T0, T0 + HOUR, household="h1", device_id="h1-leak",
                    devices=["h1-leak", "h1-meter"])]
    alerts = [alert("water_leak", T0 + MIN, household="h1", device_id="h1-meter")]
    assert score(labels, alerts, household_days=1).score("water_leak").detected == 1


def test_fire_alert_on_burnt_toast_is_a_false_alarm_and_smoke_on_it_is_right() -> None:
    labels = [label("nuisance_smoke", T0, T0 + 2 * MIN, household="h1", negative=True,
                    alarm=True),
              label("nuisance_smoke", T0 + HOUR, T0 + HOUR + MIN, household="h2",
                    negative=True, alarm=False)]
    alerts = [alert("smoke", T0 + 20 * S, household="h1"),
              alert("fire", T0 + 60 * S, household="h1")]
    card = score(labels, alerts, household_days=10)
    fire, smoke = card.score("fire"), card.score("smoke")
    assert (fire.labels, fire.false_alarms, fire.negatives, fire.negatives_alerted) == (0, 1, 2, 1)
    # Burnt toast below the alarm level is right to raise nothing.
    assert (smoke.labels, smoke.detected, smoke.false_alarms) == (1, 1, 0)


def test_negative_fall_labels_count_alerts_on_them() -> None:
    labels = [label("fall_negative", T0, T0 + 3 * S, household="h1", negative=True)]
    card = score(labels, [alert("fall", T0 + S, household="h1")], household_days=1)
    fall = card.score("fall")
    assert (fall.labels, fall.false_alarms, fall.negatives, fall.negatives_alerted) == (0, 1, 1, 1)


def test_table_lists_every_type_with_aligned_columns() -> None:
    labels = [label("sos", T0, T0 + MIN, household="h1"), label("fire", T0, T0 + MIN,
                                                                   household="h2")]
    card = score(labels, [alert("sos", T0, household="h1")], household_days=100)
    lines = format_table(card).splitlines()
    assert lines[0].split()[:4] == ["type", "labels", "detected", "recall"]
    rows = {line.split()[0]: line.split() for line in lines[2:-1]}
    assert rows["sos"][3] == "100.0%" and rows["fire"][3] == "0.0%"
    assert len({len(line) for line in lines[:-1]}) == 1


def test_records_per_incident_and_per_false_alarm() -> None:
    # A fall raised twice for one label; a device raised and resolved every few minutes for
    # an hour is one false alarm of many records; the same device a day later is another.
    labels = [label("fall", T0, T0 + MIN, household="h1")]
    storm = [alert("device_offline", T0 + i * 5 * MIN, device_id="d1", household="h1")
             for i in range(12)]
    later = alert("device_offline", T0 + 30 * HOUR, device_id="d1", household="h1")
    alerts = [alert("fall", T0 + 2 * S, household="h1"), alert("fall", T0 + 3 * MIN, household="h1"),
              *storm, later]
    card = score(labels, alerts, household_days=1)
    assert card.score("fall").max_records_per_incident == 2
    offline = card.score("device_offline")
    assert (offline.false_alarms, offline.max_records_per_incident) == (13, 12)
    assert len(card.false_alerts) == 13
