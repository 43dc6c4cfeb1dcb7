from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from tqdm import tqdm

    from safehood.config import MqttEndpoint, Settings


class CommandError(Exception):
    """A failure to report as one line and a non-zero exit code (bad argument, server down)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def load_settings(args: argparse.Namespace, **overrides: object) -> Settings:
    """Settings from the environment, ``--config`` and command-line overrides."""
    # Imported here: the CLI loads this module to print its help, and pydantic is slow to load.
    from pydantic import ValidationError

    from safehood.config import Settings

    try:
        return Settings.load(getattr(args, "config", None), **overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CommandError(f"bad setting {where}: {first['msg']}") from None
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from None


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """The alerts/registry database of the settings, migrated, and disposed of on leaving;
    CommandError when it cannot be opened."""
    from sqlalchemy.exc import SQLAlchemyError

    from safehood._pipeline import open_database

    try:
        engine = open_database(settings)
    except (SQLAlchemyError, OSError) as exc:
        raise CommandError(f"cannot open the database {settings.sqlalchemy_url}: {exc}") from None
    try:
        yield engine
    finally:
        engine.dispose()


def existing_file(value: str) -> Path:
    """argparse type: a path that must exist."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value} is not a file")
    return path


def add_file_argument(
    parser: argparse._ActionsContainer, name: str, help: str | None = None, *, required: bool = False
) -> None:
    """Add ``name`` (an option, or a positional when it has no dashes) naming a file that must
    exist; shown as FILE in the usage."""
    # argparse refuses ``required`` for a positional, even False
    options: dict[str, Any] = {"required": True} if required else {}
    parser.add_argument(name, type=existing_file, metavar="FILE", help=help, **options)


def number_in(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    cast: type[float] | type[int] = float,
    meaning: str = "",
) -> Callable[[str], float]:
    """An argparse type: a number (``cast``) within ``[low, high]`` (ends open as told);
    ``meaning`` words the range in the error (default: the bounds themselves)."""

    def parse(value: str) -> float:
        try:
            number = cast(value)
        except ValueError:
            kind = "whole number" if cast is int else "number"
            raise argparse.ArgumentTypeError(f"{value!r} is not a {kind}") from None
        too_low = low is not None and (number <= low if low_open else number < low)
        too_high = high is not None and (number >= high if high_open else number > high)
        if too_low or too_high:
            if not meaning:
                parts = []
                if low is not None:
                    parts.append(f"{'greater than' if low_open else 'at least'} {low:g}")
                if high is not None:
                    parts.append(f"{'below' if high_open else 'at most'} {high:g}")
                raise argparse.ArgumentTypeError(f"{value!r} must be {' and '.join(parts)}")
            raise argparse.ArgumentTypeError(f"{value!r} {meaning}")
        return number

    return parse


positive_float = number_in(0, low_open=True, meaning="must be greater than 0")
positive_int = number_in(0, low_open=True, cast=int, meaning="must be greater than 0")


def speed(value: str) -> float | None:
    """argparse type: a speed factor, or ``max``/``0`` for as fast as possible."""
    if value.strip().lower() in ("max", "0"):
        return None
    return positive_float(value)


def add_publishing_options(parser: argparse._ActionsContainer, speed_help: str) -> None:
    """``--broker`` and ``--speed``, for a command that publishes to a broker at a pace;
    read them back with :func:`broker_endpoint` and ``args.speed``."""
    parser.add_argument("--broker", metavar="URL", help="mqtt://host:port (default: settings)")
    parser.add_argument("--speed", type=speed, default=1.0, help=speed_help)


def broker_endpoint(args: argparse.Namespace, settings: Settings) -> MqttEndpoint:
    """The settings' broker, or the one ``--broker`` names; CommandError for a bad URL."""
    try:
        return settings.mqtt.moved_to(args.broker) if args.broker else settings.mqtt
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def add_progress_option(parser: argparse._ActionsContainer) -> None:
    """``--no-progress``, which hides the bars of :func:`progress_bar`."""
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def progress_bar(args: argparse.Namespace, desc: str, **options: Any) -> tqdm:
    """A progress bar on stderr, hidden by ``--no-progress``."""
    from tqdm import tqdm

    return tqdm(desc=desc, disable=args.no_progress, file=sys.stderr, dynamic_ncols=True,
                **options)
