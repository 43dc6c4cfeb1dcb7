"""``safehood evaluate``: score alerts against the simulator's labels, per alert type.

Match the alerts of `safehood detect` to the simulator's labels, per alert type: an alert
detects a label of its type when it is about the same household, resident or device (where
both say) and starts between the label's start (minus a tolerance) and its end plus the
type's longest allowed delay. Prints recall, precision, false alarms per 100 household-days
and detection delay percentiles.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson
from pydantic import ValidationError

from safehood.evaluation import (
    DEFAULT_TOLERANCE_S,
    MS_PER_DAY,
    format_table,
    plot,
    read_alerts,
    read_label_file,
    resolution_labels,
    score,
    span_days,
)
from safehood.protocol import Registry, parse_ts_ms

from ._common import CommandError, add_file_argument, positive_float, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_file_argument(parser, "--labels", "labels (JSON Lines) written by the simulator")
    parser.add_argument(
        "--labels-from-resolutions", action="store_true",
        help="instead of --labels: the duty officers' resolutions of the alerts are the labels "
             "(resolved as real: a label; as false_alarm: a false alarm; others left out)")
    add_file_argument(parser, "--alerts", "alerts (JSON Lines) written by safehood detect",
                      required=True)
    add_file_argument(parser, "--registry", "registry file, for the number of households")
    parser.add_argument("--households", type=positive_int, metavar="N",
                        help="number of households (instead of --registry)")
    parser.add_argument("--days", type=positive_float, metavar="D",
                        help="days recorded (default: the span of labels and alerts)")
    add_file_argument(parser, "--summary", "the simulator's summary.json, for households and days")
    parser.add_argument("--tolerance", type=positive_float, default=DEFAULT_TOLERANCE_S,
                        metavar="S", help="seconds an alert may start before its label")
    parser.add_argument("--max-delay", action="append", default=[], metavar="TYPE=S",
                        help="longest delay after a label's end for TYPE, in seconds "
                             "(repeatable)")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="also draw the scores to PNG")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.set_defaults(func=run)


def _parse_delays(items: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not sep or not name or not seconds >= 0:
            raise CommandError(f"--max-delay {item!r} is not TYPE=SECONDS")
        out[name.strip()] = seconds
    return out


def run(args: argparse.Namespace) -> int:
    delays = _parse_delays(args.max_delay)
    if (args.labels is None) == (not args.labels_from_resolutions):
        raise CommandError("give either --labels or --labels-from-resolutions")
    alerts, bad_alerts = read_alerts(args.alerts)
    if args.labels_from_resolutions:
        labels, alerts = resolution_labels(alerts)
        bad_labels = 0
        if not alerts:
            raise CommandError(f"{args.alerts} holds no alert resolved as real or false_alarm")
    else:
        labels, bad_labels = read_label_file(args.labels)
    if not labels and bad_labels:
        raise CommandError(f"{args.labels} holds no labels ({bad_labels} unreadable lines)")
    households = args.households
    days = args.days
    if args.summary is not None:
        try:
            summary = orjson.loads(args.summary.read_bytes())
            households = households or int(summary["households"])
            days = days or (parse_ts_ms(summary["end"]) - parse_ts_ms(summary["start"])) / MS_PER_DAY
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CommandError(f"{args.summary} is not a simulator summary: {exc}") from None
    if households is None and args.registry is not None:
        try:
            households = len(Registry.load(args.registry).households)
        except (ValidationError, ValueError, OSError) as exc:
            raise CommandError(f"cannot load registry {args.registry}: {exc}") from None
    if households is None:
        raise CommandError("give --registry, --households or --summary (for false alarms per "
                           "household-day)")
    if days is None:
        days = span_days(labels, alerts)
    card = score(labels, alerts, household_days=households * days, tolerance_s=args.tolerance,
                 max_delay_s=delays)
    if args.json:
        sys.stdout.write(orjson.dumps(card.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(format_table(card))
    if bad_labels or bad_alerts:
        print(f"safehood evaluate: skipped {bad_labels} bad label lines, {bad_alerts} bad alert "
              "lines", file=sys.stderr)
    if args.plot is not None:
        try:
            plot(card, args.plot)
        except OSError as exc:
            raise CommandError(f"cannot write {args.plot}: {exc.strerror or exc}") from None
    return 0
