"""What each registered device costs the engine: per-device state stays small (slotted
objects, nothing made before it is needed), and the registry's household indexes agree
with the registry."""

from __future__ import annotations

from safehood.detectors.device_health import (
    DeviceOfflineDetector,
    ReportingCadence,
)
from safehood.protocol import DuplicateFilter

from ._support import engine, msg, registry

T0 = 1_772_409_600_000


def test_per_device_detectors_have_no_instance_dict() -> None:
    # A __dict__ is over 100 bytes an object: at 100,000 devices, tens of megabytes.
    reg = registry()
    live = engine(reg)
    device = next(d for d in reg.devices.values() if d.kind == "smoke")
    live.process_one(msg(reg, device.device_id, T0, online=True, battery=80))
    per_device = (DeviceOfflineDetector, ReportingCadence)
    made = [d for d in live._detectors.values() if isinstance(d, per_device)]
    assert made
    for detector in made:
        assert not hasattr(detector, "__dict__"), type(detector).__name__
        if isinstance(detector, DeviceOfflineDetector):
            assert not hasattr(detector.cadence, "__dict__")


def test_household_indexes_match_a_scan_of_the_registry() -> None:
    reg = registry()
    for household in reg.households:
        assert reg.household_residents(household) == [
            r for r in reg.residents.values() if r.household == household]
        assert reg.household_devices(household) == [
            d for d in reg.devices.values() if d.household == household]
    assert reg.household_residents("nobody") == [] and reg.household_devices("nobody") == []


def test_duplicate_filter_forgets_only_past_its_window() -> None:
    reg = registry()
    device = next(iter(reg.devices))
    dedup = DuplicateFilter(window=3)
    messages = [msg(reg, device, T0 + i * 1000, online=True) for i in range(5)]
    assert [dedup.is_duplicate(m) for m in messages] == [False] * 5
    # The last three are remembered, the first two forgotten (oldest first).
    assert [dedup.is_duplicate(m) for m in messages[2:]] == [True] * 3
    assert dedup.is_duplicate(messages[0]) is False


def test_duplicate_filter_forgets_keys_past_its_retention() -> None:
    # A device heard once a minute for an hour: ingest keeps its last ten minutes of keys,
    # not the window's thousands (at 100,000 devices, gigabytes after a few days).
    reg = registry()
    device = next(iter(reg.devices))
    dedup = DuplicateFilter(window=4_096, retention_s=600)
    minutes = [msg(reg, device, T0 + i * 60_000, online=True) for i in range(60)]
    assert [dedup.is_duplicate(m) for m in minutes] == [False] * 60
    assert [dedup.is_duplicate(m) for m in minutes[49:]] == [True] * 11
    assert dedup.is_duplicate(minutes[48]) is False
