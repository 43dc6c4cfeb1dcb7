from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Connection, Engine, Table, Update, bindparam, delete, insert, select, update

from safehood.protocol import Registry, RegistryFile

from ._tables import devices, households, registry_version, residents


def load_registry(engine: Engine) -> Registry:
    """Read the whole registry from the database."""
    device_columns = [c.name for c in devices.columns]
    with engine.connect() as connection:
        data = {
            "households": [
                {"id": r.id, "site": r.site, "lives_alone": r.lives_alone, "timezone": r.timezone,
                 "night": (r.night_start, r.night_end), "building": r.building,
                 "address": r.address, "floor": r.floor, "unit": r.unit,
                 "responders": r.responders or [], "key_holders": r.key_holders or [],
                 "access_notes": r.access_notes}
                for r in connection.execute(select(households))
            ],
            "residents": [
                {"id": r.id, "household": r.household, "name": r.name, "elderly": r.elderly,
                 "dementia": r.dementia, "contacts": list(r.contacts or []),
                 "birth_year": r.birth_year, "conditions": r.conditions or [],
                 "mobility": r.mobility, "language": r.language}
                for r in connection.execute(select(residents))
            ],
            # Column names once, not a mapping per row: 2 of the 3 s of a 10,000-device load.
            "devices": [
                {k: v for k, v in zip(device_columns, r, strict=True) if v is not None}
                for r in connection.execute(select(devices))
            ],
        }
    for entry in data["households"] + data["residents"]:
        for key in [k for k, v in entry.items() if v is None]:
            del entry[key]
    return Registry.from_data(data)


_SELECT_VERSION = select(registry_version.c.version)


def read_registry_version(engine: Engine) -> int:
    """The registry's version: raised by the database with every write of a household,
    resident or device (triggers; see migration 0009_registry_version), whoever makes it.

    One row read: the digest of every row it replaces cost 0.5-0.7 s of CPU at 100,000
    devices on every poll of every process that watches for changes made elsewhere. A
    write that changes nothing (an import of the same file) raises it all the same."""
    with engine.connect() as connection:
        return int(connection.execute(_SELECT_VERSION).scalar_one())


def load_registry_if_changed(engine: Engine, known: int | None,
                             ) -> tuple[int, Registry | None]:
    """The registry's version, and the registry loaded when the version is not ``known``
    (None when it is). The version is read before the load: a change made in between
    makes the next call load again rather than be missed."""
    version = read_registry_version(engine)
    if version == known:
        return version, None
    return version, load_registry(engine)


RegistryKind = Literal["households", "residents", "devices"]

REGISTRY_TABLES: dict[RegistryKind, tuple[Table, str]] = {
    "households": (households, "id"),
    "residents": (residents, "id"),
    "devices": (devices, "device_id"),
}
"""Each registry kind's table and key column, parents before children."""


def write_registry_entry(connection: Connection, kind: RegistryKind, entry: dict[str, Any], *,
                         exists: bool) -> None:
    """Insert or update one entry (a ``RegistryFile`` item as a dict) in place; never
    delete-and-insert, which would cascade to the household's residents and devices."""
    table, key = REGISTRY_TABLES[kind]
    row = _table_row(kind, dict(entry))
    if exists:
        connection.execute(_update_by_key(table, key, row), _bound(row))
    else:
        connection.execute(insert(table).values(**row))


def _table_row(kind: RegistryKind, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (a ``RegistryFile`` item as a dict) changed in place into its table's row."""
    if kind == "households":
        row["night_start"], row["night_end"] = row.pop("night")
    return row


def import_registry(engine: Engine, registry: RegistryFile, *, replace: bool = False) -> None:
    """Insert or update every entry of a registry file in place (so that residents and
    devices of a household survive an update of the household); with ``replace`` also
    remove every entry the file does not name, children first."""
    data = registry.model_dump()
    with engine.begin() as connection:
        existing = {kind: set(connection.execute(select(table.c[key])).scalars())
                    for kind, (table, key) in REGISTRY_TABLES.items()}
        if replace:
            for kind in reversed(REGISTRY_TABLES):
                table, key = REGISTRY_TABLES[kind]
                gone = existing[kind] - {e[key] for e in data[kind]}
                if gone:
                    connection.execute(delete(table).where(table.c[key].in_(gone)))
        for kind, (table, key) in REGISTRY_TABLES.items():
            # One statement for the new entries and one for the changed, each run over all
            # of its rows (executemany): a statement built an entry took 0.7 ms of CPU,
            # 70 s of start-up at 100,000 devices. Every row of a kind has the same columns.
            # Made here by model_dump: changed in place, not copied.
            rows = [_table_row(kind, row) for row in data.pop(kind)]
            new = [row for row in rows if row[key] not in existing[kind]]
            if new:
                connection.execute(insert(table), new)
            changed = [_bound(row) for row in rows if row[key] in existing[kind]]
            if changed:
                connection.execute(_update_by_key(table, key, rows[0]), changed)


def _bound(row: dict[str, Any]) -> dict[str, Any]:
    """``row``'s values under the names :func:`_update_by_key` binds them to."""
    return {f"_{column}": value for column, value in row.items()}


def _update_by_key(table: Table, key: str, row: dict[str, Any]) -> Update:
    """An update of ``row``'s columns but the key, found by the key; each value bound as
    ``_`` and its column's name (a column's own name is reserved for its bound value). The
    key is not set again: set, even to itself, SQLite checked every child row's foreign key
    against it, a scan of the child table for each entry (quadratic: 24 s at 20,000
    devices)."""
    return (update(table).where(table.c[key] == bindparam(f"_{key}"))
            .values({column: bindparam(f"_{column}") for column in row if column != key}))
