"""Both stores behind one fixture: every behaviour test runs against SQLite and InfluxDB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from safehood.store import InfluxReadingStore, ReadingStore, SqliteReadingStore
from tests._influxdb import InfluxServer

# Short windows and retries keep the tests quick; the behaviour is the same as in production.
FAST_INFLUX = {
    "flush_interval_s": 0.05,
    "retry_interval_s": 0.1,
    "max_retry_delay_s": 0.2,
    "timeout_s": 5.0,
}

InfluxFactory = Callable[..., InfluxReadingStore]


@pytest.fixture
def make_influx_store(
    influxdb: InfluxServer, influx_database: str, tmp_path: Path
) -> Iterator[InfluxFactory]:
    """Build InfluxDB stores on the test's own database; all are closed after the test."""
    made: list[InfluxReadingStore] = []

    def make(**overrides: Any) -> InfluxReadingStore:
        options: dict[str, Any] = {
            "url": influxdb.client_url, "token": None, "org": "safehood",
            "bucket": influx_database, "spool_path": tmp_path / "spool.db", **FAST_INFLUX,
        }
        options.update(overrides)
        store = InfluxReadingStore(**options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(params=["sqlite", "influx"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadingStore]:
    """An empty store of each kind."""
    if request.param == "sqlite":
        sqlite = SqliteReadingStore(tmp_path / "readings.db")
        yield sqlite
        sqlite.close()
    else:
        yield request.getfixturevalue("make_influx_store")()
