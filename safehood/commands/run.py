"""``safehood run``: the live pipeline against a configured broker and store.

Run the live pipeline against the broker and store of the settings (SAFEHOOD_MQTT_URL,
SAFEHOOD_INFLUX_URL, ...). Stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading

from safehood._pipeline import build_pipeline
from safehood._scaleout import ROLES, build_scaleout
from safehood.config import Settings
from safehood.dialects import MappingError
from safehood.learning import ModelError
from safehood.mqtt import BrokerUnreachable
from safehood.scaleout import ScaleOutError
from safehood.store import StoreError

from ._common import CommandError, add_file_argument, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_file_argument(parser, "--registry",
                      "import this registry file (JSON or YAML) before starting")
    parser.add_argument("--mqtt-url", help="override SAFEHOOD_MQTT_URL")
    parser.add_argument("--data-dir", help="override SAFEHOOD_DATA_DIR")
    parser.add_argument(
        "--engine", choices=("mosquitto", "nats"), default="mosquitto",
        help="mosquitto (default): one process with one MQTT session; nats: one process of "
        "the scale-out engine on a NATS JetStream cluster (SAFEHOOD_NATS_URL; README, "
        "'Scale-out on NATS JetStream')")
    parser.add_argument(
        "--role", action="append", choices=ROLES, dest="roles",
        help="with --engine nats: what this process does (repeatable; default: all of "
        f"{', '.join(ROLES)})")
    parser.set_defaults(func=run)


def wait_for_shutdown() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args, mqtt_url=args.mqtt_url, data_dir=args.data_dir,
                             registry_file=args.registry)
    if args.engine == "nats":
        return run_scaleout(settings, tuple(args.roles or ROLES))
    try:
        pipeline = build_pipeline(settings)
        pipeline.store.check()
    except StoreError as exc:
        raise CommandError(f"time-series store unavailable: {exc}") from None
    except (ModelError, MappingError) as exc:
        raise CommandError(str(exc)) from None
    try:
        pipeline.start()
    except BrokerUnreachable as exc:
        pipeline.stop()
        raise CommandError(str(exc)) from None
    print(f"safehood: ingesting from {settings.mqtt.url} under {', '.join(pipeline.source.topics)}",
          flush=True)
    try:
        wait_for_shutdown()
    finally:
        pipeline.stop()
    return 0


def run_scaleout(settings: Settings, roles: tuple[str, ...]) -> int:
    try:
        process = build_scaleout(settings, roles)
        process.start()
    except (ScaleOutError, StoreError, ModelError, OSError) as exc:
        raise CommandError(f"scale-out engine: {exc}") from None
    print(f"safehood: {', '.join(roles)} on NATS {settings.nats_url}", flush=True)
    try:
        wait_for_shutdown()
    finally:
        process.stop()
    return 0
