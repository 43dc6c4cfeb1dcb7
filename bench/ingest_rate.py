"""Ingest throughput against the raw rate of ``mosquitto_sub`` on the same broker, and into
InfluxDB against a naive consumer.

Every consumer drains the same kind of backlog of QoS 1 messages that the broker queued for
its persistent session while it was away; the wall time from connect to the last message
gives the rate, and the CPU time its consumer process used (mosquitto_sub's, or this
process's for safehood and the naive consumer) gives a rate that a busy machine moves less.

- embedded store: ``mosquitto_sub -q 1`` against ``safehood run``'s ingest (validated,
  stored in SQLite, seen by the detectors, acknowledged), ``--messages`` each;
- InfluxDB (an influxd of its own): a naive paho callback that decodes with ``json`` and
  writes each point with its own synchronous influxdb-client call, against safehood's
  ingest into InfluxDB, ``--influx-messages`` each (the naive one is slow: it gets a tenth).
  Both write through the tests' ``/api/v2/write`` forwarder (Debian's influxd 1.6 has no
  v2 API), run in a process of its own as a real InfluxDB would be: in this process its
  threads took the GIL from the consumer they serve.

Run: ``.venv/bin/python bench/ingest_rate.py [--messages 100000] [--influx-messages 20000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safehood._broker import MosquittoBroker, stop_process, wait_for_port
from safehood._pipeline import build_pipeline
from safehood.config import Settings
from safehood.protocol import Registry
from tests._influxdb import InfluxServer
from tests._mqtt import publish_all

T0 = 1772410500000
SITE = "bench"


def traffic(prefix: str, n: int, devices: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        device = f"d{i % devices:05d}"
        out.append((f"{prefix}/v1/{SITE}/{device}/telemetry", orjson.dumps(
            {"ts": T0 + i, "seq": i // devices, "kind": "smoke", "smoke": 0.1 + (i % 7) / 10,
             "temp_c": 21.5, "battery": 90})))
    return out


@dataclass(frozen=True)
class Rate:
    """Messages a wall-clock second and a CPU second of the consumer's process (and, for
    safehood, that CPU time by thread name)."""

    messages: int
    wall_s: float
    cpu_s: float
    threads_cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        return self.messages / self.wall_s

    @property
    def per_cpu_s(self) -> float:
        return self.messages / self.cpu_s


@contextmanager
def forwarder_process(influx: InfluxServer) -> Iterator[None]:
    """``influx``'s forwarder on the same port, in a child process instead of a thread."""
    influx.forwarder.stop()
    root = Path(__file__).resolve().parent.parent
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, threading; sys.path.insert(0, sys.argv[1]);"
        "from tests._influxdb import InfluxForwarder;"
        "InfluxForwarder(sys.argv[2], int(sys.argv[3])).start(); threading.Event().wait()"),
        str(root), influx.url, str(influx.forwarder.port)])
    try:
        wait_for_port(influx.forwarder.host, influx.forwarder.port)
        yield
    finally:
        stop_process(child, 10)


def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def threads_cpu_s() -> dict[str, float]:
    """CPU time of each live thread of this process by its name (Linux ``/proc``)."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/stat") as stat:
            stat_fields = stat.read().rsplit(")", 1)[1].split()
        name = names.get(int(task), "other")
        used[name] = used.get(name, 0.0) + (int(stat_fields[11]) + int(stat_fields[12])) / tick
    return used


def mosquitto_sub_rate(broker: MosquittoBroker, prefix: str, messages: list[tuple[str, bytes]]) -> Rate:
    client_id = "bench-sub"
    base = ["mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-q", "1", "-c",
            "-i", client_id, "-t", f"{prefix}/#"]
    # Create the persistent session, then leave.
    subprocess.run([*base, "-W", "1"], capture_output=True)
    publish_all(broker.host, broker.port, messages)
    start, cpu = time.perf_counter(), cpu_s(resource.RUSAGE_CHILDREN)
    subprocess.run([*base, "-C", str(len(messages))], check=True, stdout=subprocess.DEVNULL)
    return Rate(len(messages), time.perf_counter() - start,
                cpu_s(resource.RUSAGE_CHILDREN) - cpu)


def naive_influx_rate(broker: MosquittoBroker, influx: InfluxServer, prefix: str,
                      messages: list[tuple[str, bytes]]) -> Rate:
    """A paho callback that decodes with ``json`` and writes each point with its own
    synchronous influxdb-client call (paho acknowledges each message after its callback)."""
    bucket = f"naive_{uuid.uuid4().hex[:8]}"
    influx.create_database(bucket)
    done = threading.Event()
    count = 0
    with InfluxDBClient(url=influx.client_url, token="bench", org="safehood") as client:
        write_api = client.write_api(write_options=SYNCHRONOUS)

        def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
            nonlocal count
            _, _, site, device, channel = message.topic.split("/")
            body = json.loads(message.payload)
            write_api.write(bucket, record=Point(body["kind"]).tag("site", site)
                            .tag("device", device).tag("channel", channel)
                            .field("smoke", float(body["smoke"]))
                            .field("temp_c", float(body["temp_c"]))
                            .time(body["ts"], WritePrecision.MS))
            count += 1
            if count == len(messages):
                done.set()

        def session() -> mqtt.Client:
            consumer = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-naive",
                                   clean_session=False)
            consumer.on_message = on_message
            consumer.connect(broker.host, broker.port)
            consumer.subscribe(f"{prefix}/#", qos=1)
            return consumer

        consumer = session()  # the persistent session, then leave
        consumer.loop_start()
        time.sleep(1)
        consumer.disconnect()
        consumer.loop_stop()
        publish_all(broker.host, broker.port, messages)
        start, cpu = time.perf_counter(), cpu_s()
        consumer = session()
        consumer.loop_start()
        if not done.wait(900):
            raise SystemExit(f"the naive consumer wrote {count} of {len(messages)} in 900 s")
        rate = Rate(len(messages), time.perf_counter() - start, cpu_s() - cpu)
        consumer.disconnect()
        consumer.loop_stop()
    stored = influx.query('SELECT count("smoke") FROM /.*/', bucket)
    written = sum(s["values"][0][1] for s in stored["results"][0].get("series", []))
    if written != len(messages):
        raise SystemExit(f"the naive consumer stored {written} of {len(messages)}")
    influx.drop_database(bucket)
    return rate


def ingest_rate(broker: MosquittoBroker, prefix: str, messages: list[tuple[str, bytes]],
                data_dir: Path, devices: int, influx: InfluxServer | None = None) -> tuple[Rate, Rate]:
    """Rates of safehood's ingest: validated and acknowledged, and in the store (SQLite, or
    InfluxDB when ``influx`` is given)."""
    registry = Registry.from_data({
        "households": [], "devices": [{"device_id": f"d{i:05d}", "site": SITE, "kind": "smoke"}
                                      for i in range(devices)]})
    settings = Settings(mqtt_url=broker.url, topic_prefix=prefix, data_dir=data_dir,
                        mqtt_client_id=f"bench-ingest-{prefix}")
    if influx is not None:
        bucket = f"ingest_{uuid.uuid4().hex[:8]}"
        influx.create_database(bucket)
        settings = settings.model_copy(update={"influx_url": influx.client_url,
                                               "influx_bucket": bucket})
    pipeline = build_pipeline(settings, registry_file=registry.to_model())
    pipeline.start()
    pipeline.ingest.source.connected.wait(10)
    pipeline.stop()
    publish_all(broker.host, broker.port, messages)
    pipeline = build_pipeline(settings)
    threads_before = threads_cpu_s()
    start, cpu = time.perf_counter(), cpu_s()
    pipeline.start()
    last = -1
    while pipeline.ingest.stats.received < len(messages):
        time.sleep(0.05)
        if time.perf_counter() - start > 600:
            break
        now = pipeline.ingest.stats.received
        if now // 10_000 != last // 10_000:
            print(f"  ingest: {now:,}/{len(messages):,}", file=sys.stderr, flush=True)
        last = now
    received = Rate(len(messages), time.perf_counter() - start, cpu_s() - cpu)
    pipeline.store.flush()
    in_store = Rate(len(messages), time.perf_counter() - start, cpu_s() - cpu, {
        name: used - threads_before.get(name, 0.0) for name, used in threads_cpu_s().items()})
    stored = pipeline.store.count(site=SITE)
    pipeline.stop()
    if stored != len(messages):
        raise SystemExit(f"ingest stored {stored} of {len(messages)}")
    return received, in_store


def by_thread(rate: Rate) -> str:
    """Where safehood's CPU went: the consumer thread, the store writer's thread, paho's
    network thread, the rest."""
    def named(prefix: str) -> float:
        return sum(used for name, used in rate.threads_cpu_s.items() if name.startswith(prefix))

    consumer = named("ingest-consumer")
    writer = named("ingest-store-writer")
    network = named("paho-mqtt-client-bench-ingest")
    rest = rate.cpu_s - consumer - writer - network
    return ", ".join(f"{what} {used / rate.messages * 1e6:,.0f} us" for what, used in (
        ("consumer thread", consumer), ("store writer thread", writer),
        ("MQTT network thread", network), ("the rest", rest)))


def row(name: str, rate: Rate, baseline: Rate) -> str:
    return (f"{name:<44}{rate.per_s:>11,.0f}{rate.per_s / baseline.per_s:>8.2f}x"
            f"{rate.per_cpu_s:>12,.0f}{rate.per_cpu_s / baseline.per_cpu_s:>8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=1_000)
    parser.add_argument("--influx-messages", type=int, default=20_000,
                        help="backlog of the InfluxDB comparison (0: leave it out)")
    args = parser.parse_args()
    if shutil.which("mosquitto_sub") is None:
        raise SystemExit("mosquitto_sub is missing: apt-get install mosquitto-clients")
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        influx = InfluxServer(Path(tmp) / "influxdb") if args.influx_messages else None
        try:
            raw = mosquitto_sub_rate(broker, "raw", traffic("raw", args.messages, args.devices))
            received, stored = ingest_rate(broker, "ing", traffic("ing", args.messages, args.devices),
                                           Path(tmp) / "data", args.devices)
            if influx is not None:
                influx.start()
                with forwarder_process(influx):
                    naive_n = max(1, args.influx_messages // 10)
                    naive = naive_influx_rate(broker, influx, "naive",
                                              traffic("naive", naive_n, args.devices))
                    _, into_influx = ingest_rate(
                        broker, "inf", traffic("inf", args.influx_messages, args.devices),
                        Path(tmp) / "data-influx", args.devices, influx)
        finally:
            if influx is not None:
                influx.stop()
            broker.stop()
    print(f"\n{'consumer':<44}{'msg/s':>11}{'ratio':>9}{'msg/CPU s':>12}{'ratio':>9}")
    print(row("mosquitto_sub -q 1 (baseline)", raw, raw))
    print(row("safehood ingest: validated+acked", received, raw))
    print(row("safehood ingest: in embedded store", stored, raw))
    print(f"({args.messages:,} messages from {args.devices:,} devices; CPU a message: "
          f"{by_thread(stored)})")
    if influx is not None:
        print(row("naive paho+json+sync write (baseline)", naive, naive))
        print(row("safehood ingest: in InfluxDB", into_influx, naive))
        print(f"({naive.messages:,} and {into_influx.messages:,} messages; CPU: this "
              "process, the /api/v2/write forwarder in its own; safehood's a message: "
              f"{by_thread(into_influx)})")


if __name__ == "__main__":
    main()
