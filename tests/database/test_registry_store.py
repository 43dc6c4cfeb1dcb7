"""The registry in the database."""

from __future__ import annotations

from pathlib import Path

from safehood.database import create_database_engine, import_registry, load_registry, migrate
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
