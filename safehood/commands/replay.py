"""``safehood replay``: publish a recording to a broker at a chosen speed.

Publish every message of a replay file in order, QoS 1, retained where the file says so,
keeping the recorded gaps between event times divided by --speed.
"""

from __future__ import annotations

import argparse

from safehood.commands._common import (
    CommandError,
    add_file_argument,
    add_progress_option,
    add_publishing_options,
    broker_endpoint,
    load_settings,
    progress_bar,
)
from safehood.simulators import BrokerUnreachable, Replayer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("example:\n  safehood replay rec/traffic.jsonl --broker mqtt://127.0.0.1:1883 "
                     "--speed 600")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_file_argument(parser, "file", "the replay file")
    add_publishing_options(parser, "1 recorded pace, 60 a minute a second, 'max' as fast as "
                           "possible (default 1)")
    parser.add_argument("--topic-prefix", default=None,
                        help="publish under this prefix instead of the recorded one")
    add_progress_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    endpoint = broker_endpoint(args, load_settings(args))
    try:
        replayer = Replayer(args.file, endpoint, speed=args.speed, topic_prefix=args.topic_prefix)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    bar = progress_bar(args, "replay", total=replayer.count(), unit="msg", unit_scale=True)
    try:
        stats = replayer.run(progress=bar.update)
    except BrokerUnreachable as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        raise CommandError(f"{args.file}: {str(exc).splitlines()[0]}") from None
    except KeyboardInterrupt:
        replayer.stop()
        return 130
    finally:
        bar.close()
    if stats.errors:
        raise CommandError("; ".join(stats.errors), exit_code=1)
    print(f"published {stats.published} messages ({stats.retained} retained) to {endpoint.url} "
          f"in {stats.wall_s:.1f} s")
    return 0
