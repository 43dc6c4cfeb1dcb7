"""The registry in the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from safehood._pipeline import RegistryHolder
from safehood.api import RegistryService
from safehood.database import (
    create_database_engine,
    devices,
    import_registry,
    load_registry,
    migrate,
    registry_fingerprint,
)
from tests._postgres import empty_tables, migrated_database
from tests.protocol.test_contract import REGISTRY


def test_registry_import_updates_in_place(tmp_path: Path) -> None:
    """Importing a file that only changes a household keeps its residents and devices."""
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    import_registry(engine, REGISTRY.to_model())
    changed = REGISTRY.to_model().model_copy(update={"residents": [], "devices": []})
    changed.households[0].lives_alone = False
    import_registry(engine, changed)
    loaded = load_registry(engine)
    assert loaded.households["h001"].lives_alone is False
    assert loaded.devices == REGISTRY.devices
    assert loaded.residents == REGISTRY.residents


@pytest.fixture(scope="module")
def postgres_registry(postgres_url: str) -> Iterator[Engine]:
    with migrated_database(postgres_url) as engine:
        yield engine


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty registry database of each dialect the fingerprint is made in."""
    if request.param == "sqlite":
        engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
        migrate(engine)
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_registry")
        empty_tables(engine)
        yield engine


def test_the_fingerprint_changes_with_any_row_and_only_then(registry_engine: Engine) -> None:
    """A pipeline polls the fingerprint and loads the registry only when it changed (the
    database renders the rows as text: SQLite's and PostgreSQL's own SQL)."""
    engine = registry_engine
    import_registry(engine, REGISTRY.to_model())
    holder = RegistryHolder(load_registry(engine))
    first = registry_fingerprint(engine)
    assert not holder.reload(engine)  # the first poll loads it: the same registry
    import_registry(engine, REGISTRY.to_model())
    assert registry_fingerprint(engine) == first
    changed = REGISTRY.to_model()
    changed.residents[0].contacts = [*changed.residents[0].contacts, "mailto://x@example.org"]
    import_registry(engine, changed)
    assert registry_fingerprint(engine) != first
    assert holder.reload(engine)
    assert not holder.reload(engine)
    resident = changed.residents[0]
    assert holder.get().residents[resident.id].contacts[-1] == "mailto://x@example.org"
    # A value of another table, a NULL that gets a value, and a removed row each show.
    seen = {registry_fingerprint(engine)}
    device = changed.devices[0]
    with engine.begin() as connection:
        connection.execute(update(devices).where(devices.c.device_id == device.device_id)
                           .values(room="the fingerprint test's attic"))
    seen.add(registry_fingerprint(engine))
    changed.devices = changed.devices[1:]
    import_registry(engine, changed, replace=True)
    seen.add(registry_fingerprint(engine))
    assert len(seen) == 3


def test_the_api_reloads_the_registry_only_when_another_process_changed_it(
    tmp_path: Path,
) -> None:
    """The API's copy is refreshed in the background; an unchanged registry is not loaded
    again (the same object is served), a changed one is."""
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    import_registry(engine, REGISTRY.to_model())
    service = RegistryService(engine, max_age_s=0)
    first = service.load()
    service._reload_if_changed()
    assert service.load() is first
    changed = REGISTRY.to_model()
    changed.households[0].lives_alone = not changed.households[0].lives_alone
    import_registry(engine, changed)  # as `safehood registry import` in another process
    service._reload_if_changed()
    assert service.load() is not first
    assert service.load().households["h001"].lives_alone is changed.households[0].lives_alone
