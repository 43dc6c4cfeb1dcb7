"""``safehood resident``: export or erase one resident's data on request (personal
information protection law; README, "Export and erase of a resident's data").

Answer a resident's request under personal information protection law: export everything
kept about them, or erase it. Erasure removes the registry entry, the resident's personal
devices (with their readings and MQTT accounts) and their place in family tokens; their
alerts are kept for the record, anonymised.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

from safehood.api import Provisioner, ProvisioningError, erase_resident_data, export_resident_data
from safehood.database import DAY_MS, ErasureRefused, UnknownResident
from safehood.store import StoreError, open_store

from ._common import CommandError, database, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    exp = actions.add_parser("export", help="write a resident's data as one JSON file")
    exp.add_argument("resident", metavar="RESIDENT", help="resident id")
    exp.add_argument("--output", "-o", type=Path, required=True, metavar="FILE",
                     help="JSON file to write ('-' for stdout)")
    exp.set_defaults(func=export)
    erase = actions.add_parser("erase", help="erase a resident's personal data")
    erase.add_argument("resident", metavar="RESIDENT", help="resident id")
    erase.set_defaults(func=erase_command)


def export(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    since = time.time_ns() // 1_000_000 - settings.retention_readings_days * DAY_MS
    try:
        with database(settings) as engine, open_store(settings) as store:
            data = export_resident_data(engine, store, args.resident, since)
    except UnknownResident as exc:
        raise CommandError(str(exc)) from None
    except StoreError as exc:
        raise CommandError(f"cannot read the readings: {exc}", exit_code=1) from None
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
    try:
        with database(settings) as engine, open_store(settings) as store:
            erasure = erase_resident_data(engine, store, Provisioner.from_settings(settings, engine),
                                          args.resident, time.time_ns() // 1_000_000)
    except UnknownResident as exc:
        raise CommandError(str(exc)) from None
    except ErasureRefused as exc:
        raise CommandError(str(exc), exit_code=1) from None
    except (StoreError, ProvisioningError) as exc:
        raise CommandError(f"erasure incomplete: {exc}", exit_code=1) from None
    print(f"erased resident {args.resident}: {len(erasure.device_ids)} personal devices and "
          f"their readings, {erasure.alerts_anonymised} alerts anonymised, "
          f"{erasure.tokens_changed} tokens changed")
    return 0
