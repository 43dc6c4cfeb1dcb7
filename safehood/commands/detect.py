"""``safehood detect``: run the detectors over a recording, offline, and write the alerts.

Run the same detectors and alert lifecycle as the live pipeline over a replay file (JSON
Lines of {topic, payload}), with no broker and no server, and write one JSON object per
alert, in its final state. Lines that break the contract are counted and skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import IO

from ._common import CommandError, add_file_argument, positive_int

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
    parser.add_argument("--jobs", type=positive_int, default=_cores(), metavar="N",
                        help="worker processes, the sites dealt out between them (output "
                             "and summary the same as with 1; no more workers than sites; "
                             "default: the number of cores, here %(default)s)")
    parser.set_defaults(func=run)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from tqdm import tqdm

    from safehood._offline import AlertSink, detect
    from safehood._offline_jobs import detect_partitioned, partition_sites
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
    resolve_after_s = args.resolve_after or None
    topic_prefix = args.topic_prefix or DEFAULT_TOPIC_PREFIX
    shares = partition_sites(registry, args.jobs)
    size = args.input.stat().st_size
    with tqdm(total=size, unit="B", unit_scale=True, desc="detect", file=sys.stderr,
              disable=None, mininterval=0.5) as bar:
        try:
            if len(shares) > 1:
                lines, summary = detect_partitioned(
                    registry, args.input, shares, config=config, topic_prefix=topic_prefix,
                    resolve_after_s=resolve_after_s, progress=bar.update)
            else:
                alerts, summary = detect(registry, args.input, config=config,
                                         topic_prefix=topic_prefix, progress=bar.update,
                                         sink=AlertSink(registry, resolve_after_s))
                lines = []
        except ModelError as exc:
            raise CommandError(str(exc)) from None
    def write(out: IO[bytes]) -> None:
        if len(shares) > 1:
            out.writelines(line + b"\n" for line in lines)
        else:
            write_jsonl(out, alerts)

    try:
        if str(args.output) == "-":
            write(sys.stdout.buffer)
            sys.stdout.flush()
        else:
            with open(args.output, "wb") as out:
                write(out)
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
