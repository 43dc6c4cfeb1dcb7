"""Throughput of the scale-out engine with 1, 2 and 4 ingest and detector worker processes
(``safehood run --engine nats --role ...``) on a 3-node NATS cluster on loopback, beside the
single-process mosquitto pipeline on the same backlog; and the detector failover gap.

Each run drains a backlog of N QoS 1 readings (published first, over MQTT, to one node):
ingest's rate is from the first acknowledgement on the stream's ``ingest`` consumer (the
processes have started) to the last; the detectors' the same over every partition consumer.
Readings go to the embedded SQLite store (one file shared by the ingest processes, which
caps their scaling; InfluxDB does not share that limit).

The failover gap: 2 detector processes drain the backlog, one is killed (SIGKILL) halfway;
the gap is the longest time a partition with readings waiting made no progress (its
acknowledgement floor did not move), which covers the pin timeout, the ack wait of what the
dead process held, and the takeover.

Every process here shares the machine's cores (named in the output) with the 3 NATS nodes
and PostgreSQL: with more worker processes than cores, more workers only add overhead.

Run: ``.venv/bin/python bench/scale_out.py [--messages 20000] [--workers 1 2 4]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safehood._broker import MosquittoBroker
from safehood.config import Settings
from safehood.database import create_database_engine, import_registry, migrate
from safehood.protocol import Registry
from safehood.scaleout import JetStreamConnection, ensure_streams
from tests._mqtt import publish_all
from tests._nats import NatsCluster
from tests._postgres import PostgresServer, create_database, postgres_bin_dir

T0 = 1772410500000
SITES = 64
PARTITIONS = 16


def traffic(n: int, devices: int) -> list[tuple[str, bytes]]:
    return [(f"safehood/v1/s{i % devices % SITES}/d{i % devices:05d}/telemetry", orjson.dumps(
        {"ts": T0 + i, "seq": i // devices, "kind": "smoke", "smoke": 0.1 + (i % 7) / 10,
         "temp_c": 21.5, "battery": 90})) for i in range(n)]


def registry(devices: int) -> Registry:
    return Registry.from_data({"households": [], "devices": [
        {"device_id": f"d{i:05d}", "site": f"s{i % SITES}", "kind": "smoke"}
        for i in range(devices)]})


def pending(admin: JetStreamConnection, consumer: str) -> int:
    info = admin.run(admin.api(f"CONSUMER.INFO.SAFEHOOD_READINGS.{consumer}"))
    return int(info["num_pending"]) + int(info["num_ack_pending"])


def cores() -> str:
    """The cores this process may run on, and the processor's name."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    usable = sorted(os.sched_getaffinity(0))
    return f"{len(usable)} cores ({', '.join(map(str, usable))}) of {model}"


def ack_floors(admin: JetStreamConnection) -> dict[int, tuple[int, int]]:
    """Per partition: its consumer's acknowledgement floor and what is left to acknowledge."""
    out = {}
    for partition in range(PARTITIONS):
        info = admin.run(admin.api(f"CONSUMER.INFO.SAFEHOOD_READINGS.detect-{partition}"))
        out[partition] = (int(info["ack_floor"]["stream_seq"]),
                          int(info["num_pending"]) + int(info["num_ack_pending"]))
    return out


def nats_rates(workers: int, messages: list[tuple[str, bytes]], devices: int,
               root: Path, postgres: PostgresServer, *,
               kill_detector: bool = False) -> tuple[float, float, float | None]:
    """Ingest and detector rates (msg/s) of ``workers`` processes of each role; with
    ``kill_detector``, one detector process is killed halfway and the failover gap (s) is
    returned too."""
    cluster = NatsCluster(root / "nats")
    cluster.start()
    database_url = create_database(postgres.url).render_as_string(hide_password=False)
    engine = create_database_engine(database_url)
    migrate(engine)
    import_registry(engine, registry(devices).to_model())
    engine.dispose()
    env = {**os.environ, "SAFEHOOD_NATS_URL": cluster.urls, "SAFEHOOD_DATABASE_URL": database_url,
           "SAFEHOOD_MQTT_URL": f"mqtt://127.0.0.1:{cluster.nodes[0].mqtt_port}",
           "SAFEHOOD_NATS_PARTITIONS": str(PARTITIONS), "SAFEHOOD_DATA_DIR": str(root / "data"),
           "SAFEHOOD_API_PORT": "0"}
    settings = Settings(nats_url=cluster.urls, nats_partitions=PARTITIONS,
                        mqtt_url=env["SAFEHOOD_MQTT_URL"])
    admin = JetStreamConnection(cluster.urls, "bench-admin")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ensure_streams(admin, settings)
        publish_all("127.0.0.1", cluster.nodes[1].mqtt_port, messages)
        while admin.run(admin.api("STREAM.INFO.SAFEHOOD_READINGS"))["state"]["messages"] < len(messages):
            time.sleep(0.1)
        safehood = str(Path(sys.executable).parent / "safehood")
        start = time.perf_counter()
        for index in range(workers):
            for role in ("ingest", "detector"):
                env_i = {**env, "SAFEHOOD_NATS_URL": cluster.nodes[index % 3].url}
                processes.append(subprocess.Popen(
                    [safehood, "run", "--engine", "nats", "--role", role], env=env_i,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # Each rate runs from the first acknowledgement (the processes have started: Python
        # imports take seconds here) to the last.
        names = {"ingest": ["ingest"],
                 "detect": [f"detect-{p}" for p in range(PARTITIONS)]}
        first: dict[str, tuple[float, int]] = {}
        done: dict[str, float] = {}
        killed = False
        # Per partition: its acknowledgement floor, when it last moved, the longest stall.
        moved: dict[int, tuple[int, float]] = {}
        gap = 0.0
        while len(done) < len(names):
            time.sleep(0.1)
            now = time.perf_counter() - start
            for role, consumers in names.items():
                left = sum(pending(admin, c) for c in consumers)
                if role not in first and left < len(messages):
                    first[role] = (now, left)
                if role not in done and left == 0:
                    done[role] = now
                if (kill_detector and role == "detect" and not killed
                        and left < len(messages) // 2):
                    processes[1].send_signal(signal.SIGKILL)  # the first detector process
                    killed = True
            if killed:
                for partition, (floor, left) in ack_floors(admin).items():
                    last = moved.get(partition)
                    if last is None or floor != last[0] or not left:
                        moved[partition] = (floor, now)
                    else:
                        gap = max(gap, now - last[1])
            if now > 900:
                raise SystemExit("the workers did not drain the backlog in 15 minutes")

        def rate(role: str) -> float:
            began, left = first[role]
            return left / max(done[role] - began, 1e-3)

        return rate("ingest"), rate("detect"), gap if kill_detector else None
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        admin.close()
        cluster.stop()


def single_process_rate(messages: list[tuple[str, bytes]], devices: int, root: Path) -> float:
    from safehood._pipeline import build_pipeline

    broker = MosquittoBroker(root / "broker")
    broker.start()
    try:
        settings = Settings(mqtt_url=broker.url, data_dir=root / "single",
                            mqtt_client_id="bench-single")
        pipeline = build_pipeline(settings, registry_file=registry(devices).to_model(),
                                  serve_api=False)
        pipeline.start()
        pipeline.ingest.source.connected.wait(10)
        pipeline.stop()
        publish_all(broker.host, broker.port, messages)
        pipeline = build_pipeline(settings, serve_api=False)
        start = time.perf_counter()
        pipeline.start()
        while pipeline.ingest.stats.received < len(messages):
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        pipeline.stop()
        return len(messages) / elapsed
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=640)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--failovers", type=int, default=3,
                        help="runs with a detector process killed halfway")
    args = parser.parse_args()
    messages = traffic(args.messages, args.devices)
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is missing: apt-get install postgresql")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        postgres = PostgresServer(bin_dir)
        postgres.start()
        try:
            single = single_process_rate(messages, args.devices, root)
            rows = [(n, *nats_rates(n, messages, args.devices, root / f"w{n}", postgres)[:2])
                    for n in args.workers]
            gaps = [nats_rates(2, messages, args.devices, root / f"f{i}", postgres,
                               kill_detector=True)[2] for i in range(args.failovers)]
        finally:
            postgres.stop()
    print(f"\n{cores()}, shared by every process here (3 NATS nodes, PostgreSQL, the "
          f"workers); {args.messages:,} readings from {args.devices:,} devices at {SITES} "
          f"sites, {PARTITIONS} partitions")
    print(f"{'mode':<40}{'ingest msg/s':>14}{'detect msg/s':>14}")
    print(f"{'single process (mosquitto)':<40}{single:>14,.0f}{'(same)':>14}")
    for workers, ingest, detect in rows:
        label = f"nats: {workers} ingest + {workers} detector procs"
        print(f"{label:<40}{ingest:>14,.0f}{detect:>14,.0f}")
    if len(os.sched_getaffinity(0)) < 2 * max(args.workers) + 3:
        print(f"with {len(os.sched_getaffinity(0))} cores for the NATS nodes and "
              f"{2 * max(args.workers)} worker processes, more workers than cores is overhead, "
              "not scaling: each worker needs a core of its own to add throughput")
    print("failover gap (a detector process killed halfway, 2 detector procs): "
          + ", ".join(f"{gap:.1f} s" for gap in gaps if gap is not None))


if __name__ == "__main__":
    main()
