from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import ValidationError

from config import Settings


class CommandError(Exception):
    """A failure to report as one line and a non-zero exit code (bad argument, server down)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def load_settings(args: argparse.Namespace, **overrides: object) -> Settings:
    """Settings from the environment, ``--config`` and command-line overrides."""
    try:
        return Settings.load(getattr(args, "config", None), **overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CommandError(f"bad setting {where}: {first['msg']}") from None
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from None


def existing_file(value: str) -> Path:
    """argparse type: a path that must exist."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value} is not a file")
    return path


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be greater than 0")
    return number


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be greater than 0")
    return number
