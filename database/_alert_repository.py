"""The alert store in the relational database (SQLite by default, PostgreSQL alike).

It lives here, beside the tables and migrations, not in ``alerting``: the database is an
edge like the reading store, and ``import safehood.alerting`` stays free of SQLAlchemy (the
``detect`` command and the tests of the lifecycle run on the in-memory repository).

SQLAlchemy Core: one open alert per (type, subject) is the unique index on
``alerts.open_key``; lost updates are prevented by ``revision`` checks. The one
dialect-specific statement is the ``INSERT ... ON CONFLICT DO NOTHING`` of an idempotent
decision's key (SQLite and PostgreSQL both have it), so that a replay is no error.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Insert, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from safehood.alerting import (
    AlertQuery,
    AlertRecord,
    AlertRepository,
    CommitItem,
    DeliveryAttempt,
    HistoryEntry,
    Silence,
    StorageError,
    WeeklyWindow,
    open_key,
)
from safehood.protocol import AlertStatus, AlertType, Severity

from ._tables import alert_history, alerts, applied_decisions, notification_attempts, silences

# Stay well below SQLite's limit of bound parameters per statement.
_CHUNK = 500

# The columns of a record, in the order :func:`_record` unpacks them (by position: looked
# up by name, a row's 27 values were a third of the records of a 500-alert page).
_RECORD_COLUMNS = (
    alerts.c.id, alerts.c.type, alerts.c.severity, alerts.c.status, alerts.c.site,
    alerts.c.subject, alerts.c.started_ms, alerts.c.updated_ms, alerts.c.last_seen_ms,
    alerts.c.household, alerts.c.resident, alerts.c.device_id, alerts.c.acknowledged_ms,
    alerts.c.resolved_ms, alerts.c.cleared_ms, alerts.c["count"], alerts.c.confirmed,
    alerts.c.exercise, alerts.c.flapping, alerts.c.evidence, alerts.c.tiers,
    alerts.c.escalation_delay_ms, alerts.c.next_reminder_ms, alerts.c.hold_until_ms,
    alerts.c.silenced_by, alerts.c.inhibited_by, alerts.c.revision,
)
_SELECT_RECORDS = select(*_RECORD_COLUMNS)
# Stored values to members by dict: calling the enum was a tenth of a record.
_TYPES = {t.value: t for t in AlertType}
_SEVERITIES = {s.value: s for s in Severity}
_STATUSES = {s.value: s for s in AlertStatus}

# The statements of a commit, built once with bound parameters: built per call with their
# values inlined (``.values(**row)``), SQLAlchemy coerced and hashed every value again, 70%
# of the CPU of an alert change (cProfile of AlertManager.apply and tick on SQLite).
_INSERT_ALERT = insert(alerts)
_UPDATE_ALERT = update(alerts).where(alerts.c.id == bindparam("before_id"),
                                     alerts.c.revision == bindparam("before_revision"))
_INSERT_HISTORY = insert(alert_history)
# Likewise the reads of each decision (its open alert, flapping, the active silences).
_SELECT_OPEN = _SELECT_RECORDS.where(alerts.c.open_key == bindparam("open_key"))
_COUNT_STARTED = select(func.count()).select_from(alerts).where(
    alerts.c.type == bindparam("type"), alerts.c.subject == bindparam("subject"),
    alerts.c.started_ms >= bindparam("since_ms"))
_SELECT_SILENCES = select(silences).order_by(silences.c.starts_ms, silences.c.id)
_SELECT_ACTIVE_SILENCES = _SELECT_SILENCES.where(
    silences.c.starts_ms <= bindparam("at_ms"), silences.c.ends_ms > bindparam("at_ms"))
# Only the columns an entry needs, unpacked by position (a row's attributes are looked up
# by name: a third of the history of a 500-alert page), in the order of the index on
# (alert_id, id): no sort of the entries.
_SELECT_HISTORY = select(
    alert_history.c.alert_id, alert_history.c.at_ms, alert_history.c.action,
    alert_history.c.actor, alert_history.c.note, alert_history.c.detail,
).where(alert_history.c.alert_id.in_(bindparam("ids", expanding=True))).order_by(
    alert_history.c.alert_id, alert_history.c.id)
_SELECT_ATTEMPTS = select(notification_attempts).where(
    notification_attempts.c.alert_id.in_(bindparam("ids", expanding=True))).order_by(
    notification_attempts.c.id)
# And the notification worker's, once a notification.
_INSERT_ATTEMPT = insert(notification_attempts)
_DELIVERED = select(notification_attempts.c.id).where(
    notification_attempts.c["key"] == bindparam("key"),
    notification_attempts.c.ok.is_(True)).limit(1)
_RECORD_KEY: dict[str, Insert] = {
    name: dialect.insert(applied_decisions).on_conflict_do_nothing().returning(
        applied_decisions.c.key)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


class SqlAlertRepository(AlertRepository):
    """Alerts in the database of ``engine`` (made by ``database.create_database_engine`` and
    migrated by ``database.migrate``). Thread safe; several processes may share the
    database. The engine belongs to the caller, who disposes of it.
    Database failures raise :class:`safehood.alerting.StorageError`.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError:
            raise
        except DBAPIError as exc:
            raise StorageError(f"alert database failed: {exc.orig or exc}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"alert database failed: {exc}") from exc

    def get(self, alert_id: str) -> AlertRecord | None:
        with self._errors(), self._engine.connect() as connection:
            row = connection.execute(_SELECT_RECORDS.where(alerts.c.id == alert_id)).first()
        return None if row is None else _record(row)

    def get_open(self, alert_type: AlertType, subject: str) -> AlertRecord | None:
        key = open_key(alert_type, subject)
        with self._errors(), self._engine.connect() as connection:
            row = connection.execute(_SELECT_OPEN, {"open_key": key}).first()
        return None if row is None else _record(row)

    def commit(self, before: AlertRecord | None, after: AlertRecord,
               events: Sequence[HistoryEntry] = (), key: str | None = None) -> bool:
        try:
            with self._errors(), self._engine.begin() as connection:
                if not self._write(connection, before, after, events, key):
                    connection.rollback()
                    return False
                return True
        except IntegrityError:
            return False

    def commit_many(self, items: Sequence[CommitItem]) -> list[bool]:
        # One transaction for the lot, a savepoint for each, so that one lost race (a
        # constraint or revision check) undoes that item alone.
        results: list[bool] = []
        with self._errors(), self._engine.begin() as connection:
            for before, after, events, key in items:
                savepoint = connection.begin_nested()
                try:
                    written = self._write(connection, before, after, events, key)
                except IntegrityError:
                    written = False
                if written:
                    savepoint.commit()
                else:
                    savepoint.rollback()
                results.append(written)
        return results

    @staticmethod
    def _write(connection: Connection, before: AlertRecord | None, after: AlertRecord,
               events: Sequence[HistoryEntry], key: str | None) -> bool:
        """One commit's statements on ``connection``; False when the revision check fails or
        ``key`` was recorded before (the caller rolls back), IntegrityError when the
        one-open-alert rule does."""
        # The write comes first in the transaction: SQLite then takes its write lock
        # (waiting for the busy timeout) instead of failing to upgrade a read.
        if before is None:
            connection.execute(_INSERT_ALERT, _values(after))
        else:
            result = connection.execute(_UPDATE_ALERT, {
                **_values(after), "before_id": before.id, "before_revision": before.revision})
            if result.rowcount != 1:
                return False
        if key is not None and not _record_key(connection, key, after.id):
            return False
        if events:
            connection.execute(_INSERT_HISTORY, [
                {"alert_id": after.id, "at_ms": e.at_ms, "action": e.action,
                 "actor": e.actor, "note": e.note,
                 "detail": dict(e.detail) if e.detail else None} for e in events])
        return True

    def query(self, query: AlertQuery) -> list[AlertRecord]:
        order = [alerts.c.started_ms.desc(), alerts.c.id.desc()]
        if query.order == "severity":
            order.insert(0, alerts.c.severity_rank.desc())
        statement = _SELECT_RECORDS
        if query.limit is None and not query.offset:
            statement = statement.where(*_filters(query))
        else:
            # A page's ids first, from the list-order indexes alone; then only its rows.
            # Sorting or skipping whole rows (evidence and all) took 0.1-3 s at 100,000.
            page = select(alerts.c.id).where(*_filters(query)).order_by(*order)
            if query.limit is not None:
                page = page.limit(query.limit)
            if query.offset:
                page = page.offset(query.offset)
            statement = statement.where(alerts.c.id.in_(page.scalar_subquery()))
        statement = statement.order_by(*order)
        with self._errors(), self._engine.connect() as connection:
            return [_record(row) for row in connection.execute(statement)]

    def count(self, query: AlertQuery) -> int:
        statement = select(func.count()).select_from(alerts).where(*_filters(query))
        with self._errors(), self._engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def count_by_type_and_status(self) -> dict[tuple[AlertType, AlertStatus], int]:
        # One pass: a count per pair read the resolved alerts' rows 13 times (/metrics took
        # 4.9 s of CPU at 100,000 alerts).
        statement = (select(alerts.c.type, alerts.c.status, func.count())
                     .group_by(alerts.c.type, alerts.c.status))
        with self._errors(), self._engine.connect() as connection:
            return {(AlertType(t), AlertStatus(s)): int(n)
                    for t, s, n in connection.execute(statement)}

    def count_started(self, alert_type: AlertType, subject: str, since_ms: int) -> int:
        with self._errors(), self._engine.connect() as connection:
            return int(connection.execute(_COUNT_STARTED, {
                "type": AlertType(alert_type).value, "subject": subject,
                "since_ms": since_ms}).scalar_one())

    def history(self, alert_ids: Sequence[str]) -> dict[str, list[HistoryEntry]]:
        result: dict[str, list[HistoryEntry]] = {}
        with self._errors(), self._engine.connect() as connection:
            for chunk in _chunks(alert_ids):
                for alert_id, at_ms, action, actor, note, detail in connection.execute(
                        _SELECT_HISTORY, {"ids": chunk}):
                    result.setdefault(alert_id, []).append(
                        HistoryEntry(at_ms, action, actor, note, detail))
        return result

    def add_silence(self, silence: Silence) -> None:
        with self._errors(), self._engine.begin() as connection:
            connection.execute(insert(silences).values(
                id=silence.id, site=silence.site, household=silence.household,
                device_id=silence.device_id, types=[t.value for t in silence.types],
                starts_ms=silence.starts_ms, ends_ms=silence.ends_ms,
                created_by=silence.created_by, created_ms=silence.created_ms,
                comment=silence.comment,
                weekly=[w.as_dict() for w in silence.weekly] or None,
                timezone=silence.timezone))

    def list_silences(self, active_at_ms: int | None = None) -> list[Silence]:
        statement, params = ((_SELECT_SILENCES, {}) if active_at_ms is None
                             else (_SELECT_ACTIVE_SILENCES, {"at_ms": active_at_ms}))
        with self._errors(), self._engine.connect() as connection:
            stored = [
                Silence(starts_ms=row.starts_ms, ends_ms=row.ends_ms, created_by=row.created_by,
                        comment=row.comment, site=row.site, household=row.household,
                        device_id=row.device_id, types=tuple(row.types or ()), id=row.id,
                        created_ms=row.created_ms,
                        weekly=tuple(WeeklyWindow(**w) for w in row.weekly or ()),
                        timezone=row.timezone or "UTC")
                for row in connection.execute(statement, params)
            ]
        # Recurring silences: the query bounds their validity; their windows are local time.
        return [s for s in stored if active_at_ms is None or s.active_at(active_at_ms)]

    def delete_silence(self, silence_id: str) -> bool:
        with self._errors(), self._engine.begin() as connection:
            result = connection.execute(delete(silences).where(silences.c.id == silence_id))
            return bool(result.rowcount)

    def record_attempt(self, attempt: DeliveryAttempt, event: HistoryEntry | None = None) -> None:
        with self._errors(), self._engine.begin() as connection:
            connection.execute(_INSERT_ATTEMPT, {
                "alert_id": attempt.alert_id, "key": attempt.key, "change": attempt.change,
                "revision": attempt.revision, "tier": attempt.tier,
                "audience": attempt.audience, "target": attempt.target, "url": attempt.url,
                "attempt": attempt.attempt, "at_ms": attempt.at_ms, "ok": attempt.ok,
                "result": attempt.result, "error": attempt.error})
            if event is not None:
                connection.execute(_INSERT_HISTORY, {
                    "alert_id": attempt.alert_id, "at_ms": event.at_ms, "action": event.action,
                    "actor": event.actor, "note": event.note,
                    "detail": dict(event.detail) if event.detail else None})

    def attempts(self, alert_ids: Sequence[str]) -> dict[str, list[DeliveryAttempt]]:
        result: dict[str, list[DeliveryAttempt]] = {}
        with self._errors(), self._engine.connect() as connection:
            for chunk in _chunks(alert_ids):
                for row in connection.execute(_SELECT_ATTEMPTS, {"ids": chunk}):
                    attempt = _attempt(row._mapping)
                    result.setdefault(attempt.alert_id, []).append(attempt)
        return result

    def recent_attempts(self, audience: str, limit: int) -> list[DeliveryAttempt]:
        columns = notification_attempts.c
        statement = (select(notification_attempts).where(columns.audience == audience)
                     .order_by(columns.id.desc()).limit(limit))
        with self._errors(), self._engine.connect() as connection:
            return [_attempt(row._mapping) for row in connection.execute(statement)]

    def delivered(self, key: str) -> bool:
        with self._errors(), self._engine.connect() as connection:
            return connection.execute(_DELIVERED, {"key": key}).first() is not None

    def applied(self, key: str) -> bool:
        statement = select(applied_decisions.c.key).where(applied_decisions.c.key == key)
        with self._errors(), self._engine.connect() as connection:
            return connection.execute(statement).first() is not None


def _record_key(connection: Connection, key: str, alert_id: str) -> bool:
    """Record an idempotent decision's key; ``False`` when it was there already."""
    dialect = connection.dialect.name
    statement = _RECORD_KEY.get(dialect)
    if statement is None:
        raise StorageError(f"idempotent alert changes need SQLite or PostgreSQL, not {dialect}")
    return connection.execute(statement, {"key": key, "alert_id": alert_id}).first() is not None


def _attempt(m: RowMapping) -> DeliveryAttempt:
    return DeliveryAttempt(
        alert_id=m["alert_id"], key=m["key"], change=m["change"], revision=m["revision"],
        tier=m["tier"], audience=m["audience"], target=m["target"], url=m["url"],
        attempt=m["attempt"], at_ms=m["at_ms"], ok=bool(m["ok"]), result=m["result"],
        error=m["error"])


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    items = list(dict.fromkeys(items))
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _filters(query: AlertQuery) -> list[ColumnElement[bool]]:
    c = alerts.c
    filters: list[ColumnElement[bool]] = []
    for column, values in (
        (c.site, query.sites), (c.household, query.households), (c.resident, query.residents),
        (c.device_id, query.devices), (c.type, [t.value for t in query.types]),
        (c.status, [s.value for s in query.statuses]),
        (c.severity, [s.value for s in query.severities]),
    ):
        if values:
            filters.append(column.in_(list(values)))
    if query.since_ms is not None:
        filters.append(c.started_ms >= query.since_ms)
    if query.until_ms is not None:
        filters.append(c.started_ms < query.until_ms)
    return filters


def _values(record: AlertRecord) -> dict[str, Any]:
    return {
        "id": record.id, "open_key": record.open_key, "type": record.type.value,
        "severity": record.severity.value, "severity_rank": record.severity.rank,
        "status": record.status.value, "site": record.site, "household": record.household,
        "resident": record.resident, "device_id": record.device_id, "subject": record.subject,
        "started_ms": record.started_ms, "updated_ms": record.updated_ms,
        "last_seen_ms": record.last_seen_ms, "acknowledged_ms": record.acknowledged_ms,
        "resolved_ms": record.resolved_ms, "cleared_ms": record.cleared_ms,
        "count": record.count, "confirmed": record.confirmed, "exercise": record.exercise,
        "flapping": record.flapping, "evidence": dict(record.evidence),
        "tiers": sorted(record.tiers), "escalation_delay_ms": record.escalation_delay_ms,
        "next_reminder_ms": record.next_reminder_ms,
        "hold_until_ms": record.hold_until_ms, "silenced_by": record.silenced_by,
        "inhibited_by": record.inhibited_by,
        "revision": record.revision,
    }


def _record(row: Sequence[Any]) -> AlertRecord:
    """A row of ``_SELECT_RECORDS`` as its record."""
    (id_, type_, severity, status, site, subject, started_ms, updated_ms, last_seen_ms,
     household, resident, device_id, acknowledged_ms, resolved_ms, cleared_ms, count,
     confirmed, exercise, flapping, evidence, tiers, escalation_delay_ms, next_reminder_ms,
     hold_until_ms, silenced_by, inhibited_by, revision) = row
    return AlertRecord(
        id=id_, type=_TYPES[type_], severity=_SEVERITIES[severity], status=_STATUSES[status],
        site=site, subject=subject, started_ms=started_ms, updated_ms=updated_ms,
        last_seen_ms=last_seen_ms, household=household, resident=resident,
        device_id=device_id, acknowledged_ms=acknowledged_ms, resolved_ms=resolved_ms,
        cleared_ms=cleared_ms, count=count, confirmed=bool(confirmed),
        exercise=bool(exercise), flapping=bool(flapping), evidence=dict(evidence or {}),
        tiers=frozenset(tiers or ()), escalation_delay_ms=escalation_delay_ms,
        next_reminder_ms=next_reminder_ms, hold_until_ms=hold_until_ms,
        silenced_by=silenced_by, inhibited_by=inhibited_by, revision=revision,
    )
