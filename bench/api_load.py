"""API latency with 100,000 alerts stored and 200 live-stream clients connected.

The API is served as ``safehood run`` serves it (``create_app`` + ``ApiServer``: uvicorn on
loopback, the embedded SQLite alert database and reading store), in a process of its own.
Before it starts, the bench fills the databases: ``--alerts`` alerts spread over sites,
households, types and statuses (mostly resolved, as a year of a community's alerts is),
written in batches of 5,000 as the alert repository writes its rows, with their history; and a
day of readings of ``--reading-households`` households (four smoke detectors each, one
reading every two minutes).

While ``--clients`` live-stream clients (officers of every site, admins and families,
signed in with ``?token=`` as the dashboard's EventSource is; in a process of their own, as
browsers are) stay connected and the server
raises and resolves an alert every ``1 / --change-rate`` s (every change fans out to them),
one client times ``--requests`` requests of each kind, the kinds taken in turn so that the
neighbours' load falls on all alike:

- baseline ``/healthz`` (the server's floor: no token, no database) and ``/api/v1/me``
  (the token checked against the database);
- the alert list: the first page (the API's default 100), the dashboard's load (limit
  500), a page filtered by site and status, and a later page (offset 50,000);
- readings: one device's last day, and one household's: its four devices' last day, one
  request each, timed together, and the household's readings route (its devices in one
  request).

Prints p50 / p99 / max in ms per kind, and what the stream clients received. Run:
``.venv/bin/python bench/api_load.py [--alerts 100000] [--clients 200] [--requests 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import SynchronizedArray
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safehood._broker import free_port
from safehood._heap import settle_heap
from safehood.alerting import AlertManager, AlertRecord, HistoryEntry
from safehood.api import ApiContext, ApiServer, Role, TokenStore, create_app
from safehood.config import Settings
from safehood.database import (
    SqlAlertRepository,
    create_database_engine,
    import_registry,
    migrate,
)
from safehood.database._alert_repository import _values as row_values
from safehood.database._tables import alert_history
from safehood.database._tables import alerts as alerts_table
from safehood.protocol import (
    AlertDecision,
    AlertStatus,
    AlertType,
    DecisionAction,
    Message,
    Placement,
    RegistryFile,
    Severity,
    SmokeReading,
)
from safehood.store import SqliteReadingStore

DAY_MS = 86_400_000
SITES = 10
HOUSEHOLDS_PER_SITE = 200
SMOKE_PER_HOUSEHOLD = 4
READING_INTERVAL_MS = 120_000
LATER_OFFSET = 50_000
TYPES = [  # (type, severity, weight): falls, inactivity and device troubles are the most
    (AlertType.FALL, Severity.SEVERE, 12), (AlertType.SOS, Severity.SEVERE, 8),
    (AlertType.SMOKE, Severity.MODERATE, 8), (AlertType.FIRE, Severity.EXTREME, 1),
    (AlertType.WATER_LEAK, Severity.MODERATE, 5), (AlertType.INACTIVITY, Severity.SEVERE, 10),
    (AlertType.NIGHT_WANDERING, Severity.SEVERE, 4),
    (AlertType.DOOR_LEFT_OPEN, Severity.MINOR, 10), (AlertType.FORCED_ENTRY, Severity.SEVERE, 1),
    (AlertType.DEVICE_OFFLINE, Severity.MINOR, 20), (AlertType.BATTERY_LOW, Severity.MINOR, 15),
    (AlertType.TAMPER, Severity.MODERATE, 2), (AlertType.ABNORMAL_ROUTINE, Severity.MODERATE, 4),
]


def site(s: int) -> str:
    return f"site-{s:02d}"


def household(s: int, h: int) -> str:
    return f"s{s:02d}h{h:03d}"


def registry() -> RegistryFile:
    homes = [(s, h) for s in range(SITES) for h in range(HOUSEHOLDS_PER_SITE)]
    return RegistryFile.model_validate({
        "households": [{"id": household(s, h), "site": site(s)} for s, h in homes],
        "residents": [{"id": f"r-{household(s, h)}", "household": household(s, h),
                       "name": f"Resident {s}-{h}", "elderly": True} for s, h in homes],
        "devices": [
            *({"device_id": f"{household(s, h)}-button", "site": site(s), "kind": "button",
               "household": household(s, h), "resident": f"r-{household(s, h)}"}
              for s, h in homes),
            *({"device_id": f"{household(s, h)}-smoke-{i}", "site": site(s), "kind": "smoke",
               "household": household(s, h)}
              for s, h in homes for i in range(SMOKE_PER_HOUSEHOLD)),
        ],
    })


def alert_records(count: int, now_ms: int, rng: random.Random
                  ) -> list[tuple[AlertRecord, list[HistoryEntry]]]:
    """``count`` alerts over the last year: 1% firing, 2% acknowledged, the rest resolved."""
    types, weights = [(t, s) for t, s, _ in TYPES], [w for _, _, w in TYPES]
    records = []
    for i in range(count):
        (alert_type, severity), = rng.choices(types, weights)
        s, h = rng.randrange(SITES), rng.randrange(HOUSEHOLDS_PER_SITE)
        home = household(s, h)
        device = f"{home}-smoke-{rng.randrange(SMOKE_PER_HOUSEHOLD)}"
        started = now_ms - rng.randrange(365 * DAY_MS)
        roll = rng.random()
        status = (AlertStatus.FIRING if roll < 0.01 else AlertStatus.ACKNOWLEDGED
                  if roll < 0.03 else AlertStatus.RESOLVED)
        history = [HistoryEntry(started, "raised", "detector", f"{alert_type.value} seen")]
        acknowledged = resolved = None
        if status is not AlertStatus.FIRING:
            acknowledged = started + rng.randrange(30_000, 600_000)
            history.append(HistoryEntry(acknowledged, "acknowledged", "officer:Li Wei"))
        if status is AlertStatus.RESOLVED:
            resolved = (acknowledged or started) + rng.randrange(60_000, 3_600_000)
            history.append(HistoryEntry(resolved, "resolved", "officer:Li Wei", "checked",
                                        {"cause": "real"}))
        # Open alerts need a subject of their own: one open alert per (type, subject).
        subject = device if status is AlertStatus.RESOLVED else f"{device}-{i}"
        last = resolved or acknowledged or started
        records.append((AlertRecord(
            id=f"a{i:07d}", type=alert_type, severity=severity, status=status, site=site(s),
            subject=subject, started_ms=started, updated_ms=last, last_seen_ms=last,
            household=home, resident=f"r-{home}", device_id=device,
            acknowledged_ms=acknowledged, resolved_ms=resolved,
            evidence={"value": round(rng.random() * 10, 2), "rule": "bench"},
            tiers=frozenset({0}), revision=len(history)), history))
    return records


def fill(directory: Path, alerts: int, reading_households: int, now_ms: int) -> dict[str, str]:
    """Fill the databases in ``directory``; the tokens of the stream clients and timers."""
    rng = random.Random(15)
    engine = create_database_engine(f"sqlite:///{directory / 'safehood.db'}")
    migrate(engine)
    import_registry(engine, registry())
    start = time.perf_counter()
    records = alert_records(alerts, now_ms, rng)
    # The repository's own rows, one executemany a batch: commit_many (a savepoint and
    # statements per alert) would take a quarter of an hour for 100,000 on this machine.
    for at in range(0, len(records), 5000):
        batch = records[at:at + 5000]
        with engine.begin() as connection:
            connection.execute(insert(alerts_table), [row_values(r) for r, _ in batch])
            connection.execute(insert(alert_history), [
                {"alert_id": r.id, "at_ms": e.at_ms, "action": e.action, "actor": e.actor,
                 "note": e.note, "detail": dict(e.detail) if e.detail else None}
                for r, history in batch for e in history])
    print(f"stored {alerts:,} alerts (the repository's rows, batches of 5,000) in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    tokens = TokenStore(engine)
    issued = {"admin": tokens.create(name="Ada", role=Role.ADMIN).token}
    for s in range(SITES):
        issued[f"officer-{s}"] = tokens.create(name=f"Officer {s}", role=Role.OFFICER,
                                               sites=[site(s)]).token
    for h in range(10):
        issued[f"family-{h}"] = tokens.create(name=f"Family {h}", role=Role.FAMILY,
                                              residents=[f"r-{household(0, h)}"]).token
    engine.dispose()
    start = time.perf_counter()
    written = 0
    with SqliteReadingStore(directory / "readings.db") as store:
        for h in range(reading_households):
            batch = [Message.from_reading(
                SmokeReading(ts=t, seq=n, smoke=round(rng.random() * 0.3, 3), temp_c=21.5),
                Placement(f"{household(0, h)}-smoke-{i}", site(0), kind="smoke"),
                received_ms=t)
                for i in range(SMOKE_PER_HOUSEHOLD)
                for n, t in enumerate(range(now_ms - DAY_MS, now_ms, READING_INTERVAL_MS))]
            store.write(batch)
            written += len(batch)
    print(f"stored {written:,} readings of {reading_households} households in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    return issued


def serve(directory: Path, port: int, change_rate: float, started: threading.Event) -> None:
    """The API as ``safehood run`` serves it, raising and resolving alerts at
    ``change_rate`` changes a second (own process)."""
    engine = create_database_engine(f"sqlite:///{directory / 'safehood.db'}")
    migrate(engine)  # as safehood run does at start: a kept fill may be older than the code
    manager = AlertManager(SqlAlertRepository(engine))
    store = SqliteReadingStore(directory / "readings.db")
    settings = Settings(data_dir=directory / "data", api_auth_failures_per_minute=1_000_000)
    app = create_app(ApiContext(settings=settings, engine=engine, alerts=manager, store=store,
                                broker_ready=lambda: True))
    server = ApiServer(app, port=port)
    server.start()
    settle_heap()  # as safehood run does once started
    started.set()
    rng = random.Random(7)
    open_ids: deque[str] = deque()
    while True:
        s, h = rng.randrange(SITES), rng.randrange(HOUSEHOLDS_PER_SITE)
        home = household(s, h)
        if len(open_ids) >= 20:
            manager.resolve(open_ids.popleft(), "officer:bench", "checked")
        else:
            changes = manager.apply([AlertDecision(
                action=DecisionAction.RAISE, type=AlertType.SOS, severity=Severity.SEVERE,
                subject=f"{home}-button", site=site(s), ts_ms=time.time_ns() // 1_000_000,
                household=home, resident=f"r-{home}", device_id=f"{home}-button",
                evidence={"button": "pressed"})])
            open_ids.extend(c.alert.id for c in changes if c.kind == "raised")
        time.sleep(1 / change_rate)


@dataclass
class StreamClients:
    """The open live streams: how many said ``connected``, and what they received."""

    connected: int = 0
    events: int = 0
    ended: list[str] = field(default_factory=list)


async def stream_client(client: httpx.AsyncClient, url: str, token: str,
                        clients: StreamClients) -> None:
    try:
        async with client.stream("GET", url, params={"token": token}) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line == ": connected":
                    clients.connected += 1
                elif line.startswith("event: "):
                    clients.events += 1
                    if line != "event: alert":
                        clients.ended.append(line)
    except (httpx.HTTPError, asyncio.CancelledError) as exc:
        if not isinstance(exc, asyncio.CancelledError):
            clients.ended.append(repr(exc))


@dataclass
class StreamProcess:
    """The stream clients' process, seen from the bench: how many clients, and the
    counters it shares (events received, clients dropped, clients failed)."""

    clients: int
    counts: SynchronizedArray[int]


def stream_tokens(tokens: dict[str, str], count: int) -> list[str]:
    """Officers of every site (8 in 10), admins and families."""
    return [tokens[f"officer-{n % SITES}"] if n % 10 < 8
            else tokens["admin"] if n % 10 == 8 else tokens[f"family-{n % 10}"]
            for n in range(count)]


def run_streams(base: str, tokens: list[str], ready: EventType, stop: EventType,
                counts: SynchronizedArray[int]) -> None:
    """The live-stream clients, in a process of their own as browsers are: their reading
    of every fan-out is not charged to the timed requests (in the timer's event loop they
    made its longest pauses 340-500 ms, against 110-150 ms without them at the same load).
    ``counts``: events received, clients dropped, clients failed; ``ready`` once all are
    connected."""
    asyncio.run(_streams(base, tokens, ready, stop, counts))


async def _streams(base: str, tokens: list[str], ready: EventType, stop: EventType,
                   counts: SynchronizedArray[int]) -> None:
    clients = StreamClients()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=base, timeout=None, limits=limits) as streams:
        tasks = [asyncio.create_task(stream_client(streams, "/api/v1/stream", t, clients))
                 for t in tokens]
        while not stop.is_set():
            counts[0] = clients.events
            counts[1] = sum("dropped" in e for e in clients.ended)
            counts[2] = len(clients.ended) - counts[1]
            if clients.ended and not ready.is_set():
                print(f"a stream client failed: {clients.ended[0]}", flush=True)
                return
            if clients.connected == len(tokens):
                ready.set()
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return ordered[len(ordered) // 2], p99, ordered[-1]


async def measure(base: str, tokens: dict[str, str], streams: StreamProcess, requests: int,
                  now_ms: int, reading_households: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        officer = {"Authorization": f"Bearer {tokens['officer-0']}"}
        day = {"start": str(now_ms - DAY_MS), "end": str(now_ms)}
        rng = random.Random(3)

        def get(path: str, headers: dict[str, str] | None = None,
                params: dict[str, str] | None = None) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                response = await http.get(path, headers=headers, params=params)
                response.raise_for_status()
            return one

        def device_day() -> Awaitable[None]:
            h = rng.randrange(reading_households)
            return get(f"/api/v1/devices/{household(0, h)}-smoke-0/readings", officer, day)()

        async def household_day_by_device() -> None:
            h = rng.randrange(reading_households)
            for i in range(SMOKE_PER_HOUSEHOLD):
                await get(f"/api/v1/devices/{household(0, h)}-smoke-{i}/readings", officer,
                          day)()

        def household_day() -> Awaitable[None]:
            h = rng.randrange(reading_households)
            return get(f"/api/v1/households/{household(0, h)}/readings", officer, day)()

        kinds: dict[str, Callable[[], Awaitable[None]]] = {
            "baseline: /healthz": get("/healthz"),
            "baseline: /api/v1/me (token)": get("/api/v1/me", admin),
            "alerts: first page (100)": get("/api/v1/alerts", admin),
            "alerts: dashboard load (500)": get("/api/v1/alerts", admin, {"limit": "500"}),
            "alerts: site + status page": get("/api/v1/alerts", officer,
                                              {"site": site(0), "status": "resolved"}),
            f"alerts: page at offset {LATER_OFFSET:,}": get(
                "/api/v1/alerts", admin, {"offset": str(LATER_OFFSET)}),
            "readings: a device's day": device_day,
            f"readings: a household's day ({SMOKE_PER_HOUSEHOLD} req)": household_day_by_device,
            "readings: a household's day (1 req)": household_day,
        }
        for one in kinds.values():  # warm up: caches, connections, the first query plans
            await one()
        timings: dict[str, list[float]] = {name: [] for name in kinds}
        events_before = streams.counts[0]
        start = time.perf_counter()
        for _ in range(requests):
            for name, one in kinds.items():
                began = time.perf_counter()
                await one()
                timings[name].append((time.perf_counter() - began) * 1000)
        seconds = time.perf_counter() - start
        delivered = streams.counts[0] - events_before
    print(f"{'request':38} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, values in timings.items():
        p50, p99, top = percentiles(values)
        print(f"{name:38} {p50:8.1f} {p99:8.1f} {top:8.1f}")
    print(f"({requests} requests a kind, one at a time, in {seconds:.0f} s; {streams.clients} "
          f"live-stream clients (a process of their own) connected throughout received "
          f"{delivered:,} events, {streams.counts[1]} dropped, {streams.counts[2]} failed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=200, help="live-stream clients")
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    parser.add_argument("--reading-households", type=int, default=40)
    parser.add_argument("--change-rate", type=float, default=5.0,
                        help="alert changes a second while measuring")
    parser.add_argument("--keep", type=Path, default=None,
                        help="fill this directory once and reuse it in later runs")
    args = parser.parse_args()
    now_ms = time.time_ns() // 1_000_000
    with tempfile.TemporaryDirectory(prefix="safehood-bench-api-") as temporary:
        directory = args.keep or Path(temporary)
        directory.mkdir(parents=True, exist_ok=True)
        if args.keep and (directory / "now_ms").exists():
            now_ms = int((directory / "now_ms").read_text())
            tokens = dict(line.split(" ", 1) for line in
                          (directory / "tokens").read_text().splitlines())
        else:
            tokens = fill(directory, args.alerts, args.reading_households, now_ms)
            (directory / "now_ms").write_text(str(now_ms))
            (directory / "tokens").write_text("".join(f"{k} {v}\n" for k, v in tokens.items()))
        port = free_port()
        context = multiprocessing.get_context("spawn")
        started = context.Event()
        server = context.Process(target=serve, args=(directory, port, args.change_rate, started),
                                 daemon=True)
        server.start()
        streamer = None
        try:
            if not started.wait(120):
                raise SystemExit("the API server did not start")
            print(f"API server pid {server.pid} on port {port}", flush=True)
            base = f"http://127.0.0.1:{port}"
            streams = StreamProcess(args.clients, context.Array("q", 3))
            ready, stop = context.Event(), context.Event()
            streamer = context.Process(target=run_streams, daemon=True, args=(
                base, stream_tokens(tokens, args.clients), ready, stop, streams.counts))
            streamer.start()
            while not ready.wait(0.5):
                if not streamer.is_alive():
                    raise SystemExit("the live-stream clients did not all connect")
            asyncio.run(measure(base, tokens, streams, args.requests, now_ms,
                                args.reading_households))
            stop.set()
            streamer.join(10)
        finally:
            for process in (streamer, server) if streamer else (server,):
                process.terminate()
                process.join(10)
    print(f"({args.alerts:,} alerts; server: 1 process, stream clients: 1 process, timed "
          f"requests: the bench process; {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
