"""``safehood detect``: run the detectors over a recording, offline, and write the alerts.

Run the same detectors and alert lifecycle as the live pipeline over a replay file (JSON
Lines of {topic, payload}), with no broker and no server, and write one JSON object per
alert, in its final state. Lines that break the contract are counted and skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import CommandError, add_file_argument

# The heavy modules (detectors, protocol, alerting) are imported by ``run`` and on first use
# of the names below, so that printing the help loads none of them.
DEFAULT_RESOLVE_AFTER_S = 3600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_file_argument(parser, "--registry",
                      "registry file (JSON or YAML) of households, residents, devices",
                      required=True)
    add_file_argument(parser, "--input", "replay file (JSON Lines)", required=True)
    parser.add_argument("--output", required=True, type=Path, metavar="FILE",
                        help="where to write the alerts (JSON Lines); '-' for stdout")
    add_file_argument(parser, "--thresholds",
                      "detector thresholds (JSON or YAML, see detectors.DetectorConfig)")
    parser.add_argument("--topic-prefix", metavar="PREFIX",
                        help="topic prefix of the recording (default: the wire contract's)")
    parser.add_argument("--resolve-after", type=float, default=DEFAULT_RESOLVE_AFTER_S,
                        metavar="S",
                        help="resolve an alert this many seconds (event time) after its last "
                             "change, as a duty officer would, so that a later incident of "
                             "the same subject raises a new alert; 0 keeps alerts open "
                             f"(default {DEFAULT_RESOLVE_AFTER_S:g})")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from tqdm import tqdm

    from safehood._offline import AlertSink, detect
    from safehood.detectors import DetectorConfig
    from safehood.learning import ModelError
    from safehood.protocol import Registry, write_jsonl
    from safehood.protocol.const import DEFAULT_TOPIC_PREFIX

    try:
        registry = Registry.load(args.registry)
    except (ValidationError, ValueError, OSError) as exc:
        raise CommandError(f"cannot load registry {args.registry}: {_first_error(exc)}") from None
    config = None
    if args.thresholds is not None:
        try:
            config = DetectorConfig.load(args.thresholds)
        except (ValueError, OSError) as exc:
            raise CommandError(f"cannot load thresholds {args.thresholds}: {exc}") from None
    if args.resolve_after < 0:
        raise CommandError("--resolve-after must not be negative")
    sink = AlertSink(registry, resolve_after_s=args.resolve_after or None)
    size = args.input.stat().st_size
    with tqdm(total=size, unit="B", unit_scale=True, desc="detect", file=sys.stderr,
              disable=None, mininterval=0.5) as bar:
        try:
            alerts, summary = detect(registry, args.input, config=config,
                                     topic_prefix=args.topic_prefix or DEFAULT_TOPIC_PREFIX,
                                      progress=bar.update,
                                     sink=sink)
        except ModelError as exc:
            raise CommandError(str(exc)) from None
    try:
        if str(args.output) == "-":
            write_jsonl(sys.stdout.buffer, alerts)
            sys.stdout.flush()
        else:
            with open(args.output, "wb") as out:
                write_jsonl(out, alerts)
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"safehood detect: {summary.line()}", file=sys.stderr)
    return 0


def _first_error(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}" if where else str(err["msg"])
    return str(exc)



def __getattr__(name: str) -> object:
    # The offline path's names, still importable from here as before they moved.
    if name in ("AlertSink", "DetectSummary", "detect"):
        from safehood import _offline

        return getattr(_offline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
