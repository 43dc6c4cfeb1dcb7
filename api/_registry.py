"""The registry as the API changes it: single-entry CRUD and bulk import, each checked as a
whole (ids unique, references resolved, devices at their household's site) before it is
written, then announced to ``on_change`` so ingest and the detectors can reload."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, delete, update

from safehood.alerting import mask_url
from safehood.database import (
    REGISTRY_TABLES,
    RegistryKind,
    devices,
    import_registry,
    load_registry_if_changed,
    write_registry_entry,
)
from safehood.protocol import KeyHolderIn, Registry, RegistryFile

from ._disclosure import restore_access_notes, unmask_contacts
from .const import CONTACT_SCHEMES, REGISTRY_MAX_AGE_S

log = logging.getLogger(__name__)

_SINGULAR: dict[RegistryKind, str] = {"households": "household", "residents": "resident",
                              "devices": "device"}


class RegistryError(Exception):
    """Base of the registry errors the API maps to 4xx."""


class RegistryNotFound(RegistryError, LookupError):
    """No entry with that id (API: 404)."""


class RegistryConflict(RegistryError):
    """The change clashes with what is there: duplicate id, entry still in use (API: 409)."""


class RegistryInvalid(RegistryError, ValueError):
    """The registry would break its own rules after the change (API: 422)."""


def validation_message(exc: ValidationError) -> str:
    """The first error of a pydantic validation as one readable line."""
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    msg = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


class RegistryService:
    """Reads and writes the registry tables. Writers are serialised by a lock (one process
    writes the registry; ingest only reads it). ``on_change`` receives the new registry
    after every successful change; its failures are logged, never undo the change.

    Reads are served from a copy (loading a large registry takes seconds and every request
    needs it); changes made here replace it at once. A copy older than ``max_age_s`` is
    reloaded by a background thread while requests go on reading it, so changes made by
    another process (``safehood registry import``) show within ``max_age_s`` plus a load.
    The copy starts as ``loaded`` (the registry's version and the registry loaded after it
    was read) when the process has one already.
    """

    def __init__(self, engine: Engine, on_change: Callable[[Registry], None] | None = None,
                 *, max_age_s: float = REGISTRY_MAX_AGE_S,
                 loaded: tuple[int | None, Registry] | None = None) -> None:
        self.engine = engine
        self.on_change = on_change
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._cached: tuple[float, Registry] | None = None
        self._version: int | None = None
        if loaded is not None:
            self._version, registry = loaded
            self._cached = (time.monotonic(), registry)
        self._refreshing = threading.Lock()
        self._cache_lock = threading.Lock()

    def load(self) -> Registry:
        """The registry (a cached copy, see the class docs). Callers must not modify it."""
        cached = self._cached
        if cached is None:
            return self._reload()
        if time.monotonic() - cached[0] >= self.max_age_s:
            self._refresh_in_background()
        return cached[1]

    def _refresh_in_background(self) -> None:
        # At 10,000 devices a load took 3-5 s on a busy machine: the request that found the
        # copy old waited for it, and with it the p99 of every route.
        if not self._refreshing.acquire(blocking=False):
            return  # one refresh at a time

        def refresh() -> None:
            try:
                self._reload_if_changed()
            except Exception:
                log.exception("reloading the registry failed; serving the previous copy")
            finally:
                self._refreshing.release()

        threading.Thread(target=refresh, name="registry-refresh", daemon=True).start()

    def _reload_if_changed(self) -> None:
        # A registry nobody changed is only marked fresh (loaded every time, the API's
        # refresh was 40% of its CPU at 10,000 devices).
        self._store(time.monotonic(), *load_registry_if_changed(self.engine, self._version))

    def _reload(self) -> Registry:
        return self._store(time.monotonic(), *load_registry_if_changed(self.engine, None))

    def _store(self, loaded_at: float, version: int, registry: Registry | None) -> Registry:
        """Keep what was read at ``loaded_at`` (``registry`` None: the copy is still right),
        unless a change made here since has replaced it."""
        with self._cache_lock:
            cached = self._cached
            if cached is None or cached[0] <= loaded_at:
                if registry is None and cached is not None:
                    registry = cached[1]
                if registry is not None:
                    self._cached = (loaded_at, registry)
                    self._version = version
            assert self._cached is not None
            return self._cached[1]

    def create(self, kind: RegistryKind, entry: dict[str, Any]) -> Registry:
        """Add one entry; 409 when its id is taken."""
        key = REGISTRY_TABLES[kind][1]
        if kind == "residents":
            check_contacts(entry.get("contacts", ()))
        with self._lock:
            data = self._data()
            if any(e[key] == entry[key] for e in data[kind]):
                raise RegistryConflict(f"{_SINGULAR[kind]} {entry[key]!r} already exists")
            data[kind].append(entry)
            model = _validate(data)
            with self.engine.begin() as connection:
                write_registry_entry(connection, kind, _find(model, kind, entry[key]), exists=False)
        return self._changed()

    def update(self, kind: RegistryKind, entry_id: str, changes: dict[str, Any], *,
               replace: bool = False) -> Registry:
        """Change one entry: ``replace`` swaps all its fields (PUT), else only those given
        (PATCH). The id itself cannot change."""
        key = REGISTRY_TABLES[kind][1]
        with self._lock:
            data = self._data()
            index = next((i for i, e in enumerate(data[kind]) if e[key] == entry_id), None)
            if index is None:
                raise RegistryNotFound(f"no {_SINGULAR[kind]} {entry_id!r}")
            if changes.get(key, entry_id) != entry_id:
                raise RegistryInvalid(f"{key}: cannot be changed (delete and create instead)")
            stored = data[kind][index]
            if kind == "residents" and changes.get("contacts") is not None:
                changes = {**changes, "contacts": unmask_contacts(changes["contacts"],
                                                                  stored["contacts"])}
                check_contacts(changes["contacts"])
            if kind == "households" and changes.get("key_holders") is not None:
                changes = {**changes, "key_holders": restore_access_notes(
                    changes["key_holders"], stored.get("key_holders") or [])}
            base = {} if replace else stored
            data[kind][index] = {**base, **changes, key: entry_id}
            model = _validate(data)
            with self.engine.begin() as connection:
                write_registry_entry(connection, kind, _find(model, kind, entry_id), exists=True)
        return self._changed()

    def delete(self, kind: RegistryKind, entry_id: str) -> Registry:
        """Remove one entry. A household still holding residents or devices is refused (409);
        a resident's devices lose their resident."""
        table, key = REGISTRY_TABLES[kind]
        with self._lock:
            registry = self._reload()
            known: set[str] = set(
                registry.households if kind == "households"
                else registry.residents if kind == "residents" else registry.devices)
            if entry_id not in known:
                raise RegistryNotFound(f"no {_SINGULAR[kind]} {entry_id!r}")
            if kind == "households":
                n_res = len(registry.household_residents(entry_id))
                n_dev = len(registry.household_devices(entry_id))
                if n_res or n_dev:
                    raise RegistryConflict(
                        f"household {entry_id!r} still has {n_res} resident(s) and {n_dev} "
                        "device(s); delete or move them first")
            with self.engine.begin() as connection:
                if kind == "residents":
                    connection.execute(update(devices).where(devices.c.resident == entry_id)
                                       .values(resident=None))
                connection.execute(delete(table).where(table.c[key] == entry_id))
        return self._changed()

    def import_file(self, file: RegistryFile, *, replace: bool = False) -> Registry:
        """Bulk import: insert or update every entry of ``file``; with ``replace`` remove
        every entry the file does not name. Checked as a whole before anything is written."""
        with self._lock:
            data = self._data()
            stored = {r["id"]: r["contacts"] for r in data["residents"]}
            residents = []
            for resident in file.residents:
                contacts = unmask_contacts(resident.contacts, stored.get(resident.id, ()))
                check_contacts(contacts)
                residents.append(resident.model_copy(update={"contacts": contacts}))
            stored_homes = {h["id"]: h for h in data["households"]}
            households = []
            for household in file.households:
                before = stored_homes.get(household.id, {})
                households.append(household.model_copy(update={
                    "key_holders": [KeyHolderIn.model_validate(k) for k in restore_access_notes(
                        household.key_holders, before.get("key_holders") or [])],
                    "access_notes": household.access_notes or before.get("access_notes"),
                }))
            file = file.model_copy(update={"residents": residents, "households": households})
            if replace:
                model = file
            else:
                incoming = file.model_dump()
                for kind, (_, key) in REGISTRY_TABLES.items():
                    ids = {e[key] for e in incoming[kind]}
                    data[kind] = [e for e in data[kind] if e[key] not in ids] + incoming[kind]
                model = _validate(data)
            import_registry(self.engine, model, replace=replace)
        return self._changed()

    def _data(self) -> dict[str, list[dict[str, Any]]]:
        return self._reload().to_model().model_dump()

    def refresh(self) -> Registry:
        """Re-read the registry after a change made outside this service (an erasure) and
        tell the pipeline."""
        return self._changed()

    def _changed(self) -> Registry:
        registry = self._reload()
        if self.on_change is not None:
            try:
                self.on_change(registry)
            except Exception:
                log.exception("registry change callback failed")
        return registry


def check_contacts(contacts: Iterable[str]) -> None:
    """Raise :class:`RegistryInvalid` unless every contact is a URL of an allowed Apprise
    scheme (:data:`~.const.CONTACT_SCHEMES`)."""
    for url in contacts:
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() not in CONTACT_SCHEMES or not rest:
            raise RegistryInvalid(
                f"contacts: {mask_url(url)!r} is not a notification URL of an allowed scheme "
                f"({', '.join(sorted(CONTACT_SCHEMES))})")
        if "****" in url:
            raise RegistryInvalid(f"contacts: {url!r} is masked; give the full URL")


def _validate(data: dict[str, Any]) -> RegistryFile:
    try:
        return RegistryFile.model_validate(data)
    except ValidationError as exc:
        raise RegistryInvalid(validation_message(exc)) from None


def _find(model: RegistryFile, kind: RegistryKind, entry_id: str) -> dict[str, Any]:
    key = REGISTRY_TABLES[kind][1]
    return next(e for e in model.model_dump()[kind] if e[key] == entry_id)

