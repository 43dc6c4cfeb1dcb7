"""Deleting readings (retention and a resident's erasure) on the embedded store and a real
InfluxDB, through the same fixture as the behaviour tests."""

from __future__ import annotations

from safehood.store import ReadingStore

from ._samples import T0, message

DAY_MS = 86_400_000


def _write(store: ReadingStore) -> None:
    store.write([
        message("r001-button", "telemetry", T0, kind="button", seq=1,
                household="h001"),
        message("r001-button", "telemetry", T0 + 2 * DAY_MS, kind="button", seq=2,
                household="h001"),
        message("h001-motion", "telemetry", T0, kind="motion", fields={"occupancy": True},
                household="h001"),
        message("h001-motion", "telemetry", T0 + 2 * DAY_MS, kind="motion",
                fields={"occupancy": False}, household="h001"),
    ])
    store.flush()


def _times(store: ReadingStore, device_id: str) -> list[int]:
    return [r.ts_ms for r in store.query(device_id, 0, T0 + 10 * DAY_MS)]


def test_delete_before_keeps_what_is_younger_than_the_cutoff(store: ReadingStore) -> None:
    _write(store)
    store.delete_before(T0 + DAY_MS)
    assert _times(store, "r001-button") == [T0 + 2 * DAY_MS]
    assert _times(store, "h001-motion") == [T0 + 2 * DAY_MS]
    assert store.count() == 2


def test_delete_devices_removes_only_their_readings(store: ReadingStore) -> None:
    _write(store)
    store.delete_devices({"r001-button"})
    assert _times(store, "r001-button") == []
    assert _times(store, "h001-motion") == [T0, T0 + 2 * DAY_MS]
    store.delete_devices(set())
    assert store.count() == 2
