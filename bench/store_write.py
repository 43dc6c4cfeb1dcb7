"""Write throughput of the reading stores, with the server's raw write rate as a baseline.

    .venv/bin/python bench/store_write.py [--messages 20000] [--batch 1000]

Starts its own influxd (loopback, temporary directory, like the test fixture) with the test
forwarder in front for ``/api/v2/write``, and writes the same synthetic messages to:

- the embedded SQLite store;
- the InfluxDB store (influxdb-client batching WriteApi through the forwarder): the time
  spent inside ``write()`` (what ingest's consumer thread pays) and end to end, until
  ``flush()`` returns and ``count()`` sees every message;
- baselines: pre-built line protocol POSTed with httpx straight to influxd's ``/write``,
  and the same through the forwarder's ``/api/v2/write`` (the forwarder's own cost).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from safehood.protocol import (
    DeviceEvent,
    DoorReading,
    Message,
    Placement,
    Reading,
    SmokeReading,
    StatusReading,
    WearableWindow,
)
from safehood.store import InfluxReadingStore, SqliteReadingStore, to_line
from tests._influxdb import InfluxServer

T0 = 1_700_000_000_000


def synthetic(n: int, seed: int = 7) -> list[Message]:
    """A community's traffic: mostly smoke and door telemetry, wearable windows of 50
    samples, events and status messages; 500 devices, each message unique."""
    rng = random.Random(seed)
    out: list[Message] = []
    for i in range(n):
        device = i % 500
        ts = T0 + (i // 500) * 1_000 + device
        pick = i % 10
        household = f"h{device // 5:03d}"
        reading: Reading
        name = "smoke" if pick < 4 or pick == 9 else "band" if pick < 6 else "door"
        if pick < 4:
            reading = SmokeReading(ts=ts, seq=i, battery=90.0, smoke=rng.random() * 2,
                                   temp_c=20 + rng.random() * 3)
        elif pick < 6:
            accel = tuple((rng.gauss(0, 0.1), rng.gauss(0, 0.1), rng.gauss(1, 0.1))
                          for _ in range(50))
            reading = WearableWindow(ts=ts, seq=i, accel=accel, hz=50.0,
                                     hr_bpm=60 + rng.random() * 30)
        elif pick < 8:
            reading = DoorReading(ts=ts, seq=i, open=bool(i % 2))
        elif pick < 9:
            reading = DeviceEvent(ts=ts, seq=i, kind="door", event="open")
        else:
            reading = StatusReading(ts=ts, battery=80.0, online=True, rssi=-60)
        out.append(Message.from_reading(
            reading, Placement(f"{name}-{device}", "bench",
                               household=None if pick == 9 else household),
        ))
    return out


@contextmanager
def bench_influxd() -> Iterator[tuple[InfluxServer, Path]]:
    """An influxd of the bench's own (loopback, with the test forwarder in front) in a
    temporary directory, which comes beside it for the bench's other files; stopped on
    leaving. Exits with the reason when influxd cannot start."""
    with tempfile.TemporaryDirectory(prefix="safehood-bench-") as tmp:
        root = Path(tmp)
        server = InfluxServer(root / "influxdb")
        try:
            server.start()
        except (RuntimeError, FileNotFoundError) as exc:
            sys.exit(f"cannot start influxd: {exc}")
        try:
            yield server, root
        finally:
            server.stop()


def batches(messages: list, size: int) -> list[list]:
    return [messages[i:i + size] for i in range(0, len(messages), size)]


def bench_sqlite(messages: list[Message], size: int, root: Path) -> float:
    store = SqliteReadingStore(root / "readings.db")
    started = time.perf_counter()
    for batch in tqdm(batches(messages, size), desc="sqlite", file=sys.stderr, leave=False):
        store.write(batch)
    elapsed = time.perf_counter() - started
    assert store.count() == len(messages), store.count()
    store.close()
    return elapsed


def bench_influx(
    messages: list[Message], size: int, server: InfluxServer, root: Path
) -> tuple[float, float]:
    database = f"bench_{uuid.uuid4().hex[:8]}"
    server.create_database(database)
    store = InfluxReadingStore(
        server.client_url, None, "safehood", database, spool_path=root / "spool.db",
        batch_size=size, flush_interval_s=0.5,
    )
    in_write = 0.0
    started = time.perf_counter()
    for batch in tqdm(batches(messages, size), desc="influx", file=sys.stderr, leave=False):
        t = time.perf_counter()
        store.write(batch)
        in_write += time.perf_counter() - t
    store.flush()
    elapsed = time.perf_counter() - started
    count = store.count()
    journaled = store.spool.journaled_messages()
    assert count == len(messages) and store.spooled == 0 and journaled == 0, (
        count, store.spooled, journaled)
    store.close()
    server.drop_database(database)
    return in_write, elapsed


def bench_raw(messages: list[Message], size: int, server: InfluxServer, v2: bool) -> float:
    database = f"raw_{uuid.uuid4().hex[:8]}"
    server.create_database(database)
    bodies = ["\n".join(to_line(m) for m in batch).encode() for batch in batches(messages, size)]
    if v2:
        url = f"{server.client_url}/api/v2/write"
        params = {"org": "safehood", "bucket": database, "precision": "ms"}
    else:
        url = f"{server.url}/write"
        params = {"db": database, "precision": "ms"}
    with httpx.Client(timeout=30) as client:
        started = time.perf_counter()
        for body in tqdm(bodies, desc="raw /api/v2/write" if v2 else "raw /write",
                         file=sys.stderr, leave=False):
            response = client.post(url, params=params, content=body)
            response.raise_for_status()
        elapsed = time.perf_counter() - started
    result = server.query('SELECT count("msg") FROM /.*/', database)
    stored = sum(s["values"][0][1] for s in result["results"][0].get("series", []))
    assert stored == len(messages), stored
    server.drop_database(database)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages to write")
    parser.add_argument("--batch", type=int, default=1_000, help="messages per write() call")
    args = parser.parse_args(argv)
    if args.messages <= 0 or args.batch <= 0:
        parser.error("--messages and --batch must be positive")

    messages = synthetic(args.messages)
    n = len(messages)
    with bench_influxd() as (server, root):
        sqlite_s = bench_sqlite(messages, args.batch, root)
        raw_s = bench_raw(messages, args.batch, server, v2=False)
        raw_v2_s = bench_raw(messages, args.batch, server, v2=True)
        in_write_s, influx_s = bench_influx(messages, args.batch, server, root)

    print(f"{n} messages, batches of {args.batch}")
    rows = [
        ("SqliteReadingStore.write (committed)", sqlite_s),
        ("InfluxReadingStore.write calls only (hot path)", in_write_s),
        ("InfluxReadingStore write + flush (acknowledged)", influx_s),
        ("baseline: pre-built lines -> influxd /write", raw_s),
        ("baseline: pre-built lines -> forwarder /api/v2/write", raw_v2_s),
    ]
    for name, seconds in rows:
        print(f"  {name:<52} {n / seconds:>10,.0f} msg/s  ({seconds:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
