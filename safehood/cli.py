"""The ``safehood`` command. Each subcommand lives in ``safehood/commands/<name>.py``, whose
docstring is its help (the first paragraph its summary, the rest its description) and whose
``add_arguments(parser)`` declares its arguments and handler; this module only collects
them and reports failures.

Only the chosen subcommand's module is imported: the others are listed with the summary
of their module docstring, read without importing it, so that ``safehood --help`` loads
none of them."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from safehood import commands
from safehood.commands._common import CommandError

# Libraries whose routine chatter would drown safehood's own lines; amqtt (the demo's
# fallback broker) logs our readiness probe's bare connect as an error.
# httpx logs every request at INFO: one line per /ping and query to InfluxDB.
_QUIET_LOGGERS = {"alembic": logging.WARNING, "apprise": logging.WARNING,
                  "transitions": logging.WARNING, "amqtt": logging.CRITICAL,
                  "httpx": logging.WARNING}
_ORDER = ["demo", "run", "simulate", "replay", "detect", "evaluate", "train"]


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The full parser when ``argv`` is None; else one that registers only the subcommand
    ``argv`` names (none for ``safehood --help``) and lists the others by summary."""
    parser = argparse.ArgumentParser(
        prog="safehood",
        description="Community safety sensing and early warning over MQTT.",
    )
    parser.add_argument("--config", metavar="FILE", help="settings file (YAML, JSON or TOML)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    names.sort(key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n))
    chosen = None if argv is None else _chosen_command(argv, names)
    for name in names:
        if argv is None or name == chosen:
            module = importlib.import_module(f"safehood.commands.{name}")
            summary, description = _help(module.__doc__ or "")
            module.add_arguments(subparsers.add_parser(name, help=summary,
                                                     description=description or None))
        else:
            subparsers.add_parser(name, help=_summary(name))
    return parser


def _chosen_command(argv: Sequence[str], names: list[str]) -> str | None:
    """The subcommand ``argv`` names: its first positional argument."""
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)
        elif not arg.startswith("-"):
            return arg if arg in names else None
    return None


def _summary(name: str) -> str:
    """The summary of a command module's docstring, read without importing the module."""
    import ast

    path = Path(commands.__path__[0]) / f"{name}.py"
    return _help(ast.get_docstring(ast.parse(path.read_bytes())) or "")[0]


def _help(docstring: str) -> tuple[str, str]:
    """A command module's docstring as its summary and its description, each on one line."""
    first, _, rest = docstring.partition("\n\n")
    summary = " ".join(first.split())
    # "``safehood detect``: run the detectors ..." -> "run the detectors ..."
    return summary.partition("``: ")[2].rstrip(".") or summary, " ".join(rest.split())


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
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
