"""Real fires look like fires, cooking smoke never does, and every alarm is explained."""

from __future__ import annotations

from safehood.simulators.const import SMOKE_ALARM, SMOKE_PREALARM

from .conftest import Recording


def _detectors(rec: Recording, household: str) -> tuple[str, str]:
    spec = rec.community.household(household)
    return spec.devices.smoke_kitchen, spec.devices.smoke_hall


def _events(rec: Recording, device_id: str, event: str, start: int, end: int) -> list[int]:
    return [p["ts"] for p in rec.messages(device_id, "event", start, end) if p["event"] == event]


def test_a_fire_raises_smoke_over_minutes_on_two_detectors_with_heat(smoke: Recording) -> None:
    fires = smoke.labelled("fire")
    assert len(fires) >= 3
    for label in fires:
        assert label.household is not None
        kitchen, hall = _detectors(smoke, label.household)
        assert label.device_id == kitchen
        for detector in (kitchen, hall):
            alarms = _events(smoke, detector, "alarm", label.start, label.end)
            assert len(alarms) == 1, f"{detector} did not alarm in {label}"
            readings = smoke.messages(detector, "telemetry", label.start, alarms[0])
            rising = [p["ts"] for p in readings if p["smoke"] >= SMOKE_PREALARM]
            # Smoke builds up: well over a minute from the first trace to the alarm.
            assert alarms[0] - rising[0] >= 60_000
            assert max(p["smoke"] for p in smoke.messages(detector, "telemetry", label.start,
                                                          label.end)) > SMOKE_ALARM
        before = smoke.messages(kitchen, "telemetry", label.start - 3_600_000, label.start - 1)[-1]
        hottest = max(p["temp_c"] for p in smoke.messages(kitchen, "telemetry", label.start, label.end))
        assert hottest - before["temp_c"] > 10
        clear = _events(smoke, kitchen, "clear", label.start, label.end)
        assert clear and max(clear) <= label.end


def test_cooking_smoke_is_a_short_spike_on_one_kitchen_detector(smoke: Recording) -> None:
    nuisances = smoke.labelled("nuisance_smoke")
    assert len(nuisances) >= 3
    assert any(getattr(label, "alarm", False) for label in nuisances)
    for label in nuisances:
        assert label.household is not None
        kitchen, hall = _detectors(smoke, label.household)
        assert label.device_id == kitchen
        assert getattr(label, "negative", False) is True
        assert label.end - label.start < 3 * 60_000
        # Never on the second detector.
        assert all(p["smoke"] < SMOKE_PREALARM
                   for p in smoke.messages(hall, "telemetry", label.start - 300_000, label.end + 300_000))
        assert not _events(smoke, hall, "alarm", label.start - 300_000, label.end + 300_000)
        # If it alarms, it clears within two minutes.
        for alarm in _events(smoke, kitchen, "alarm", label.start, label.end):
            clears = _events(smoke, kitchen, "clear", alarm, alarm + 120_000)
            assert clears, f"the kitchen detector did not clear after {label}"
        # No heat: the kitchen stays within a few degrees of what it read before.
        before = smoke.messages(kitchen, "telemetry", label.start - 3_600_000, label.start - 1)[-1]
        during = smoke.messages(kitchen, "telemetry", label.start, label.end + 60_000)
        assert max(p["temp_c"] for p in during) - before["temp_c"] < 4
        assert max(p["smoke"] for p in during) < 15
        after = smoke.messages(kitchen, "telemetry", label.end + 30_000, label.end + 900_000)
        assert all(p["smoke"] < SMOKE_PREALARM for p in after)


def test_every_smoke_alarm_belongs_to_a_fire_or_a_nuisance_label(smoke: Recording,
                                                                 recording: Recording) -> None:
    for rec in (smoke, recording):
        spans = [label for label in rec.labelled("fire", "nuisance_smoke")]
        alarms = [(record["device"], record["payload"]["ts"]) for record in rec.records
                  if record["channel"] == "event" and record["payload"].get("event") == "alarm"]
        assert alarms
        for device, ts in alarms:
            assert any(device in (label.device_id, *getattr(label, "devices", []))
                       and label.start <= ts <= label.end for label in spans), (device, ts)


def test_ordinary_readings_stay_below_the_pre_alarm_level(recording: Recording) -> None:
    incidents = recording.labelled("fire", "nuisance_smoke")
    readings = 0
    for record in recording.records:
        payload = record["payload"]
        if record["channel"] != "telemetry" or payload.get("kind") != "smoke":
            continue
        if any(label.start - 60_000 <= payload["ts"] <= label.end + 1_800_000
               for label in incidents):
            continue
        assert 0 <= payload["smoke"] < SMOKE_PREALARM
        assert 10 < payload["temp_c"] < 30
        readings += 1
    assert readings > 10_000
