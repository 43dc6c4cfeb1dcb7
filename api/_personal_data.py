"""One resident's data on request across both databases: the relational one (registry,
alerts; ``database._personal_data``) and the reading store. Used by ``safehood resident``
and the admin routes under ``/residents/{id}/personal-data``."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Engine

from safehood.database import Erasure, erasable_devices, erase_resident, export_resident
from safehood.protocol.const import MAX_TS_MS
from safehood.store import ReadingStore, StoredReading, StoreError

from ._provisioning import Provisioner

_PAGE = 10_000


def _readings(store: ReadingStore, device_id: str, start_ms: int) -> list[dict[str, Any]]:
    """Every stored reading of the device from ``start_ms`` on, page by page."""
    taken: list[StoredReading] = []
    while True:
        page = store.query(device_id, start_ms, MAX_TS_MS, limit=_PAGE)
        if len(page) < _PAGE:
            taken.extend(page)
            return [dataclasses.asdict(r) for r in taken]
        # A full page may end amid the readings of one instant: the next page starts at
        # that instant, so this one keeps only what is before it.
        last = page[-1].ts_ms
        if page[0].ts_ms == last:
            raise StoreError(f"more than {_PAGE} readings of {device_id} at one instant",
                             retryable=False)
        taken.extend(r for r in page if r.ts_ms != last)
        start_ms = last


def export_resident_data(engine: Engine, store: ReadingStore, resident_id: str,
                         readings_since_ms: int) -> dict[str, Any]:
    """:func:`database.export_resident` plus ``readings``: per personal device, what the
    store holds from ``readings_since_ms`` (the retention limit) on. Raises
    ``UnknownResident``; ``StoreError`` when the store cannot be read."""
    data = export_resident(engine, resident_id)
    data["readings"] = {device["device_id"]: _readings(store, device["device_id"],
                                                       readings_since_ms)
                        for device in data["devices"]}
    return data


def erase_resident_data(engine: Engine, store: ReadingStore, provisioner: Provisioner,
                        resident_id: str, now_ms: int) -> Erasure:
    """Erase the resident (``database.erase_resident``), the readings of their personal
    devices first: if the store is away nothing is erased and the request can be repeated,
    whereas the other way round the devices that name the readings would be gone. The
    broker's password and ACL files are rewritten without the devices' accounts. Raises
    ``UnknownResident``, ``ErasureRefused``, ``StoreError`` or ``ProvisioningError``."""
    store.delete_devices(erasable_devices(engine, resident_id))
    erasure = erase_resident(engine, resident_id, now_ms)
    if erasure.device_ids:
        provisioner.sync()
    return erasure
