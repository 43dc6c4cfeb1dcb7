"""The relational database of safehood (alerts, registry, dead letters, tokens).

SQLite in the data directory by default, PostgreSQL through the same code; the schema is
managed by alembic migrations (:func:`migrate`).
"""

from ._engine import create_database_engine, migrate
from ._registry_store import import_registry, load_registry
from ._tables import dead_letters, device_health, devices, households, metadata, residents

__all__ = [
    "create_database_engine",
    "dead_letters",
    "device_health",
    "devices",
    "households",
    "import_registry",
    "load_registry",
    "metadata",
    "migrate",
    "residents",
]
