"""``safehood registry``: import a registry file into the database, or export it.

Import a registry file (JSON or YAML) into the database or export the database's registry as
one. An import is checked as a whole first: a bad file changes nothing. A running `safehood
run` picks the change up on its next registry reload; changes made through the API apply at
once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson
import yaml
from pydantic import ValidationError

from safehood.api import MqttCredentials, Provisioner, ProvisioningError, RegistryError, RegistryService
from safehood.protocol import RegistryFile

from ._common import CommandError, add_file_argument, database, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="insert or update every entry of a registry file")
    add_file_argument(imp, "file")
    imp.add_argument("--replace", action="store_true",
                     help="also remove every entry the file does not name")
    imp.add_argument("--provision", action="store_true",
                     help="give the file's devices without MQTT credentials new ones and print "
                     "them (JSON Lines)")
    imp.set_defaults(func=import_file)
    exp = actions.add_parser("export", help="write the registry as a file")
    exp.add_argument("file", metavar="FILE", help="JSON, or YAML for .yaml/.yml; '-' for stdout")
    exp.set_defaults(func=export_file)


def _read(path: Path) -> RegistryFile:
    try:
        text = path.read_bytes()
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else orjson.loads(text)
        return RegistryFile.model_validate(data)
    except (OSError, orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise CommandError(f"{path}: {where + ': ' if where else ''}{msg}") from None


def import_file(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    file = _read(args.file)
    try:
        with database(settings) as engine:
            RegistryService(engine).import_file(file, replace=args.replace)
            provisioner = Provisioner.from_settings(settings, engine)
            issued: list[MqttCredentials] = []
            ids = [d.device_id for d in file.devices]
            missing = [i for i in ids if i not in provisioner.provisioned(ids)]
            if args.provision and missing:
                issued, result = provisioner.provision_many(missing)
            else:
                result = provisioner.sync()
    except RegistryError as exc:
        raise CommandError(str(exc)) from None
    except ProvisioningError as exc:
        raise CommandError(f"registry imported, provisioning failed: {exc}") from None
    print(f"imported {len(file.households)} households, {len(file.residents)} residents, "
          f"{len(file.devices)} devices from {args.file}", file=sys.stderr)
    for creds in issued:
        print(orjson.dumps({"username": creds.username, "password": creds.password,
                            "publish_topic": creds.publish_topic,
                            "broker": settings.mqtt.url}).decode())
    if result.reload_error:
        print(f"warning: the broker did not reload: {result.reload_error}", file=sys.stderr)
    return 0


def export_file(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    with database(settings) as engine:
        registry = RegistryService(engine).load()
    if args.file == "-":
        data = registry.to_model().model_dump(exclude_none=True)
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        try:
            registry.dump(args.file)
        except OSError as exc:
            raise CommandError(f"cannot write {args.file}: {exc}") from None
        print(f"wrote {len(registry.households)} households, {len(registry.residents)} "
              f"residents, {len(registry.devices)} devices to {args.file}", file=sys.stderr)
    return 0
