"""``safehood provision``: give a device (or a service) MQTT credentials and an ACL.

Create the device in the registry when --site and --kind are given (or use the registered
one), give it a new random MQTT password, write the broker's password and ACL files
(mosquitto format; SAFEHOOD_MQTT_PASSWORD_FILE, SAFEHOOD_MQTT_ACL_FILE) and reload the
broker (SAFEHOOD_BROKER_RELOAD_COMMAND). The password is printed once. With --service, NAME
is a service account instead (ingest: reads everything, publishes dead letters; publisher:
publishes any device topic, for simulators and gateways).
"""

from __future__ import annotations

import argparse
import sys

import orjson

from safehood.api import Provisioner, ProvisioningError, RegistryError, RegistryService
from safehood.api.const import SERVICE_ROLES
from safehood.protocol.const import DEVICE_KINDS

from ._common import CommandError, database, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="DEVICE_ID", help="device id (or service account name)")
    parser.add_argument("--site", help="site of a new device")
    parser.add_argument("--kind", choices=DEVICE_KINDS, help="kind of a new device")
    parser.add_argument("--household", help="household of a new device")
    parser.add_argument("--room", help="room of a new device")
    parser.add_argument("--resident", help="resident wearing or holding a new device")
    parser.add_argument("--service", choices=SERVICE_ROLES,
                        help="provision a service account of this role instead of a device")
    parser.add_argument("--json", action="store_true", help="print the credentials as JSON")
    parser.set_defaults(func=provision)


def provision(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    try:
        with database(settings) as engine:
            provisioner = Provisioner.from_settings(settings, engine)
            if args.service:
                creds, result = provisioner.add_service_account(args.name, args.service)
            else:
                registry = RegistryService(engine)
                device = registry.load().devices.get(args.name)
                if device is None:
                    if not (args.site and args.kind):
                        raise CommandError(f"device {args.name!r} is not registered: give --site and "
                                           "--kind to create it")
                    entry = {"device_id": args.name, "site": args.site, "kind": args.kind,
                             "household": args.household, "room": args.room,
                             "resident": args.resident}
                    registry.create("devices", entry)
                elif args.site and args.site != device.site:
                    raise CommandError(f"device {args.name!r} is registered at site {device.site!r}, "
                                       f"not {args.site!r}")
                creds, result = provisioner.provision(args.name)
    except (RegistryError, ProvisioningError) as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print(orjson.dumps({"username": creds.username, "password": creds.password,
                            "role": creds.role, "publish_topic": creds.publish_topic,
                            "broker": settings.mqtt.url,
                            "ca_file": settings.mqtt.ca_file}).decode())
    else:
        print(f"MQTT credentials of {creds.role} {creds.username} (shown once):")
        print(f"  username: {creds.username}")
        print(f"  password: {creds.password}")
        if creds.publish_topic:
            print(f"  may publish under: {creds.publish_topic}")
        print(f"  broker: {settings.mqtt.url}")
        if settings.mqtt.ca_file:
            print(f"  trusts the CA in: {settings.mqtt.ca_file}")
    reloaded = "reloaded" if result.reloaded else (
        f"NOT reloaded ({result.reload_error or 'set SAFEHOOD_BROKER_RELOAD_COMMAND'})")
    print(f"wrote {provisioner.password_file} and {provisioner.acl_file}; broker {reloaded}",
          file=sys.stderr)
    return 0
