"""How fast the InfluxDB store's outage buffer drains once InfluxDB is back, with live
traffic still coming.

    .venv/bin/python bench/spool_drain.py [--backlog 20000] [--batch 10] [--live-rate 400]

Starts its own influxd with the test forwarder in front (as bench/store_write.py does),
takes the forwarder away, writes ``--backlog`` messages in batches of ``--batch`` (an
outage fills the spool with the small batches live traffic makes), brings the forwarder
back and times the drain while a writer keeps adding ``--live-rate`` messages a second in
batches of ``--batch``. Prints the drain time, the drain rate (backlog plus what joined it,
over that time), the write and /ping requests it took, and checks every message is stored.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_write import bench_influxd, synthetic
from safehood.store import InfluxReadingStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=20_000, help="messages spooled")
    parser.add_argument("--batch", type=int, default=10, help="messages per write() call")
    parser.add_argument("--live-rate", type=float, default=400.0,
                        help="messages a second written during the drain (0: none)")
    parser.add_argument("--limit-s", type=float, default=120.0,
                        help="give up when the spool has not drained after this long")
    args = parser.parse_args(argv)
    if args.backlog <= 0 or args.batch <= 0 or args.live_rate < 0 or args.limit_s <= 0:
        parser.error("--backlog, --batch and --limit-s must be positive, --live-rate not "
                     "negative")

    live_max = int(args.live_rate * args.limit_s) + args.batch
    messages = synthetic(args.backlog + live_max)
    with bench_influxd() as (server, root):
        database = f"drain_{uuid.uuid4().hex[:8]}"
        server.create_database(database)
        store = InfluxReadingStore(server.client_url, None, "safehood", database,
                                   spool_path=root / "spool.db", retry_interval_s=0.2,
                                   max_retry_delay_s=0.2)
        try:
            server.forwarder.stop()
            for start in range(0, args.backlog, args.batch):
                store.write(messages[start:min(start + args.batch, args.backlog)])
            store.flush()
            assert store.spooled == args.backlog, store.spooled

            written = args.backlog
            done = threading.Event()

            def live() -> None:
                nonlocal written
                pause = args.batch / args.live_rate
                next_at = time.perf_counter()
                while not done.is_set() and written + args.batch <= len(messages):
                    store.write(messages[written:written + args.batch])
                    written += args.batch
                    next_at += pause
                    time.sleep(max(0.0, next_at - time.perf_counter()))

            requests = server.forwarder.requests
            before = dict(requests)
            server.forwarder.start()
            started = time.perf_counter()
            writer = threading.Thread(target=live, daemon=True)
            if args.live_rate:
                writer.start()
            while store.spooled and time.perf_counter() - started < args.limit_s:
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
            drained = store.spooled == 0
            spooled_during = written - args.backlog
            writes = requests["/api/v2/write"] - before.get("/api/v2/write", 0)
            pings = requests["/ping"] - before.get("/ping", 0)
            done.set()
            if args.live_rate:
                writer.join()
            stored = None
            if drained:
                store.flush()
                stored = store.count()
        finally:
            store.close()

    print(f"backlog {args.backlog} messages in batches of {args.batch}; "
          f"live traffic {args.live_rate:g} msg/s")
    if not drained:
        print(f"  NOT drained after {args.limit_s:.0f} s ({writes} writes, {pings} pings)")
    else:
        print(f"  drained in {elapsed:.2f} s: {(args.backlog + spooled_during) / elapsed:,.0f} "
              f"msg/s ({spooled_during} live messages joined), {writes} write requests, "
              f"{pings} /ping")
    if stored is not None:
        print(f"  stored {stored} of {written} written")
    return 0 if drained and stored == written else 1


if __name__ == "__main__":
    sys.exit(main())
