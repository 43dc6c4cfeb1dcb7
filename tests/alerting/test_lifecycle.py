"""Alert lifecycle, deduplication, auto-resolve, queries and subscribers, on both repositories."""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from safehood.alerting import (
    AlertChange,
    AlertManager,
    AlertNotFound,
    AlertPolicy,
    AlertQuery,
    AlertRepository,
    HistoryEntry,
    InvalidTransition,
    StorageError,
    build_pipeline,
)
from safehood.database import SqlAlertRepository, create_database_engine
from safehood.protocol import AlertStatus, AlertType, parse_ts_ms
from tests._postgres import empty_tables

from .conftest import BACKENDS, MINUTE, T0, decision, sqlite_engine


def test_raise_acknowledge_resolve_keeps_history(manager: AlertManager) -> None:
    [raised] = manager.apply([decision("fall", evidence={"peak_g": 3.1})])
    assert raised.kind == "raised" and raised.notify
    assert raised.tier == 0 and raised.audience == ("officers",)
    alert = raised.alert
    assert alert.status == AlertStatus.FIRING
    assert alert.started_at == "2026-01-01T00:00:00.000Z"
    assert (alert.household, alert.resident, alert.evidence) == ("h001", "r001", {"peak_g": 3.1})

    acked = manager.acknowledge(alert.id, "officer-li", "on my way", at_ms=T0 + MINUTE)
    assert acked.status == AlertStatus.ACKNOWLEDGED
    assert acked.acknowledged_at == "2026-01-01T00:01:00.000Z"
    resolved = manager.resolve(alert.id, "officer-li", "helped up, unhurt", at_ms=T0 + 9 * MINUTE)
    assert resolved.status == AlertStatus.RESOLVED
    assert resolved.resolved_at == "2026-01-01T00:09:00.000Z"

    stored = manager.get(alert.id)
    assert stored is not None
    assert [(e.action, e.actor, e.note) for e in stored.history] == [
        ("raised", "system", "unconfirmed"),
        ("acknowledged", "officer-li", "on my way"),
        ("resolved", "officer-li", "helped up, unhurt"),
    ]
    assert stored.history[1].at == "2026-01-01T00:01:00.000Z"


def test_bad_ids_and_transitions_raise_own_errors(manager: AlertManager) -> None:
    with pytest.raises(AlertNotFound):
        manager.acknowledge("nope", "officer-li")
    assert manager.get("nope") is None
    [raised] = manager.apply([decision("sos")])
    manager.acknowledge(raised.alert.id, "officer-li")
    with pytest.raises(InvalidTransition, match="acknowledged"):
        manager.acknowledge(raised.alert.id, "officer-wu")
    manager.resolve(raised.alert.id, "officer-li")
    for action in (manager.acknowledge, manager.resolve, manager.escalate):
        with pytest.raises(InvalidTransition) as info:
            action(raised.alert.id, "officer-wu")
        assert info.value.status == "resolved"


def test_repeats_update_the_open_alert(manager: AlertManager) -> None:
    first = manager.apply([decision("water_leak", subject="h900-water", site="gulou-1",
                                    household="h900", resident=None, device_id="h900-water",
                                    severity="Moderate")])
    changes = manager.apply([
        decision("water_leak", ts=T0 + s * 1000, subject="h900-water", site="gulou-1",
                 household="h900", resident=None, device_id="h900-water", severity="Moderate",
                 evidence={"flow_lpm": s})
        for s in (30, 10, 20)
    ])
    assert [c.kind for c in changes] == ["updated"] * 3
    assert not any(c.notify for c in changes)
    alert = manager.get(first[0].alert.id)
    assert alert is not None
    assert alert.count == 4
    # Out-of-order repeats never move last_seen back.
    assert alert.last_seen_at == "2026-01-01T00:00:30.000Z"
    assert alert.evidence == {"flow_lpm": 20}
    assert manager.count(AlertQuery(types=("water_leak",))) == 1


def test_an_sos_weeks_after_its_alert_is_a_new_incident(manager: AlertManager) -> None:
    """An open sos alert takes in presses while its last press is at most an hour old; a
    press after a longer quiet raises (and notifies) a new alert and closes the old one."""
    def sos(ts: int) -> list[AlertChange]:
        return manager.apply([decision("sos", ts=ts, severity="Extreme", device_id="r001-button")])

    [first] = sos(T0)
    for ts in (T0 + 50 * MINUTE, T0 + 110 * MINUTE):  # each within the hour of the last
        assert "raised" not in [c.kind for c in sos(ts)]  # (escalations fall due meanwhile)
    alert = manager.get(first.alert.id)
    assert alert is not None and alert.count == 3 and alert.status == AlertStatus.FIRING

    weeks_later = T0 + 21 * 24 * 60 * MINUTE
    changes = sos(weeks_later)
    assert [(c.kind, c.notify) for c in changes[:2]] == [("resolved", False), ("raised", True)]
    old, new = manager.get(first.alert.id), changes[1].alert
    assert old is not None and old.status == AlertStatus.RESOLVED
    assert new.id != old.id and new.count == 1
    assert old.history[-1].note is not None and new.id in old.history[-1].note
    assert manager.count(AlertQuery(types=("sos",), statuses=(AlertStatus.FIRING,))) == 1


def test_the_incident_window_is_set_in_the_policy() -> None:
    policy = AlertPolicy.from_data({"types": {"sos": {"incident_window_s": 600},
                                              "fall": {"incident_window_s": 7200}}})
    assert policy.for_type(AlertType.SOS).incident_window_s == 600
    assert policy.for_type(AlertType.FALL).incident_window_s == 7200
    unbounded = AlertPolicy.from_data({"types": {"sos": {"no_incident_window": True}}})
    assert unbounded.for_type(AlertType.SOS).incident_window_s is None
    assert AlertPolicy().for_type(AlertType.WATER_LEAK).incident_window_s is None


def test_a_more_severe_or_confirmed_repeat_is_notified(manager: AlertManager) -> None:
    manager.apply([decision("smoke", subject="h001-smoke-kitchen", severity="Moderate",
                            confirmed=False, resident=None, device_id="h001-smoke-kitchen")])
    [lower] = manager.apply([decision("smoke", subject="h001-smoke-kitchen", severity="Minor",
                                      resident=None, confirmed=False,
                                      device_id="h001-smoke-kitchen")])
    assert not lower.notify and lower.alert.severity == "Moderate"
    [higher] = manager.apply([decision("smoke", subject="h001-smoke-kitchen",
                                       severity="Severe", confirmed=True, resident=None,
                                       device_id="h001-smoke-kitchen", ts=T0 + 1000)])
    assert higher.kind == "updated" and higher.notify
    assert higher.audience == ("officers",)
    assert higher.alert.severity == "Severe" and higher.alert.confirmed
    assert higher.alert.history[-1].note == "severity Moderate -> Severe; confirmed; count 3"


def test_resolved_alert_makes_room_for_a_new_one(manager: AlertManager) -> None:
    [first] = manager.apply([decision("sos")])
    manager.resolve(first.alert.id, "officer-li", at_ms=T0 + MINUTE)
    [second] = manager.apply([decision("sos", ts=T0 + 2 * MINUTE)])
    assert second.kind == "raised" and second.alert.id != first.alert.id
    assert manager.count(AlertQuery(types=("sos",))) == 2


def test_a_replayed_keyed_decision_changes_nothing(manager: AlertManager) -> None:
    # A scale-out worker replays what it applied before a crash: same keys, no second
    # alert, no second count, no change published (so no second notification).
    published: list[str] = []
    manager.subscribe(lambda change: published.append(change.kind))
    fall = decision("fall", key="readings/7/0")
    [raised] = manager.apply([fall])
    assert manager.apply([fall]) == []
    manager.resolve(raised.alert.id, "warden")
    # Even once the alert is resolved, the replay raises no new incident.
    assert manager.apply([fall]) == []
    assert [a.count for a in manager.list(AlertQuery())] == [1]
    assert manager.repository.applied("readings/7/0")
    assert not manager.repository.applied("readings/8/0")
    # A new message, with a new key, is a new decision as usual.
    [again] = manager.apply([decision("fall", ts=T0 + MINUTE, key="readings/8/0")])
    assert again.kind == "raised"
    assert published == ["raised", "resolved", "raised"]


def test_fire_is_never_auto_resolved(manager: AlertManager) -> None:
    # A confirmed fire: officers and family at once, the emergency contact and the building.
    [fire, emergency] = manager.apply([decision("fire", subject="h001", severity="Extreme",
                                                resident=None, device_id="h001-smoke-kitchen")])
    assert (fire.kind, fire.audience) == ("raised", ("officers", "family"))
    assert (emergency.kind, emergency.tier, emergency.audience) == \
        ("escalated", 1, ("emergency", "neighbours", "fire_station"))
    [cleared] = manager.apply([decision("fire", "clear", subject="h001", ts=T0 + MINUTE,
                                        severity="Extreme", resident=None)])
    assert cleared.kind == "updated" and not cleared.notify
    alert = manager.get(fire.alert.id)
    assert alert is not None
    assert alert.status == AlertStatus.FIRING
    assert alert.cleared_at == "2026-01-01T00:01:00.000Z"
    assert alert.history[-1].action == "condition-cleared"
    # A second clear adds nothing; the condition coming back lifts the clear.
    assert manager.apply([decision("fire", "clear", subject="h001", ts=T0 + 2 * MINUTE,
                                   severity="Extreme", resident=None)]) == []
    # Still unacknowledged after the 2 minute reminder interval: the officers are reminded.
    [back, reminder] = manager.apply([decision("fire", subject="h001", ts=T0 + 150_000,
                                               severity="Extreme", resident=None)])
    assert (reminder.kind, reminder.audience) == ("reminder", ("officers",))
    assert back.alert.cleared_at is None and back.alert.count == 2


def test_smoke_clears_as_nuisance_and_resolves_itself(manager: AlertManager) -> None:
    [smoke] = manager.apply([decision("smoke", subject="h001-smoke-kitchen", severity="Moderate",
                                      resident=None, confirmed=False,
                                      device_id="h001-smoke-kitchen")])
    [resolved] = manager.apply([decision("smoke", "clear", subject="h001-smoke-kitchen",
                                         ts=T0 + 40_000, severity="Moderate", resident=None,
                                         nuisance=True)])
    assert resolved.kind == "resolved"
    # Officers were told of the smoke, so they are told it cleared.
    assert resolved.notify and resolved.audience == ("officers",)
    alert = resolved.alert
    assert alert.id == smoke.alert.id and alert.status == AlertStatus.RESOLVED
    assert alert.history[-1].action == "auto-resolved"
    assert alert.history[-1].note == "condition cleared (nuisance)"
    # Nothing open: a further clear is dropped.
    assert manager.apply([decision("smoke", "clear", subject="h001-smoke-kitchen",
                                   ts=T0 + 50_000, resident=None)]) == []


def test_clear_of_a_manual_type_is_noted_not_resolved(manager: AlertManager) -> None:
    [fall] = manager.apply([decision("fall")])
    manager.apply([decision("fall", "clear", ts=T0 + MINUTE)])
    alert = manager.get(fall.alert.id)
    assert alert is not None and alert.status == AlertStatus.FIRING


def test_two_threads_applying_the_same_decision_make_one_alert(manager: AlertManager) -> None:
    barrier = threading.Barrier(2)
    results: list[list[AlertChange]] = []

    def apply() -> None:
        barrier.wait()
        for i in range(20):
            results.append(manager.apply([decision("sos", ts=T0 + i)]))

    threads = [threading.Thread(target=apply) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    kinds = sorted(c.kind for changes in results for c in changes)
    assert kinds == ["raised"] + ["updated"] * 39
    [alert] = manager.list(AlertQuery(types=("sos",)))
    assert alert.count == 40


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "memory"])
def test_two_managers_on_one_database_keep_one_open_alert(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    with ExitStack() as stack:
        if backend == "sqlite":
            engines = [sqlite_engine(tmp_path / "shared.db") for _ in range(2)]
            for engine in engines:
                stack.callback(engine.dispose)
        else:
            shared = request.getfixturevalue("postgres_alerts")
            empty_tables(shared)
            url = shared.url
            engines = [create_database_engine(url.render_as_string(hide_password=False))
                       for _ in range(2)]
            for engine in engines:
                stack.callback(engine.dispose)
        managers = [AlertManager(SqlAlertRepository(e)) for e in engines]
        barrier = threading.Barrier(len(managers))
        raised: list[str] = []

        def apply(manager: AlertManager) -> None:
            barrier.wait()
            for i in range(25):
                for change in manager.apply([decision("fall", ts=T0 + i)]):
                    if change.kind == "raised":
                        raised.append(change.alert.id)

        threads = [threading.Thread(target=apply, args=(m,)) for m in managers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        alerts = managers[0].list(AlertQuery())
        assert len(raised) == 1
        assert [a.id for a in alerts] == raised
        assert alerts[0].count == 50
        assert managers[1].get(raised[0]) == alerts[0]


def test_list_filters_orders_and_pages(manager: AlertManager) -> None:
    manager.apply([
        decision("battery_low", ts=T0, subject="h002-door", household="h002", resident=None,
                 device_id="h002-door", severity="Minor"),
        decision("fall", ts=T0 + 1000),
        decision("water_leak", ts=T0 + 2000, subject="h900-water", site="gulou-1",
                 household="h900", resident=None, device_id="h900-water", severity="Moderate"),
        decision("fire", ts=T0 + 3000, subject="h001", resident=None, severity="Extreme",
                 device_id="h001-smoke-kitchen"),
    ])
    newest = manager.list(AlertQuery())
    assert [a.type for a in newest] == ["fire", "water_leak", "fall", "battery_low"]
    by_severity = manager.list(AlertQuery(order="severity"))
    assert [a.severity for a in by_severity] == ["Extreme", "Severe", "Moderate", "Minor"]
    assert [a.type for a in manager.list(AlertQuery(sites="xianlin-3", limit=2))] == \
        ["fire", "fall"]
    assert [a.type for a in manager.list(AlertQuery(sites="xianlin-3", limit=2, offset=2))] == \
        ["battery_low"]
    assert [a.type for a in manager.list(AlertQuery(households=("h001",)))] == ["fire", "fall"]
    assert [a.type for a in manager.list(AlertQuery(residents=("r001",)))] == ["fall"]
    assert [a.type for a in manager.list(AlertQuery(severities=("Minor", "Moderate")))] == \
        ["water_leak", "battery_low"]
    assert [a.type for a in manager.list(AlertQuery(since_ms=T0 + 1000, until_ms=T0 + 3000))] \
        == ["water_leak", "fall"]
    fire = newest[0]
    manager.acknowledge(fire.id, "officer-li", at_ms=T0 + 4000)
    assert [a.type for a in manager.list(AlertQuery(statuses="acknowledged"))] == ["fire"]
    assert manager.count(AlertQuery(statuses=("firing",))) == 3
    assert manager.count(AlertQuery(sites=("xianlin-3",), limit=1)) == 3


def test_alerts_are_counted_by_type_and_status_in_one_call(manager: AlertManager) -> None:
    """What /metrics shows: the same figures as a count per pair (the generic way, which
    the SQL repository replaces by one grouped query)."""
    manager.apply([
        decision("fall", ts=T0),
        decision("battery_low", ts=T0, subject="h002-door", household="h002", resident=None,
                 device_id="h002-door", severity="Minor"),
        decision("battery_low", ts=T0, subject="h001-door", severity="Minor",
                 device_id="h001-door"),
    ])
    fall, *_ = manager.list(AlertQuery(types=("fall",)))
    manager.acknowledge(fall.id, "officer-li", at_ms=T0 + 1000)
    counts = manager.count_by_type_and_status()
    assert counts == {(AlertType.FALL, AlertStatus.ACKNOWLEDGED): 1,
                      (AlertType.BATTERY_LOW, AlertStatus.FIRING): 2}
    assert AlertRepository.count_by_type_and_status(manager.repository) == counts


def test_subscribers_get_every_change_and_cannot_break_apply(manager: AlertManager) -> None:
    seen: list[str] = []

    def broken(change: AlertChange) -> None:
        raise RuntimeError("subscriber bug")

    manager.subscribe(broken)
    unsubscribe = manager.subscribe(lambda change: seen.append(change.kind))
    [raised] = manager.apply([decision("sos")])
    manager.apply([decision("sos", ts=T0 + 1)])
    manager.acknowledge(raised.alert.id, "officer-li")
    unsubscribe()
    manager.resolve(raised.alert.id, "officer-li")
    assert seen == ["raised", "updated", "acknowledged"]


def test_malformed_decisions_are_skipped_not_raised(manager: AlertManager) -> None:
    good = decision("sos")
    bad = dataclasses.replace(good, subject="")
    changes = manager.apply([bad, "not a decision", good])  # type: ignore[list-item]
    assert [c.kind for c in changes] == ["raised"]


def test_evidence_is_kept_as_plain_json(manager: AlertManager) -> None:
    import numpy as np

    [raised] = manager.apply([decision("fall", evidence={
        "peak_g": np.float64(3.5), "samples": (1, 2), "at": datetime(2026, 1, 1, tzinfo=UTC)})])
    stored = manager.get(raised.alert.id)
    assert stored is not None
    assert stored.evidence == {"peak_g": 3.5, "samples": [1, 2],
                               "at": "2026-01-01T00:00:00+00:00"}


def test_registry_fills_in_household_and_resident(manager: AlertManager) -> None:
    [raised] = manager.apply([decision("fall", household=None, resident=None,
                                       device_id="r001-band", subject="r001-band")])
    assert (raised.alert.household, raised.alert.resident) == ("h001", "r001")


def test_exercise_alerts_are_marked(repository: SqlAlertRepository) -> None:
    manager = AlertManager(repository,
                           build_pipeline(AlertPolicy(), repository, exercise=True))
    [raised] = manager.apply([decision("sos")])
    assert raised.alert.exercise
    assert parse_ts_ms(raised.alert.started_at) == T0


def _apply_in_process(path: str, start: Any, repeats: int) -> None:
    """Child process: its own engine and manager on the shared SQLite file."""
    engine = sqlite_engine(Path(path))
    manager = AlertManager(SqlAlertRepository(engine))
    start.wait(60)
    for i in range(repeats):
        manager.apply([decision("fall", ts=T0 + i)])
    engine.dispose()


def test_two_processes_on_one_sqlite_file_keep_one_open_alert(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    sqlite_engine(path).dispose()  # migrate once, before the race
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    processes = [context.Process(target=_apply_in_process, args=(str(path), start, 30))
                 for _ in range(2)]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0]
    engine = sqlite_engine(path)
    try:
        [alert] = AlertManager(SqlAlertRepository(engine)).list(AlertQuery())
        assert alert.count == 60
        assert [e.action for e in alert.history] == ["raised"]
    finally:
        engine.dispose()


def test_database_failures_are_storage_errors(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    manager = AlertManager(SqlAlertRepository(engine))
    try:
        with pytest.raises(StorageError, match="no such table: alerts"):
            manager.apply([decision("sos")])
        with pytest.raises(StorageError):
            manager.list()
    finally:
        engine.dispose()


def test_commit_many_writes_each_item_alone_or_not_at_all(
    manager: AlertManager, repository: AlertRepository
) -> None:
    raised = manager.apply([decision("fall")])[0].alert
    record = repository.get(raised.id)
    assert record is not None
    newer = dataclasses.replace(record, revision=record.revision + 1, count=record.count + 1)
    second_open = dataclasses.replace(record, id="other", revision=1)
    note = HistoryEntry(at_ms=T0, action="note", actor="test", note="batched")
    # A second open alert of the same thing and a stale revision lose; the update between
    # them is written with its history all the same.
    assert repository.commit_many([
        (None, second_open, (), None),
        (record, newer, (note,), None),
        (record, dataclasses.replace(newer, count=99), (), None),
    ]) == [False, True, False]
    stored = repository.get(raised.id)
    assert stored is not None and stored.revision == newer.revision and stored.count == newer.count
    assert repository.get("other") is None
    assert note in repository.history([raised.id])[raised.id]
