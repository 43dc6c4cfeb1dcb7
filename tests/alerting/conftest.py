"""Fixtures of the alerting tests: each behaviour runs on the in-memory, the SQLite and the
PostgreSQL repository; decisions and a small registry to build them from."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from safehood.alerting import (
    AlertManager,
    AlertPolicy,
    AlertRepository,
    InMemoryAlertRepository,
    build_pipeline,
)
from safehood.database import SqlAlertRepository, create_database_engine, migrate
from safehood.protocol import AlertDecision, AlertType, DecisionAction, Registry, Severity
from tests._postgres import empty_tables, migrated_database

# 2026-01-01T00:00:00Z
T0 = 1_767_225_600_000
MINUTE = 60_000

REGISTRY = {
    "households": [
        {"id": "h001", "site": "xianlin-3", "lives_alone": True, "timezone": "Asia/Shanghai"},
        {"id": "h002", "site": "xianlin-3"},
        {"id": "h900", "site": "gulou-1"},
    ],
    "residents": [
        {"id": "r001", "household": "h001", "name": "Wang Fang", "elderly": True,
         "contacts": ["json://127.0.0.1:9/family-r001"]},
        {"id": "r002", "household": "h002", "name": "Li Lei"},
    ],
    "devices": [
        {"device_id": "h001-smoke-kitchen", "site": "xianlin-3", "kind": "smoke",
         "household": "h001", "room": "kitchen"},
        {"device_id": "r001-band", "site": "xianlin-3", "kind": "wearable",
         "household": "h001", "resident": "r001"},
        {"device_id": "h002-door", "site": "xianlin-3", "kind": "door", "household": "h002"},
        {"device_id": "h900-water", "site": "gulou-1", "kind": "water", "household": "h900"},
    ],
}


def decision(type: str = "fall", action: str = "raise", *, ts: int = T0,
             subject: str | None = None, severity: str = "Severe", site: str = "xianlin-3",
             **fields: Any) -> AlertDecision:
    """A detector decision; by default a possible (unconfirmed) fall of r001 (household
    h001) at T0, as the fall detector raises it first."""
    if type == "fall":
        fields.setdefault("confirmed", False)
    defaults: dict[str, Any] = {"household": "h001", "resident": "r001", "device_id": "r001-band"}
    defaults.update(fields)
    return AlertDecision(
        action=DecisionAction(action), type=AlertType(type), severity=Severity(severity),
        subject=subject or defaults.get("resident") or defaults.get("household") or "x",
        site=site, ts_ms=ts, **defaults)


def sqlite_engine(path: Path) -> Engine:
    engine = create_database_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


@pytest.fixture
def registry() -> Registry:
    return Registry.from_data(REGISTRY)


BACKENDS = ["memory", "sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AlertRepository]:
    """The same behaviour suite runs on every repository."""
    if request.param == "memory":
        yield InMemoryAlertRepository()
        return
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path / "alerts.db")
        yield SqlAlertRepository(engine)
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_alerts")
    empty_tables(engine)
    yield SqlAlertRepository(engine)


@pytest.fixture(scope="session")
def postgres_alerts(postgres_url: str) -> Iterator[Engine]:
    """One migrated PostgreSQL database for the alerting suite; each test empties it first."""
    with migrated_database(postgres_url) as engine:
        yield engine


@pytest.fixture
def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"a{next(counter)}"


@pytest.fixture
def manager(repository: AlertRepository, registry: Registry,
            ids: Callable[[], str]) -> AlertManager:
    return AlertManager(repository, build_pipeline(AlertPolicy(), repository, id_factory=ids),
                        registry=registry, clock=lambda: T0)
