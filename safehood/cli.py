"""The ``safehood`` command. Each subcommand lives in ``safehood/commands/<name>.py`` and
exposes ``register(subparsers)``; this module only collects them and reports failures."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from safehood import commands
from safehood.commands._common import CommandError

# Libraries whose routine chatter would drown safehood's own lines; amqtt (the demo's
# fallback broker) logs our readiness probe's bare connect as an error.
# httpx logs every request at INFO: one line per /ping and query to InfluxDB.
_QUIET_LOGGERS = {"alembic": logging.WARNING, "apprise": logging.WARNING,
                  "transitions": logging.WARNING, "amqtt": logging.CRITICAL,
                  "httpx": logging.WARNING}
_ORDER = ["demo", "run", "simulate", "replay", "detect", "evaluate", "train"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safehood",
        description="Community safety sensing and early warning over MQTT.",
    )
    parser.add_argument("--config", metavar="FILE", help="settings file (YAML, JSON or TOML)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    names.sort(key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n))
    for name in names:
        module = importlib.import_module(f"safehood.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        for noisy, level in _QUIET_LOGGERS.items():
            logging.getLogger(noisy).setLevel(level)
    try:
        result = args.func(args)
    except CommandError as exc:
        print(f"safehood {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
