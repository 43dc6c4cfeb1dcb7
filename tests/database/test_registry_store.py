"""The registry in the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert, text, update

from safehood._pipeline import RegistryHolder
from safehood.api import RegistryService
from safehood.database import (
    create_database_engine,
    devices,
    import_registry,
    load_registry,
    load_registry_if_changed,
    migrate,
    read_registry_version,
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
    """A migrated, empty registry database of each dialect the version's triggers are made
    in."""
    if request.param == "sqlite":
        engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
        migrate(engine)
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_registry")
        empty_tables(engine)
        yield engine


def test_the_version_rises_with_every_write_and_a_poll_loads_only_then(
        registry_engine: Engine) -> None:
    """A pipeline polls the registry's version (one row, raised by the database's triggers
    whoever writes) and loads the registry only when it changed."""
    engine = registry_engine
    import_registry(engine, REGISTRY.to_model())
    holder = RegistryHolder(load_registry(engine))
    assert not holder.reload(engine)  # the first poll loads it: the same registry
    first = read_registry_version(engine)
    assert load_registry_if_changed(engine, first) == (first, None)
    import_registry(engine, REGISTRY.to_model())  # the same rows written again
    assert read_registry_version(engine) > first
    assert not holder.reload(engine)  # loaded, and the same: nobody is told
    changed = REGISTRY.to_model()
    changed.residents[0].contacts = [*changed.residents[0].contacts, "mailto://x@example.org"]
    import_registry(engine, changed)
    assert holder.reload(engine)
    assert not holder.reload(engine)
    resident = changed.residents[0]
    assert holder.get().residents[resident.id].contacts[-1] == "mailto://x@example.org"
    # A row updated, removed or added by any writer, and a table emptied, each show.
    device = changed.devices[0]
    writes = [
        update(devices).where(devices.c.device_id == device.device_id)
        .values(room="the version test's attic"),
        delete(devices).where(devices.c.device_id == device.device_id),
        insert(devices).values(device_id="stair-smoke-2", site=device.site, kind="smoke"),
        text("DELETE FROM devices" if engine.dialect.name == "sqlite"
             else "TRUNCATE devices"),
    ]
    for write in writes:
        before = read_registry_version(engine)
        with engine.begin() as connection:
            connection.execute(write)
        assert read_registry_version(engine) > before, write
        assert holder.reload(engine), write


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
