"""Labels are accurate ground truth: in the recording, about registry devices, and each
incident's traffic is there at the label's start."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from safehood.protocol import AlertType
from safehood.simulators import SimulationConfig
from safehood.simulators.const import BATTERY_LOW_PCT

from .conftest import Recording

NEGATIVE_TYPES = {"nuisance_smoke", "fall_negative"}


def test_every_scenario_is_in_the_recording(recording: Recording) -> None:
    scenarios = {getattr(label, "scenario", None) for label in recording.labels}
    assert scenarios == set(SimulationConfig().scenarios)
    assert not recording.summary.notes


def test_labels_lie_within_the_recording_and_name_registry_entities(recording: Recording) -> None:
    registry = recording.registry
    start, end = recording.config.start_ms, recording.config.end_ms
    first_ts = min(r["payload"]["ts"] for r in recording.records)
    last_ts = max(r["payload"]["ts"] for r in recording.records)
    assert start <= first_ts and last_ts < end
    for label in recording.labels:
        assert label.type in {t.value for t in AlertType} | NEGATIVE_TYPES
        assert start <= label.start <= label.end < end, label
        assert label.household in registry.households
        household = registry.households[label.household]
        assert label.site == household.site
        if label.resident is not None:
            assert registry.residents[label.resident].household == label.household
        for device_id in [label.device_id, *getattr(label, "devices", [])]:
            if device_id is None:
                continue
            device = registry.devices[device_id]
            assert device.household == label.household
            if label.resident is not None and device.kind == "wearable":
                assert device.resident == label.resident


def _local(rec: Recording, household: str, ts: int) -> datetime:
    return datetime.fromtimestamp(ts / 1000, tz=rec.community.household(household).zone)


def test_night_wandering_is_a_resident_with_dementia_leaving_at_night(recording: Recording) -> None:
    labels = recording.labelled("night_wandering")
    assert labels
    for label in labels:
        assert label.household is not None and label.resident is not None
        spec = recording.community.household(label.household)
        assert recording.registry.residents[label.resident].dementia
        opened = [p for p in recording.messages(spec.devices.door, "event", label.start, label.start)
                  if p["event"] == "open"]
        assert opened, "the front door does not open at the label's start"
        local = _local(recording, label.household, label.start)
        night_start = int(spec.night[0][:2])
        night_end = int(spec.night[1][:2])
        assert local.hour >= night_start or local.hour < night_end
        assert label.end - label.start >= 20 * 60_000  # not back within minutes


def test_no_front_door_opens_at_night_but_for_night_wandering(recording: Recording) -> None:
    wandering = recording.labelled("night_wandering", "forced_entry", "fire")
    for spec in recording.community.households:
        if not any(r.dementia for r in spec.residents):
            continue
        for payload in recording.messages(spec.devices.door, "event"):
            if payload["event"] != "open":
                continue
            local = _local(recording, spec.id, payload["ts"])
            at_night = local.hour >= int(spec.night[0][:2]) or local.hour < int(spec.night[1][:2])
            if at_night:
                assert any(label.household == spec.id and label.start <= payload["ts"] <= label.end
                           for label in wandering), (spec.id, local)


def test_inactivity_is_an_elderly_person_alone_whose_home_falls_silent(recording: Recording) -> None:
    labels = recording.labelled("inactivity")
    assert labels
    for label in labels:
        assert label.household is not None
        spec = recording.community.household(label.household)
        assert spec.lives_alone and spec.residents[0].elderly
        assert label.end - label.start >= 4 * 3_600_000
        silent = [dev for _, dev in spec.devices.motion] + [spec.devices.door]
        for device_id in silent:
            assert not recording.messages(device_id, "event", label.start + 60_000, label.end - 1)
        band = spec.residents[0].wearable
        assert band is not None
        for payload in recording.messages(band, "telemetry", label.start + 60_000, label.end - 1):
            magnitude = np.linalg.norm(np.asarray(payload["accel"]), axis=1)
            assert magnitude.max() - magnitude.min() < 0.25  # no movement at all


def test_offline_devices_go_quiet_and_the_will_says_so(recording: Recording) -> None:
    labels = recording.labelled("device_offline")
    assert {getattr(label, "variant", None) for label in labels} == {"last_will", "silent"}
    for label in labels:
        assert label.device_id is not None
        quiet = [p for p in recording.messages(label.device_id, None, label.start + 1, label.end - 1)
                 if not p.get("will")]
        assert not quiet, f"{label.device_id} still talks while offline"
        at_start = recording.messages(label.device_id, None, label.start, label.start)
        if getattr(label, "variant", None) == "last_will":
            wills = [r for r in recording.by_device[label.device_id]
                     if r["channel"] == "status" and r["payload"].get("online") is False]
            assert [w["payload"]["ts"] for w in wills] == [label.start]
            assert all(w.get("retain") is True for w in wills)
        else:
            assert at_start, "a silent death starts at the device's last message"
        back = recording.messages(label.device_id, "status", label.end, label.end)
        if label.end < recording.config.end_ms - 1:
            assert back and back[0]["online"] is True


def test_battery_low_is_first_reported_at_the_label_start(recording: Recording) -> None:
    for label in recording.labelled("battery_low"):
        assert label.device_id is not None
        statuses = recording.messages(label.device_id, "status")
        first_low = next(p for p in statuses if p["battery"] < BATTERY_LOW_PCT)
        assert first_low["ts"] == label.start
        assert all(p["battery"] >= BATTERY_LOW_PCT for p in statuses if p["ts"] < label.start)
    ordinary = {r["payload"]["battery"] for r in recording.records
                if r["channel"] == "status" and "battery" in r["payload"]
                and r["device"] not in {label.device_id for label in recording.labelled("battery_low")}}
    assert min(ordinary) >= 30


def test_incidents_show_in_the_traffic_at_their_start(recording: Recording) -> None:
    expect = {
        "sos": ("event", "sos"),
        "forced_entry": ("event", "forced"),
        "door_left_open": ("event", "open"),
        "tamper": ("event", "tamper"),
    }
    for type_, (channel, event) in expect.items():
        labels = recording.labelled(type_)
        assert labels, type_
        for label in labels:
            assert label.device_id is not None
            events = [p["event"] for p in recording.messages(label.device_id, channel, label.start,
                                                              label.start)]
            assert event in events, label
    for label in recording.labelled("door_left_open"):
        assert label.device_id is not None
        closes = [p["ts"] for p in recording.messages(label.device_id, "event", label.start, label.end)
                  if p["event"] == "close"]
        assert closes == [label.end]
        assert label.end - label.start >= 15 * 60_000


def test_water_leaks_show_on_the_sensor_or_only_on_the_meter(recording: Recording) -> None:
    labels = recording.labelled("water_leak")
    assert {getattr(label, "variant", None) for label in labels} == {"sensor", "slow"}
    for label in labels:
        assert label.household is not None
        spec = recording.community.household(label.household)
        wet = [p for p in recording.messages(spec.devices.leak, "telemetry", label.start, label.end)
               if p["leak"]]
        flows = [p["flow_lpm"] for p in recording.messages(spec.devices.meter, "telemetry",
                                                           label.start + 1_800_000, label.end)]
        if getattr(label, "variant", None) == "sensor":
            assert wet and wet[0]["ts"] == label.start
            assert min(flows, default=2.0) >= 1.5
        else:
            assert label.device_id == spec.devices.meter
            assert not wet
            assert flows and min(flows) > 0.1  # never back to zero, nights included
