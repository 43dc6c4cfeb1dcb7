"""What every reading store does, run against the embedded SQLite store and a real InfluxDB."""

from __future__ import annotations

import threading

import pytest

from safehood.protocol import Message
from safehood.store import ReadingStore, StoredReading, StoreError, as_stored

from ._samples import T0, every_kind, message, smoke_series

H = "h001"
SITE = "xianlin-3"


def reading(device_id: str, channel: str, ts_ms: int, kind: str | None, fields: dict,
            household: str | None = H) -> StoredReading:
    return StoredReading(ts_ms=ts_ms, site=SITE, device_id=device_id, kind=kind, channel=channel,
                         fields=fields, household=household)


EXPECTED = {
    "h001-smoke": [
        reading("h001-smoke", "telemetry", T0 + 1, "smoke",
                {"smoke": 0.5, "temp_c": 21.5, "co_ppm": 3.0, "battery": 88.0, "seq": 1}),
        reading("h001-smoke", "event", T0 + 2, "smoke", {"event": "alarm", "seq": 2}),
        # A status message lives in another measurement (device_status) and has no kind.
        reading("h001-smoke", "status", T0 + 13, None,
                {"online": True, "rssi": -67.0, "battery": 87.0}, household=None),
    ],
    "r001-band": [
        reading("r001-band", "telemetry", T0 + 3, "wearable",
                {"hr_bpm": 72.0, "hz": 50.0, "samples": 3, "accel_peak_g": 7.0,
                 "accel_min_g": 1.0, "accel_mean_g": 13 / 3, "seq": 10}),
        reading("r001-band", "event", T0 + 4, "wearable", {"event": "fall", "seq": 11}),
    ],
    "h001-water": [
        reading("h001-water", "telemetry", T0 + 5, "water", {"leak": False, "flow_lpm": 6.25}),
        reading("h001-water", "event", T0 + 6, "water", {"event": "leak"}),
    ],
    "b1-door": [
        reading("b1-door", "telemetry", T0 + 7, "door", {"open": True}, household=None),
        reading("b1-door", "event", T0 + 8, "door",
                {"event": "denied", "credential": 'card "7", \\x'}, household=None),
    ],
    "h001-motion": [
        reading("h001-motion", "telemetry", T0 + 9, "motion", {"occupancy": True}),
        reading("h001-motion", "event", T0 + 10, "motion", {"event": "motion"}),
    ],
    "r001-button": [
        reading("r001-button", "telemetry", T0 + 11, "button", {"seq": 5}),
        reading("r001-button", "event", T0 + 12, "button", {"event": "sos", "battery": 40.5}),
    ],
}


def stored(store: ReadingStore, messages: list[Message]) -> None:
    store.write(messages)
    store.flush()


def test_every_kind_and_channel_reads_back_as_written(store: ReadingStore) -> None:
    stored(store, every_kind())

    for device_id, expected in EXPECTED.items():
        assert store.query(device_id, T0, T0 + 60_000) == expected, device_id


def test_as_stored_is_what_the_store_gives_back(store: ReadingStore) -> None:
    messages = every_kind()
    stored(store, messages)

    for sent in messages:
        assert as_stored(sent) in store.query(sent.device_id, T0, T0 + 60_000)


def test_field_types_are_what_a_reader_expects(store: ReadingStore) -> None:
    stored(store, every_kind())

    smoke = store.query("h001-smoke", T0, T0 + 60_000)
    band = store.query("r001-band", T0, T0 + 60_000)
    assert {k: type(v) for k, v in smoke[0].fields.items()} == {
        "smoke": float, "temp_c": float, "co_ppm": float, "battery": float, "seq": int,
    }
    assert type(band[0].fields["samples"]) is int
    assert type(smoke[2].fields["online"]) is bool


def test_counts_by_site_and_channel(store: ReadingStore) -> None:
    stored(store, every_kind() + every_kind(site="other-site") + smoke_series("s9", 7))

    assert store.count() == 13 + 13 + 7
    assert store.count(site="other-site") == 13
    assert store.count(channel="event") == 12
    assert store.count(channel="status") == 2
    assert store.count(site=SITE, channel="telemetry") == 6 + 7
    assert store.count(site="nowhere") == 0


def test_rewriting_keeps_one_copy(store: ReadingStore) -> None:
    first = smoke_series("d1", 50) + every_kind()
    stored(store, first)
    # Redelivery after a reconnect: the same messages again, mixed with new ones.
    stored(store, first[10:] + smoke_series("d1", 60)[50:])

    assert store.count() == 60 + 13
    assert len(store.query("d1", T0, T0 + 3_600_000)) == 60


def test_numbers_keep_one_type_per_field(store: ReadingStore) -> None:
    # Sent once as an int and then as a float; InfluxDB refuses a field that changes type.
    stored(store, [message("d2", "telemetry", T0, kind="smoke", fields={"smoke": 1, "temp_c": 20})])
    stored(store, [
        message("d2", "telemetry", T0 + 1, kind="smoke", fields={"smoke": 1.5, "temp_c": 20.5}),
        message("d2", "status", T0 + 2, fields={"online": False, "rssi": -70}),
        message("d2", "status", T0 + 3, fields={"online": True, "rssi": -70.5}),
    ])

    got = store.query("d2", T0, T0 + 10)
    assert [(r.fields.get("smoke"), r.fields.get("rssi")) for r in got] == [
        (1.0, None), (1.5, None), (None, -70.0), (None, -70.5),
    ]
    assert all(type(v) is float for r in got for k, v in r.fields.items() if k != "online")


def test_query_merges_measurements_in_time_order_within_bounds(store: ReadingStore) -> None:
    messages = [
        message("d3", "status", T0 + 5, fields={"online": True}),
        message("d3", "telemetry", T0 + 10, kind="door", fields={"open": True}),
        message("d3", "event", T0 + 10, kind="door", event="open"),
        message("d3", "status", T0 + 15, fields={"online": False}),
        message("d3", "event", T0 + 20, kind="door", event="close"),
        message("d3", "telemetry", T0 + 30, kind="door", fields={"open": False}),
        message("other", "telemetry", T0 + 12, kind="door", fields={"open": True}),
    ]
    stored(store, messages)

    got = store.query("d3", T0 + 5, T0 + 30)
    assert [(r.ts_ms - T0, r.channel) for r in got] == [
        (5, "status"), (10, "event"), (10, "telemetry"), (15, "status"), (20, "event"),
    ]
    limited = store.query("d3", T0, T0 + 100, limit=3)
    assert [(r.ts_ms - T0, r.channel) for r in limited] == [
        (5, "status"), (10, "event"), (10, "telemetry"),
    ]
    assert store.query("d3", T0 + 31, T0 + 100) == []
    assert store.query("nobody", T0, T0 + 100) == []


def test_query_keeps_only_the_channels_asked_for(store: ReadingStore) -> None:
    stored(store, [
        message("d5", "status", T0 + 1, fields={"online": True}),
        message("d5", "event", T0 + 2, kind="motion", event="motion"),
        message("d5", "telemetry", T0 + 3, kind="motion", fields={"occupancy": True}),
        message("d5", "status", T0 + 4, fields={"online": True}),
    ])

    readings = store.query("d5", T0, T0 + 10, channels={"event", "telemetry"})
    assert [(r.ts_ms - T0, r.channel) for r in readings] == [(2, "event"), (3, "telemetry")]
    assert [r.ts_ms - T0 for r in store.query("d5", T0, T0 + 10, channels=["status"])] == [1, 4]
    assert store.query("d5", T0, T0 + 10, channels=()) == []


def test_household_and_strings_with_special_characters(store: ReadingStore) -> None:
    stored(store, [message("d4", "event", T0, kind="door", household="block 7, flat=3",
                           event="denied", credential='a "quoted", back\\slash\nnext line')])

    [got] = store.query("d4", T0, T0 + 1)
    assert got.household == "block 7, flat=3"
    # Line protocol has no room for a newline; both stores keep the value on one line.
    assert got.fields["credential"] == 'a "quoted", back\\slash next line'


def test_reads_while_another_thread_writes(store: ReadingStore) -> None:
    batches = [smoke_series("d5", 100, t0=T0 + b * 100_000) for b in range(10)]
    errors: list[BaseException] = []

    def write_all() -> None:
        try:
            for batch in batches:
                store.write(batch)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writer = threading.Thread(target=write_all)
    writer.start()
    seen = 0
    while writer.is_alive():
        seen = max(seen, store.count(site=SITE))
        store.query("d5", T0, T0 + 10**7, limit=50)
    writer.join()
    store.flush()

    assert errors == []
    assert store.count(site=SITE) == 1_000
    assert len(store.query("d5", T0, T0 + 10**7)) == 1_000
    assert seen <= 1_000


def test_ping_check_and_close(store: ReadingStore) -> None:
    assert store.ping()
    store.check()
    store.close()
    assert not store.ping()
    with pytest.raises(StoreError, match="closed"):
        store.check()
