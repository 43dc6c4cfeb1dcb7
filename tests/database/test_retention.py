"""Retention on a real database file and reading store, with an injected "now"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

from safehood._retention import RetentionTask, enforce_retention
from safehood.config import Settings
from safehood.database import (
    api_tokens,
    create_database_engine,
    dead_letters,
    migrate,
)
from safehood.database._tables import alert_history, alerts, notification_attempts, silences
from safehood.store import SqliteReadingStore
from tests._mqtt import wait_until
from tests.store._samples import message

DAY_MS = 86_400_000
NOW = 1_800_000_000_000


def alert_row(alert_id: str, *, resolved_ms: int | None, started_ms: int) -> dict[str, Any]:
    return {
        "id": alert_id, "open_key": None if resolved_ms else f"sos|{alert_id}", "type": "sos",
        "severity": "critical", "severity_rank": 4,
        "status": "resolved" if resolved_ms else "active", "site": "s1", "household": "h001",
        "resident": "r001", "device_id": "r001-button", "subject": alert_id,
        "started_ms": started_ms, "updated_ms": started_ms, "last_seen_ms": started_ms,
        "resolved_ms": resolved_ms, "count": 1, "confirmed": True, "exercise": False,
        "flapping": False, "evidence": {}, "tiers": [], "escalation_delay_ms": 0, "revision": 1,
    }


def _database(tmp_path: Path) -> Engine:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    return engine


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_pass_deletes_only_what_is_older_than_its_limit(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path, retention_readings_days=400,
                             retention_resolved_alerts_days=730, retention_dead_letters_days=30,
                             retention_personal_data_days=90)
    engine = _database(tmp_path)
    old, recent = NOW - 800 * DAY_MS, NOW - 100 * DAY_MS
    with engine.begin() as connection:
        connection.execute(insert(alerts), [
            alert_row("resolved-long-ago", resolved_ms=old + DAY_MS, started_ms=old),
            alert_row("resolved-lately", resolved_ms=recent, started_ms=old),
            # Open for over two years (never resolved): kept, whatever its age.
            alert_row("still-open", resolved_ms=None, started_ms=old),
        ])
        connection.execute(insert(alert_history), [
            {"alert_id": a, "at_ms": old, "action": "raised", "actor": "system", "note": None}
            for a in ("resolved-long-ago", "resolved-lately")])
        connection.execute(insert(notification_attempts), [{
            "alert_id": "resolved-long-ago", "key": "k", "change": "raised", "revision": 1,
            "tier": 0, "audience": "family", "target": "t", "url": "mailto://x@example.org",
            "attempt": 1, "at_ms": old, "ok": True, "result": "sent"}])
        connection.execute(insert(dead_letters), [
            {"received_ms": at, "topic": "t", "reason": "bad_json", "detail": "",
             "payload": b"x", "payload_size": 1}
            for at in (NOW - 31 * DAY_MS, NOW - 29 * DAY_MS)])
        connection.execute(insert(silences), [
            {"id": sid, "types": [], "starts_ms": 0, "ends_ms": ends, "created_by": "officer",
             "comment": "family on holiday"}
            for sid, ends in (("ended", NOW - 91 * DAY_MS), ("lately", NOW - 89 * DAY_MS))])
        connection.execute(insert(api_tokens), [
            {"id": tid, "token_hash": tid, "role": "family", "name": "Mrs Li", "sites": [],
             "residents": ["r001"], "created_ms": 0, "expires_ms": expires, "revoked_ms": revoked}
            for tid, expires, revoked in (("revoked", None, NOW - 91 * DAY_MS),
                                          ("expired", NOW - 91 * DAY_MS, None),
                                          ("live", None, None),
                                          ("revoked-lately", None, NOW - DAY_MS))])
    store = SqliteReadingStore(tmp_path / "readings.db")
    store.write([message("h001-motion", "telemetry", ts, kind="motion",
                         fields={"occupancy": True}, household="h001")
                 for ts in (NOW - 401 * DAY_MS, NOW - 399 * DAY_MS)])

    counts = enforce_retention(settings, engine, store, NOW)

    with engine.connect() as connection:
        kept = set(connection.execute(select(alerts.c.id)).scalars())
        tokens = set(connection.execute(select(api_tokens.c.id)).scalars())
        kept_silences = set(connection.execute(select(silences.c.id)).scalars())
    assert kept == {"resolved-lately", "still-open"}
    assert _count(engine, alert_history) == 1 and _count(engine, notification_attempts) == 0
    assert _count(engine, dead_letters) == 1
    assert kept_silences == {"lately"}
    assert tokens == {"live", "revoked-lately"}
    assert [r.ts_ms for r in store.query("h001-motion", 0, NOW)] == [NOW - 399 * DAY_MS]
    assert (counts.alerts, counts.dead_letters, counts.silences, counts.tokens) == (1, 1, 1, 2)
    # A second pass at the same instant finds nothing more.
    again = enforce_retention(settings, engine, store, NOW)
    assert (again.alerts, again.dead_letters, again.silences, again.tokens) == (0, 0, 0, 0)
    store.close()
    engine.dispose()


def test_the_task_runs_a_pass_when_started_and_stops(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path, retention_readings_days=1)
    engine = _database(tmp_path)
    store = SqliteReadingStore(tmp_path / "readings.db")
    store.write([message("h001-motion", "telemetry", NOW - 2 * DAY_MS, kind="motion",
                         fields={"occupancy": True}, household="h001")])
    task = RetentionTask(settings, engine, store, clock_ms=lambda: NOW)
    task.start()
    wait_until(lambda: store.count() == 0, what="the first retention pass")
    task.stop()
    store.close()
    engine.dispose()
