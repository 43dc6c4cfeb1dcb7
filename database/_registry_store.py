from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select, update

from protocol import Registry, RegistryFile

from ._tables import devices, households, residents


def load_registry(engine: Engine) -> Registry:
    """Read the whole registry from the database."""
    with engine.connect() as connection:
        data = {
            "households": [
                {"id": r.id, "site": r.site, "lives_alone": r.lives_alone, "timezone": r.timezone,
                 "night": (r.night_start, r.night_end), "building": r.building,
                 "address": r.address}
                for r in connection.execute(select(households))
            ],
            "residents": [
                {"id": r.id, "household": r.household, "name": r.name, "elderly": r.elderly,
                 "dementia": r.dementia, "contacts": list(r.contacts or [])}
                for r in connection.execute(select(residents))
            ],
            "devices": [
                {k: v for k, v in r._mapping.items() if v is not None}
                for r in connection.execute(select(devices))
            ],
        }
    for household in data["households"]:
        for key in ("building", "address"):
            if household[key] is None:
                del household[key]
    return Registry.from_data(data)


def import_registry(engine: Engine, registry: RegistryFile, *, replace: bool = False) -> None:
    """Insert or update every entry of a registry file in place (so that residents and
    devices of a household survive an update of the household); with ``replace`` drop
    everything else first."""
    rows = [
        (households, households.c.id, [
            {"id": h.id, "site": h.site, "lives_alone": h.lives_alone, "timezone": h.timezone,
             "night_start": h.night[0], "night_end": h.night[1], "building": h.building,
             "address": h.address} for h in registry.households]),
        (residents, residents.c.id, [r.model_dump() for r in registry.residents]),
        (devices, devices.c.device_id, [d.model_dump() for d in registry.devices]),
    ]
    with engine.begin() as connection:
        if replace:
            connection.execute(delete(devices))
            connection.execute(delete(residents))
            connection.execute(delete(households))
        for table, key, values in rows:
            existing = set(connection.execute(select(key)).scalars())
            for row in values:
                if row[key.name] in existing:
                    connection.execute(update(table).where(key == row[key.name]).values(**row))
                else:
                    connection.execute(insert(table).values(**row))
