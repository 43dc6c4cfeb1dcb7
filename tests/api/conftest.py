"""Fixtures of the API tests: a migrated SQLite database with a small registry, the real
alert manager and reading store, and one token per role."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from safehood.alerting import AckTokens, AlertManager, Silence
from safehood.api import ApiContext, Provisioner, Role, TokenStore, create_app
from safehood.config import Settings
from safehood.database import SqlAlertRepository, create_database_engine, import_registry, migrate
from safehood.protocol import (
    AlertDecision,
    DecisionAction,
    Message,
    Placement,
    RegistryFile,
    Severity,
    SmokeReading,
)
from safehood.protocol import AlertType as T
from safehood.store import SqliteReadingStore

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the tests' wall clock

REGISTRY = {
    "households": [
        {"id": "h001", "site": "xianlin-3", "lives_alone": False, "building": "b1"},
        {"id": "h002", "site": "xianlin-3", "lives_alone": True, "building": "b2"},
        {"id": "h101", "site": "gulou-1", "lives_alone": True},
    ],
    "residents": [
        {"id": "r001", "household": "h001", "name": "Wang Fang", "elderly": True,
         "contacts": ["mailto://family@example.org"]},
        {"id": "r002", "household": "h001", "name": "Wang Lei"},
        {"id": "r003", "household": "h002", "name": "Zhao Min", "elderly": True},
        {"id": "r101", "household": "h101", "name": "Sun Li", "elderly": True},
    ],
    "devices": [
        {"device_id": "h001-smoke", "site": "xianlin-3", "kind": "smoke", "household": "h001",
         "room": "kitchen"},
        {"device_id": "r001-band", "site": "xianlin-3", "kind": "wearable", "household": "h001",
         "resident": "r001"},
        {"device_id": "r002-band", "site": "xianlin-3", "kind": "wearable", "household": "h001",
         "resident": "r002"},
        {"device_id": "h002-motion", "site": "xianlin-3", "kind": "motion", "household": "h002"},
        {"device_id": "h101-water", "site": "gulou-1", "kind": "water", "household": "h101"},
        {"device_id": "stair-smoke", "site": "xianlin-3", "kind": "smoke"},
    ],
}


@dataclass
class Tokens:
    admin: str
    officer: str
    officer_gulou: str
    family: str
    integrator: str

    def of(self, role: str) -> str:
        return getattr(self, role)


@dataclass
class Api:
    """Everything a test needs: the app, its client, the manager and tokens."""

    app: FastAPI
    client: TestClient
    engine: Engine
    manager: AlertManager
    store: SqliteReadingStore
    tokens: Tokens
    settings: Settings
    provisioner: Provisioner
    registry_changes: list[object]
    seed: Seed

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.of(role)}"}

    def raise_alert(self, alert_type: T, subject: str, site: str, *, household: str | None = None,
                    resident: str | None = None, device_id: str | None = None,
                    severity: Severity = Severity.SEVERE, ts_ms: int = NOW_MS - 60_000,
                    confirmed: bool = True) -> str:
        changes = self.manager.apply([AlertDecision(
            action=DecisionAction.RAISE, type=alert_type, severity=severity, subject=subject,
            site=site, ts_ms=ts_ms, household=household, resident=resident, device_id=device_id,
            evidence={"why": "test"}, confirmed=confirmed,
        )])
        return changes[0].alert.id


def make_engine(path: Path) -> Engine:
    engine = create_database_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


def issue_tokens(engine: Engine) -> Tokens:
    store = TokenStore(engine)
    return Tokens(
        admin=store.create(name="Ada", role=Role.ADMIN).token,
        officer=store.create(name="Li Wei", role=Role.OFFICER, sites=["xianlin-3"]).token,
        officer_gulou=store.create(name="Chen", role=Role.OFFICER, sites=["gulou-1"]).token,
        family=store.create(name="Wang Jun", role=Role.FAMILY, residents=["r001"]).token,
        integrator=store.create(name="Ivan", role=Role.INTEGRATOR).token,
    )


@dataclass(frozen=True)
class Seed:
    """A migrated database with the registry, tokens, one alert and one silence, built once
    per session and copied for every test (migrations take longer than the tests)."""

    path: Path
    tokens: Tokens
    alert_id: str  # a fall of r001 at xianlin-3
    silence_id: str  # a maintenance window of xianlin-3
    spare_token_id: str  # an officer token a test may revoke


@pytest.fixture(scope="session")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    path = tmp_path_factory.mktemp("seed") / "safehood.db"
    engine = make_engine(path)
    import_registry(engine, RegistryFile.model_validate(REGISTRY))
    tokens = issue_tokens(engine)
    spare = TokenStore(engine).create(name="Spare", role=Role.OFFICER, sites=["xianlin-3"])
    manager = AlertManager(SqlAlertRepository(engine), clock=lambda: NOW_MS)
    alert_id = manager.apply([AlertDecision(
        action=DecisionAction.RAISE, type=T.FALL, severity=Severity.SEVERE, subject="r001-band",
        site="xianlin-3", ts_ms=NOW_MS - 600_000, household="h001", resident="r001",
        device_id="r001-band", evidence={"why": "test"})])[0].alert.id
    silence = manager.add_silence(Silence(starts_ms=NOW_MS, ends_ms=NOW_MS + 3_600_000,
                                          created_by="admin:Ada", site="xianlin-3"))
    engine.dispose()
    return Seed(path, tokens, alert_id, silence.id, spare.record.id)


class ApiBuilder:
    """Builds :class:`Api` instances in a directory from the seed; closes them all at the end."""

    def __init__(self, directory: Path, seed: Seed) -> None:
        self.directory = directory
        self.seed = seed
        self.closers: list[Callable[[], None]] = []

    def __call__(self, broker_ready: Callable[[], bool] = lambda: True,
                 reload: Callable[[], None] | None = None, *, test_client: bool = True,
                 ack_tokens: AckTokens | None = None, clock: Callable[[], int] | None = None,
                 **settings_overrides: object) -> Api:
        """``test_client=False`` leaves the app unstarted, for a real server to run;
        ``clock`` replaces the fixed wall clock (``NOW_MS``) of the API."""
        base = self.directory / f"api{len(self.closers)}"
        base.mkdir(parents=True)
        db = base / "safehood.db"
        shutil.copyfile(self.seed.path, db)
        engine = make_engine(db)
        # The role matrix probes every route with bad tokens: no limit on failed attempts
        # unless a test asks for one.
        settings_overrides.setdefault("api_auth_failures_per_minute", 1_000_000)
        settings = Settings(data_dir=base / "data", topic_prefix="safehood",
                            **settings_overrides)
        manager = AlertManager(SqlAlertRepository(engine), clock=lambda: NOW_MS)
        store = SqliteReadingStore(base / "readings.db")
        provisioner = Provisioner.from_settings(settings, engine, reload=reload)
        changes: list[object] = []
        context = ApiContext(settings=settings, engine=engine, alerts=manager, store=store,
                             broker_ready=broker_ready, provisioner=provisioner,
                             on_registry_change=changes.append,
                             clock=clock or (lambda: NOW_MS), ack_tokens=ack_tokens)
        app = create_app(context)
        client = TestClient(app, raise_server_exceptions=False)
        if test_client:
            client.__enter__()

        def close() -> None:
            if test_client:
                client.__exit__(None, None, None)
            store.close()
            engine.dispose()

        self.closers.append(close)
        return Api(app, client, engine, manager, store, self.seed.tokens, settings, provisioner,
                   changes, self.seed)

    def close(self) -> None:
        for close in self.closers:
            close()


@pytest.fixture
def build_api(tmp_path: Path, seed: Seed) -> Iterator[ApiBuilder]:
    """Builds an :class:`Api` (optionally with a broker-readiness callable, a reload, or
    settings) of the test's own."""
    builder = ApiBuilder(tmp_path, seed)
    yield builder
    builder.close()


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory, seed: Seed) -> Iterator[Api]:
    """One :class:`Api` for the read-only tests of a module."""
    builder = ApiBuilder(tmp_path_factory.mktemp("shared"), seed)
    yield builder()
    builder.close()


@pytest.fixture
def api(build_api: ApiBuilder) -> Api:
    return build_api()


def write_readings(store: SqliteReadingStore, device_id: str, site: str, kind: str,
                   times_ms: list[int]) -> None:
    placed = Placement(device_id, site, kind)
    store.write([Message.from_reading(SmokeReading(ts=t, smoke=0.1, temp_c=21.5), placed, received_ms=t)
                 for t in times_ms])
