"""The relational database of safehood (alerts, registry, dead letters, tokens): every
SQLAlchemy edge lives here, :class:`SqlAlertRepository` among them.

SQLite in the data directory by default, PostgreSQL through the same code; the schema is
managed by alembic migrations (:func:`migrate`).
"""

from ._alert_repository import SqlAlertRepository
from ._engine import create_database_engine, migrate
from ._personal_data import (
    Erasure,
    ErasureRefused,
    UnknownResident,
    erasable_devices,
    erase_resident,
    export_resident,
)
from ._registry_store import (
    REGISTRY_TABLES,
    RegistryKind,
    import_registry,
    load_registry,
    load_registry_if_changed,
    read_registry_version,
    write_registry_entry,
)
from ._retention import DAY_MS, PurgeCounts, RetentionLimits, purge_expired
from ._tables import (
    api_tokens,
    dead_letters,
    device_health,
    devices,
    households,
    metadata,
    mqtt_accounts,
    residents,
)

__all__ = [
    "DAY_MS",
    "REGISTRY_TABLES",
    "Erasure",
    "ErasureRefused",
    "PurgeCounts",
    "RegistryKind",
    "RetentionLimits",
    "SqlAlertRepository",
    "UnknownResident",
    "api_tokens",
    "create_database_engine",
    "dead_letters",
    "device_health",
    "devices",
    "erasable_devices",
    "erase_resident",
    "export_resident",
    "households",
    "import_registry",
    "load_registry",
    "load_registry_if_changed",
    "metadata",
    "migrate",
    "mqtt_accounts",
    "purge_expired",
    "read_registry_version",
    "residents",
    "write_registry_entry",
]
