"""The alert list's pages are read from the indexes in its order (migration 0007), and a
page is the same slice of the order the in-memory repository gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from safehood.alerting import AlertQuery, AlertRecord, InMemoryAlertRepository
from safehood.database import SqlAlertRepository, create_database_engine, migrate
from safehood.protocol import AlertStatus, AlertType, Severity

SEVERITIES = (Severity.MINOR, Severity.SEVERE, Severity.EXTREME, Severity.MODERATE)


def record(n: int) -> AlertRecord:
    status = AlertStatus.RESOLVED if n % 3 else AlertStatus.FIRING
    return AlertRecord(
        id=f"a{n:03d}", type=AlertType.SOS, severity=SEVERITIES[n % 4], status=status,
        site=f"s{n % 2}", subject=f"d{n}", started_ms=1_000 * (n % 7), updated_ms=0,
        last_seen_ms=0, household=f"h{n % 5}")


def filled_repositories(tmp_path: Path, count: int
                        ) -> tuple[Engine, SqlAlertRepository, InMemoryAlertRepository]:
    """A migrated SQLite database and an in-memory repository, each holding ``count``
    records."""
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    sql = SqlAlertRepository(engine)
    memory = InMemoryAlertRepository()
    for n in range(count):
        assert sql.commit(None, record(n)) and memory.commit(None, record(n))
    return engine, sql, memory


def test_a_page_is_read_from_the_list_order_index_and_matches_the_order(tmp_path: Path) -> None:
    engine, sql, memory = filled_repositories(tmp_path, 60)
    statements: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    pages = [
        (AlertQuery(statuses=(AlertStatus.RESOLVED,), order="severity", limit=7, offset=9),
         "ix_alerts_status_order"),
        (AlertQuery(sites=("s1",), statuses=(AlertStatus.RESOLVED,), order="severity",
                    limit=5, offset=3), "ix_alerts_site_status_order"),
        (AlertQuery(households=("h1",), statuses=(AlertStatus.RESOLVED,), order="severity",
                    limit=3, offset=1), "ix_alerts_household_status_order"),
    ]
    for query, index in pages:
        statements.clear()
        page = sql.query(query)
        assert [r.id for r in page] == [r.id for r in memory.query(query)]
        assert len(page) == query.limit
        statement, parameters = statements[-1]
        with engine.connect() as connection:
            plan = " / ".join(row[-1] for row in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters))
        assert f"COVERING INDEX {index}" in plan, plan
    engine.dispose()
