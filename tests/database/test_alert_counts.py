"""The alert gauges' counts by type and status are read from an index alone (migration
0008), and are the in-memory repository's counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from .test_alert_list_order import filled_repositories


def test_counts_by_type_and_status_are_read_from_the_index_alone(tmp_path: Path) -> None:
    engine, sql, memory = filled_repositories(tmp_path, 30)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    counts = sql.count_by_type_and_status()
    assert counts == memory.count_by_type_and_status()
    assert sum(counts.values()) == 30
    with engine.connect() as connection:
        plan = " / ".join(row[-1] for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statements[-1]}"))
    assert "COVERING INDEX ix_alerts_type_status" in plan, plan
    engine.dispose()
