"""The alerting migration creates exactly the tables declared in database/_tables.py."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from safehood.database import metadata

from .conftest import sqlite_engine

TABLES = ("alerts", "alert_history", "silences", "notification_attempts")


def test_migration_matches_the_declared_tables(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "schema.db")
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert [d for d in differences if any(t in repr(d) for t in TABLES)] == []
    assert set(TABLES) <= set(metadata.tables)
