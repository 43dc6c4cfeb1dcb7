"""``safehood devices discover``: listen on the broker and suggest registry entries (and
mappings) for the devices heard that the registry does not know.

Tools for integrators who connect devices as they are sold.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import yaml

from safehood.database import load_registry
from safehood.dialects import MappingError, TopicShape, load_dialects, suggest
from safehood.mqtt import BrokerUnreachable, connect
from safehood.protocol import Registry, deadletter_topic

from ._common import CommandError, add_file_argument, database, load_settings, positive_float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    discover = actions.add_parser(
        "discover", help="listen on the broker and suggest registry entries and mappings",
        description="Subscribe to the broker for a while and list, as YAML, every topic heard "
        "that no registry device claims: its payload shape, the dialect that reads it "
        "(zigbee2mqtt, shelly, a mapping of SAFEHOOD_DIALECTS_DIR, or contract v1) and a suggested "
        "registry entry; for a dialect safehood does not know, a mapping file to start from. "
        "Complete the entries (site, household, kind) and load them with `safehood registry "
        "import`.",
    )
    discover.add_argument("--seconds", type=positive_float, default=30.0,
                          help="how long to listen (default 30)")
    discover.add_argument("--topic", action="append", metavar="FILTER",
                          help="MQTT topic filter to listen on (repeatable; default: #)")
    discover.add_argument("--site", default="SITE", help="site to put in suggested entries")
    add_file_argument(discover, "--registry",
                      help="registry file to compare with (default: the database's registry)")
    discover.set_defaults(func=discover_devices)


def discover_devices(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    try:
        dialects = load_dialects(settings.dialects_dir)
    except MappingError as exc:
        raise CommandError(f"cannot load the dialects: {exc}") from None
    if args.registry is not None:
        try:
            registry = Registry.load(args.registry)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {args.registry}: {exc}") from None
    else:
        with database(settings) as engine:
            registry = load_registry(engine)
    shapes = _listen(settings.mqtt, args.topic or ["#"], args.seconds,
                     ignore={deadletter_topic(settings.topic_prefix)})
    found = [s for s in (suggest(shape, dialects, registry, settings.topic_prefix, args.site)
                         for shape in sorted(shapes.values(), key=lambda s: s.topic))
             if s is not None]
    print(f"heard {sum(s.messages for s in shapes.values())} messages on {len(shapes)} topics "
          f"in {args.seconds:g} s; {len(found)} not in the registry", file=sys.stderr)
    if found:
        sys.stdout.write(yaml.safe_dump({"unknown": found}, sort_keys=False, allow_unicode=True))
    return 0


def _listen(endpoint: Any, filters: list[str], seconds: float,
            ignore: set[str]) -> dict[str, TopicShape]:
    shapes: dict[str, TopicShape] = {}
    lock = threading.Lock()

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic in ignore:
            return
        with lock:
            shape = shapes.setdefault(message.topic, TopicShape(message.topic))
            shape.observe(bytes(message.payload), bool(message.retain))

    def setup(client: mqtt.Client) -> None:
        client.on_message = on_message
        client.on_connect = lambda c, *_a: c.subscribe([(f, 0) for f in filters])

    try:
        client = connect(endpoint, f"safehood-discover-{uuid.uuid4().hex[:8]}", setup=setup)
    except BrokerUnreachable as exc:
        raise CommandError(str(exc)) from None
    try:
        time.sleep(seconds)
    finally:
        client.disconnect()
        client.loop_stop()
    with lock:
        return dict(shapes)
