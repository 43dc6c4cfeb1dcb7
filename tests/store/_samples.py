"""Messages of every kind and channel, as ingest hands them to a store."""

from __future__ import annotations

from typing import Any

from safehood.protocol import Message, Placement
from tests._readings import reading

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def message(
    device_id: str, channel: str, ts_ms: int, *, site: str = "xianlin-3",
    kind: str | None = None, seq: int | None = None, battery: float | None = None,
    event: str | None = None, credential: str | None = None, fields: dict[str, Any] | None = None,
    **placement: Any,
) -> Message:
    """A message of ``channel`` whose reading holds ``fields`` (plus ``accel``/``hz`` of a
    wearable window, ``event``/``credential`` of an event)."""
    values = dict(fields or {})
    for name in ("accel", "hz"):
        if name in placement:
            values[name] = placement.pop(name)
    if channel == "event":
        values = {"event": event, "credential": credential}
    return Message.from_reading(reading(kind, channel, ts_ms, seq=seq, battery=battery, **values),
                                Placement(device_id, site, kind, **placement))


def every_kind(site: str = "xianlin-3", t0: int = T0) -> list[Message]:
    """Telemetry and an event of each device kind, and a status message: 13 messages."""
    h = "h001"
    return [
        message("h001-smoke", "telemetry", t0 + 1, site=site, kind="smoke", seq=1, battery=88,
                household=h, fields={"smoke": 0.5, "temp_c": 21.5, "co_ppm": 3}),
        message("h001-smoke", "event", t0 + 2, site=site, kind="smoke", seq=2, household=h,
                event="alarm"),
        message("r001-band", "telemetry", t0 + 3, site=site, kind="wearable", seq=10, household=h,
                fields={"hr_bpm": 72}, accel=((0.0, 0.0, 1.0), (0.0, 3.0, 4.0), (2.0, -3.0, 6.0)),
                hz=50),
        message("r001-band", "event", t0 + 4, site=site, kind="wearable", seq=11, household=h,
                event="fall"),
        message("h001-water", "telemetry", t0 + 5, site=site, kind="water", household=h,
                fields={"leak": False, "flow_lpm": 6.25}),
        message("h001-water", "event", t0 + 6, site=site, kind="water", household=h,
                event="leak"),
        message("b1-door", "telemetry", t0 + 7, site=site, kind="door", fields={"open": True}),
        message("b1-door", "event", t0 + 8, site=site, kind="door", event="denied",
                credential='card "7", \\x'),
        message("h001-motion", "telemetry", t0 + 9, site=site, kind="motion", household=h,
                fields={"occupancy": True}),
        message("h001-motion", "event", t0 + 10, site=site, kind="motion", household=h,
                event="motion"),
        message("r001-button", "telemetry", t0 + 11, site=site, kind="button", seq=5, household=h),
        message("r001-button", "event", t0 + 12, site=site, kind="button", household=h,
                event="sos", battery=40.5),
        message("h001-smoke", "status", t0 + 13, site=site, battery=87,
                fields={"online": True, "rssi": -67}),
    ]


def smoke_series(device_id: str, n: int, *, site: str = "xianlin-3", t0: int = T0,
                 step_ms: int = 1_000) -> list[Message]:
    """``n`` smoke readings of one device, one every ``step_ms``."""
    return [
        message(device_id, "telemetry", t0 + i * step_ms, site=site, kind="smoke", seq=i,
                fields={"smoke": (i % 30) / 10, "temp_c": 20 + i % 5})
        for i in range(n)
    ]
