"""``safehood simulate``: a simulated community, to a recording or live to a broker.

Simulate a residential community's sensors (smoke, wearables, water, doors, motion, SOS
buttons) following daily routines, with incidents injected as scenarios. With --out DIR it
writes registry.json, traffic.jsonl (replay format), labels.jsonl (ground truth) and
summary.json; with --live it publishes to a broker in real time or faster (--speed). The
same seed always gives the same files.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from safehood.commands._common import (
    CommandError,
    add_progress_option,
    add_publishing_options,
    broker_endpoint,
    load_settings,
    number_in,
    positive_float,
    positive_int,
    progress_bar,
)
from safehood.config import Settings
from safehood.protocol import format_ts, parse_ts_ms
from safehood.simulators import (
    POPULATIONS,
    BrokerUnreachable,
    Community,
    LiveSimulator,
    Radio,
    ScenarioRequest,
    SimulationConfig,
    describe_scenarios,
    parse_scenario_names,
    write_recording,
)
from safehood.simulators.const import DEFAULT_CONNECTIONS, DEFAULT_RATE, DEFAULT_START, DEFAULT_TIMEZONE

_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)([smhd])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_s(value: str) -> float:
    """argparse type: seconds, or a number with s/m/h/d."""
    match = _OFFSET.match("+" + value.strip())
    if match:
        return float(match.group(1)) * _UNIT_MS[match.group(2)] / 1000
    return positive_float(value)


probability = number_in(0, 0.5, high_open=True, meaning="must be at least 0 and below 0.5")
share = number_in(0, 1, meaning="must be between 0 and 1")
rate = number_in(0, meaning="cannot be negative")


def parse_when(text: str, start_ms: int) -> int:
    """RFC 3339, or an offset from the start such as ``+90m``, ``+2h``, ``+1d``."""
    match = _OFFSET.match(text.strip())
    if match:
        return start_ms + int(float(match.group(1)) * _UNIT_MS[match.group(2)])
    try:
        return parse_ts_ms(text)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"bad time {text!r}: {exc} (use RFC 3339 or +90m, +2h ...)") from None


def parse_request(text: str, start_ms: int) -> ScenarioRequest:
    """``NAME@TIME[@HOUSEHOLD]``."""
    parts = text.split("@")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise CommandError(f"--at {text!r}: expected NAME@TIME or NAME@TIME@HOUSEHOLD")
    return ScenarioRequest(parts[0], parse_when(parts[1], start_ms),
                           parts[2] if len(parts) == 3 and parts[2] else None)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "scenarios (with the type of label each writes, and what its start and end are):\n"
        + describe_scenarios()
        + "\n\nexamples:\n"
        "  safehood simulate --households 20 --days 1 --seed 7 --out rec/\n"
        "  safehood simulate --households 500 --scenarios fall,fire --rate 20 --out rec/\n"
        "  safehood simulate --scenarios none --at fall@+2h@h0003 --out rec/\n"
        "  safehood simulate --live --broker mqtt://127.0.0.1:1883 --speed 60 --households 50"
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--households", type=positive_int, default=20, help="how many (default 20)")
    parser.add_argument("--days", type=positive_float, default=None,
                        help="simulated days (default 1 for --out; live: until stopped)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--start", metavar="TIME", default=None,
                        help=f"event time of the start, RFC 3339 (default {DEFAULT_START}; "
                        "live: now)")
    parser.add_argument("--sites", type=positive_int, default=None,
                        help="number of sites (default one per 500 households)")
    parser.add_argument("--timezone", default=DEFAULT_TIMEZONE,
                        help=f"households' IANA time zone (default {DEFAULT_TIMEZONE})")
    parser.add_argument("--elderly-alone-share", type=share, default=None,
                        help="share of households that are an elderly person living alone")
    parser.add_argument("--dementia-share", type=share, default=None,
                        help="share of elderly residents with dementia")
    parser.add_argument("--population", choices=sorted(POPULATIONS), default="default",
                        help="where habits and device reporting come from: default (one "
                             "routine, as before, reproducible per seed) or diverse (bedtimes "
                             "20:00-01:00, heartbeats 1 min to 24 h, radio loss, clock skew)")
    parser.add_argument("--scenarios", default="incidents", metavar="LIST",
                        help="'incidents' (default: the short incidents but sit_hard_still, "
                        "take_off and bed_flop), 'routine' (the multi-week routine changes, "
                        "for runs of three weeks or more), 'all', "
                        "'none', or comma-separated names (below): random incidents are drawn "
                        "from these, each at least once")
    parser.add_argument("--rate", "--incidents-per-100-household-days", dest="rate", type=rate,
                        default=DEFAULT_RATE, metavar="R",
                        help=f"random incidents per 100 household-days (default {DEFAULT_RATE:g})")
    parser.add_argument("--at", action="append", default=[], metavar="NAME@TIME[@HOUSEHOLD]",
                        help="an incident at a chosen time (RFC 3339 or +90m/+2h from the "
                        "start), optionally in a chosen household; repeatable")
    parser.add_argument("--drop", type=probability, default=Radio().drop,
                        help=f"share of radio messages lost (default {Radio().drop:g})")
    parser.add_argument("--duplicate", type=probability, default=Radio().duplicate,
                        help=f"share of messages seen twice (default {Radio().duplicate:g})")
    parser.add_argument("--topic-prefix", default=None, help="topic prefix (default: settings)")
    add_progress_option(parser)
    out = parser.add_argument_group("recording")
    out.add_argument("--out", type=Path, metavar="DIR", help="write a recording to DIR")
    out.add_argument("--workers", type=positive_int, default=min(2, os.cpu_count() or 1),
                     help="processes generating households (default: up to 2)")
    live = parser.add_argument_group("live")
    live.add_argument("--live", action="store_true", help="publish live to a broker")
    add_publishing_options(live, "event time per wall time: 1 real time, 60 a minute a second, "
                           "'max' as fast as possible (default 1)")
    live.add_argument("--duration", type=duration_s, default=None, metavar="SECONDS",
                      help="stop after this long (wall clock; 90, 10m, 2h)")
    live.add_argument("--connections", type=positive_int, default=DEFAULT_CONNECTIONS,
                      help=f"shared MQTT connections (default {DEFAULT_CONNECTIONS})")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.out) == bool(args.live):
        raise CommandError("give either --out DIR (a recording) or --live (publish to a broker)")
    settings = load_settings(args)
    prefix = (args.topic_prefix or settings.topic_prefix).strip("/")
    if not prefix or any(c in prefix for c in "+#"):
        raise CommandError(f"bad topic prefix {prefix!r}")
    try:
        names = parse_scenario_names(args.scenarios)
        community = Community.generate(
            args.households, args.seed, sites=args.sites, timezone=args.timezone,
            **({"elderly_alone_share": args.elderly_alone_share}
               if args.elderly_alone_share is not None else {}),
            **({"dementia_share": args.dementia_share} if args.dementia_share is not None else {}),
            population=POPULATIONS[args.population],
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.start is not None:
        try:
            start_ms = parse_ts_ms(args.start)
        except (TypeError, ValueError) as exc:
            raise CommandError(f"bad --start {args.start!r}: {exc}") from None
    else:
        start_ms = parse_ts_ms(DEFAULT_START) if args.out else int(time.time() * 1000)
    requests = tuple(parse_request(text, start_ms) for text in args.at)
    days = args.days if args.days is not None else (1.0 if args.out else 3650.0)
    try:
        config = SimulationConfig(
            seed=args.seed, start_ms=start_ms, days=days, scenarios=names, rate=args.rate,
            requests=requests, radio=Radio(args.drop, args.duplicate), topic_prefix=prefix,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.out:
        return _record(args, community, config)
    return _live(args, settings, community, config)


def _record(args: argparse.Namespace, community: Community, config: SimulationConfig) -> int:
    try:
        summary = write_recording(args.out, community, config, workers=args.workers,
                                  progress=not args.no_progress)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"wrote {summary.messages} messages and {summary.labels} labels for "
        f"{summary.households} households ({format_ts(summary.start_ms)} to "
        f"{format_ts(summary.end_ms)}) to {args.out} in {summary.wall_s:.1f} s "
        f"({summary.messages_per_s:,.0f} messages/s, {summary.households_per_s:,.1f} households/s)"
    )
    return 0


def _live(args: argparse.Namespace, settings: Settings, community: Community,
          config: SimulationConfig) -> int:
    endpoint = broker_endpoint(args, settings)
    try:
        simulator = LiveSimulator(community, endpoint, config=config, speed=args.speed,
                                  start_ms=config.start_ms, days=args.days,
                                  connections=args.connections)
        simulator.start()
    except (ValueError, BrokerUnreachable) as exc:
        raise CommandError(str(exc)) from None
    print(f"publishing {len(community.households)} households to {endpoint.url} under "
          f"{config.topic_prefix}/ at speed {args.speed or 'max'}; Ctrl-C to stop",
          file=sys.stderr)
    bar = progress_bar(args, "live", unit="msg")
    deadline = None if args.duration is None else time.monotonic() + args.duration
    shown = 0
    try:
        while simulator.running:
            simulator.join(0.5)
            total = simulator.stats.total
            bar.update(total - shown)
            shown = total
            if simulator.stats.event_ms is not None:
                bar.set_postfix_str(f"event time {format_ts(simulator.stats.event_ms)}")
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        bar.close()
    if simulator.error is not None:
        raise CommandError(f"live simulation failed: {simulator.error}")
    stats = simulator.stats
    print(f"published {stats.total} messages ({dict(stats.published)}), radio "
          f"{dict(stats.radio)}, {stats.wills_cut} last wills via the broker, "
          f"{len(simulator.labels)} incidents")
    return 0
