"""``safehood resident``: export or erase one resident's data on request (personal
information protection law; README, "Export and erase of a resident's data")."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from safehood.api import Provisioner, ProvisioningError
from safehood.database import (
    DAY_MS,
    ErasureRefused,
    UnknownResident,
    erasable_devices,
    erase_resident,
    export_resident,
)
from safehood.protocol.const import MAX_TS_MS
from safehood.store import ReadingStore, StoredReading, StoreError, open_store

from ._common import CommandError, load_settings
from .token import open_engine

_PAGE = 10_000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "resident", help="export or erase one resident's personal data",
        description="Answer a resident's request under personal information protection law: "
        "export everything kept about them, or erase it. Erasure removes the registry entry, "
        "the resident's personal devices (with their readings and MQTT accounts) and their "
        "place in family tokens; their alerts are kept for the record, anonymised.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    exp = actions.add_parser("export", help="write a resident's data as one JSON file")
    exp.add_argument("resident", metavar="RESIDENT", help="resident id")
    exp.add_argument("--output", "-o", type=Path, required=True, metavar="FILE",
                     help="JSON file to write ('-' for stdout)")
    exp.set_defaults(func=export)
    erase = actions.add_parser("erase", help="erase a resident's personal data")
    erase.add_argument("resident", metavar="RESIDENT", help="resident id")
    erase.set_defaults(func=erase_command)


def _readings(store: ReadingStore, device_id: str, start_ms: int) -> list[dict[str, Any]]:
    """Every stored reading of the device from ``start_ms`` on, page by page."""
    taken: list[StoredReading] = []
    while True:
        page = store.query(device_id, start_ms, MAX_TS_MS, limit=_PAGE)
        # A page may end amid readings of one instant: the next starts at that instant
        # and leaves out what was taken already.
        fresh = [r for r in page if r not in taken[-_PAGE:]]
        taken.extend(fresh)
        if len(page) < _PAGE or not fresh:
            return [dataclasses.asdict(r) for r in taken]
        start_ms = page[-1].ts_ms


def export(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    engine = open_engine(settings)
    try:
        data = export_resident(engine, args.resident)
        store = open_store(settings)
        try:
            since = time.time_ns() // 1_000_000 - settings.retention_readings_days * DAY_MS
            data["readings"] = {device["device_id"]: _readings(store, device["device_id"], since)
                                for device in data["devices"]}
        finally:
            store.close()
    except UnknownResident as exc:
        raise CommandError(str(exc)) from None
    except StoreError as exc:
        raise CommandError(f"cannot read the readings: {exc}", exit_code=1) from None
    finally:
        engine.dispose()
    data["exported_at_ms"] = time.time_ns() // 1_000_000
    text = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    if str(args.output) == "-":
        sys.stdout.buffer.write(text + b"\n")
    else:
        args.output.write_bytes(text + b"\n")
        readings = sum(len(r) for r in data["readings"].values())
        print(f"wrote {args.output}: resident {args.resident}, {len(data['alerts'])} alerts, "
              f"{len(data['devices'])} personal devices, {readings} readings")
    return 0


def erase_command(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    engine = open_engine(settings)
    try:
        # Readings first: if the store is away, nothing is erased and the request can be
        # repeated; the other way round, the devices naming the readings would be gone.
        device_ids = erasable_devices(engine, args.resident)
        store = open_store(settings)
        try:
            store.delete_devices(device_ids)
        finally:
            store.close()
        erasure = erase_resident(engine, args.resident, time.time_ns() // 1_000_000)
        synced = ""
        if erasure.device_ids:
            result = Provisioner.from_settings(settings, engine).sync()
            synced = "; broker accounts rewritten" + ("" if result.reloaded else
                                                       " (broker NOT reloaded)")
    except UnknownResident as exc:
        raise CommandError(str(exc)) from None
    except ErasureRefused as exc:
        raise CommandError(str(exc), exit_code=1) from None
    except (StoreError, ProvisioningError) as exc:
        raise CommandError(f"erasure incomplete: {exc}", exit_code=1) from None
    finally:
        engine.dispose()
    print(f"erased resident {args.resident}: {len(erasure.device_ids)} personal devices and "
          f"their readings, {erasure.alerts_anonymised} alerts anonymised, "
          f"{erasure.tokens_changed} tokens changed{synced}")
    return 0
