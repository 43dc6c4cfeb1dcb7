"""Response metrics and the handover report of a scripted day shift, against figures worked
out by hand."""

from __future__ import annotations

from safehood.alerting import (
    AlertManager,
    InMemoryAlertRepository,
    ShiftSchedule,
    handover_report,
    response_metrics,
)
from safehood.protocol import AlertStatus, Registry

from .conftest import MINUTE, T0, decision

SECOND = 1000
HOUR = 60 * MINUTE
# T0 is 08:00 in Shanghai: the day shift runs to T0 + 12 h.
SCHEDULE = ShiftSchedule(("20:00", "08:00"), "Asia/Shanghai")
SITE = "xianlin-3"


def scripted_shift(registry: Registry) -> AlertManager:
    """Four alerts in the day shift of 2026-01-01 and one at night:

    ======== ========= ============ ========== ========================
    alert    raised    acknowledged resolved   by hand
    ======== ========= ============ ========== ========================
    sos      08:10     +30 s        +300 s
    fall     09:00     +45 s        +1200 s
    leak     10:00     +90 s        +600 s
    door     11:00     never        never      11:30 to the family; reminders 12:00, 12:30
    sos      21:00     +20 s        open       (night shift)
    ======== ========= ============ ========== ========================
    """
    manager = AlertManager(InMemoryAlertRepository(), registry=registry)
    script = [
        (decision("sos", ts=T0 + 10 * MINUTE), 30, 300),
        (decision("fall", ts=T0 + HOUR), 45, 1200),
        (decision("water_leak", ts=T0 + 2 * HOUR, subject="h001-leak", resident=None), 90, 600),
        (decision("door_left_open", ts=T0 + 3 * HOUR, subject="h002-door", household="h002",
                  resident=None, device_id="h002-door"), None, None),
    ]
    for raise_, ack_s, resolve_s in script:
        [raised, *_] = manager.apply([raise_])
        if ack_s is not None:
            manager.acknowledge(raised.alert.id, "officer-li", at_ms=raise_.ts_ms + ack_s * SECOND)
        if resolve_s is not None:
            manager.resolve(raised.alert.id, "officer-li", at_ms=raise_.ts_ms + resolve_s * SECOND)
    for minutes in (210, 240, 270):
        manager.tick(T0 + minutes * MINUTE)
    night = decision("sos", ts=T0 + 13 * HOUR, subject="r001-night")
    [raised, *_] = manager.apply([night])
    manager.acknowledge(raised.alert.id, "officer-wu", at_ms=night.ts_ms + 20 * SECOND)
    return manager


def test_the_metrics_of_a_scripted_shift_match_the_hand_computed_figures(
        registry: Registry) -> None:
    manager = scripted_shift(registry)
    rows = {(r.type, r.shift): r for r in
            response_metrics(manager.list(), {SITE: SCHEDULE})}
    day = rows[("*", "2026-01-01 08:00-20:00")]
    # Acknowledged: 30, 45, 90 s of four alerts; median 45, p90 the 3rd of 3; 2 of 4 within 60 s.
    assert (day.acknowledge.count, day.acknowledge.answered) == (4, 3)
    assert (day.acknowledge.median_s, day.acknowledge.p90_s) == (45, 90)
    assert day.acknowledge.within_60s == 0.5
    # Resolved: 300, 1200, 600 s; median 600, p90 1200; none within 60 s.
    assert (day.resolve.median_s, day.resolve.p90_s, day.resolve.within_60s) == (600, 1200, 0.0)
    sos = rows[("sos", "2026-01-01 08:00-20:00")]
    assert (sos.acknowledge.count, sos.acknowledge.median_s, sos.resolve.median_s) == (1, 30, 300)
    door = rows[("door_left_open", "2026-01-01 08:00-20:00")]
    assert (door.acknowledge.answered, door.acknowledge.median_s,
            door.acknowledge.within_60s) == (0, None, 0.0)
    night = rows[("*", "2026-01-01 20:00-08:00")]
    assert (night.acknowledge.count, night.acknowledge.median_s,
            night.acknowledge.within_60s) == (1, 20, 1.0)
    assert (night.resolve.answered, night.resolve.median_s) == (0, None)
    # Grouped by shift name over all days: the same figures, one row per shift.
    by_name = {(r.type, r.shift) for r in
               response_metrics(manager.list(), {SITE: SCHEDULE}, by_shift="name")}
    assert {("*", "08:00"), ("*", "20:00")} <= by_name


def test_the_handover_lists_open_alerts_what_happened_and_unanswered_reminders(
        registry: Registry) -> None:
    manager = scripted_shift(registry)
    report = handover_report(SITE, manager.list(), SCHEDULE, T0 + 12 * HOUR - SECOND)
    assert report.shift.label == "2026-01-01 08:00-20:00"
    assert [a.type.value for a in report.open] == ["door_left_open"]
    assert sorted(a.type.value for a in report.happened) == [
        "door_left_open", "fall", "sos", "water_leak"]
    [(door, reminders)] = report.unacknowledged
    assert door.status == AlertStatus.FIRING and reminders == 2


def test_a_shift_that_wraps_midnight() -> None:
    schedule = ShiftSchedule(("08:00", "20:00"), "Asia/Shanghai")
    # 02:00 in Shanghai belongs to the night shift that began at 20:00 the day before.
    shift = schedule.shift_at(T0 - 6 * HOUR)
    assert shift.label == "2025-12-31 20:00-08:00"
    assert (shift.start_ms, shift.end_ms) == (T0 - 12 * HOUR, T0)
    assert [s.name for s in schedule.shifts(T0 - 6 * HOUR, T0 + 13 * HOUR)] == [
        "20:00", "08:00", "20:00"]
