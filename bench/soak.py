"""Soak: numbered readings at a steady rate through `safehood run` on its own mosquitto and
InfluxDB, under the fault suite's schedule, counting what each fault did.

    .venv/bin/python bench/soak.py [--rate 2000] [--duration-s 600] [--outage-s 30]

Faults, spread evenly over the run: SIGKILL of the pipeline, broker restart, InfluxDB away
for ``--outage-s`` (the spool drains while traffic continues), SIGTERM and restart. Prints
progress every 10 s, then per fault (the readings published from its start to the next
fault) and for the whole run: published, stored, lost, stored twice, alerts and
notifications made twice. Exits 1 when anything was lost or stored or made twice.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from safehood._broker import MosquittoBroker
from safehood.config import MqttEndpoint
from safehood.mqtt import Publisher
from safehood.store import InfluxReadingStore
from tests._influxdb import InfluxServer
from tests.faults._harness import (
    MOTION,
    T0,
    FaultCounts,
    PipelineProcess,
    fault_registry,
    made_twice,
    pipeline_env,
    reading,
)

QUERY_CHUNK = 50_000


class PacedPublisher:
    """Publishes reading 0, 1, 2, ... at ``rate`` a second at QoS 1, one second's worth per
    connection; a second the broker did not acknowledge is published again (the pipeline's
    duplicate filter and the idempotent store keep one copy)."""

    def __init__(self, broker: MosquittoBroker, prefix: str, rate: int) -> None:
        self.endpoint = MqttEndpoint(host=broker.host, port=broker.port, tls=False,
                                     username=None, password=None)
        self.prefix, self.rate = prefix, rate
        self.next_seq = 0
        self.retries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            seqs = range(self.next_seq, self.next_seq + self.rate)
            if self._publish(seqs):
                self.next_seq = seqs.stop
            else:
                self.retries += 1
                self._stop.wait(0.5)
            # Hold the rate: one second's readings a second, catching up after a retry.
            ahead_s = self.next_seq / self.rate - (time.monotonic() - started)
            if ahead_s > 0:
                self._stop.wait(ahead_s)

    def _publish(self, seqs: range) -> bool:
        try:
            publisher = Publisher(self.endpoint, f"soak-{uuid.uuid4().hex[:8]}", timeout_s=5)
        except Exception:
            return False
        try:
            for seq in seqs:
                publisher.publish(*reading(self.prefix, seq))
            return publisher.flush(timeout_s=10)
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                publisher.close()


@dataclass
class Fault:
    name: str
    start_seq: int = 0
    end_seq: int = 0


def stored_seqs(store: InfluxReadingStore, seqs: range) -> list[int]:
    found: list[int] = []
    for start in range(seqs.start, seqs.stop, QUERY_CHUNK):
        stop = min(start + QUERY_CHUNK, seqs.stop)
        found += [(r.ts_ms - T0) // 1000 for r in store.query(
            MOTION, T0 + start * 1000, T0 + stop * 1000, limit=QUERY_CHUNK * 2)]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=2000, help="readings a second")
    parser.add_argument("--duration-s", type=float, default=600.0, help="how long to publish")
    parser.add_argument("--outage-s", type=float, default=30.0, help="how long InfluxDB is away")
    parser.add_argument("--drain-limit-s", type=float, default=600.0,
                        help="give up waiting for the store to catch up after this long")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration_s <= 0 or args.outage_s <= 0:
        parser.error("--rate, --duration-s and --outage-s must be positive")

    with tempfile.TemporaryDirectory(prefix="safehood-soak-") as tmp:
        root = Path(tmp)
        influx = InfluxServer(root / "influxdb")
        influx.start()
        broker = MosquittoBroker(root / "broker")
        broker.start()
        bucket = f"soak_{uuid.uuid4().hex[:8]}"
        influx.create_database(bucket)
        prefix = f"soak{uuid.uuid4().hex[:6]}"
        env = pipeline_env(broker.url, prefix, root / "data", fault_registry(),
                           influx_url=influx.client_url, influx_bucket=bucket)
        pipeline = PipelineProcess(env)
        store = InfluxReadingStore(influx.client_url, None, "safehood", bucket,
                                   spool_path=root / "reader-spool.db")
        publisher = PacedPublisher(broker, prefix, args.rate)
        try:
            pipeline.start()
            publisher.start()
            faults = run_schedule(args, pipeline, broker, influx, publisher)
            publisher.stop()
            published = range(publisher.next_seq)
            print(f"published {len(published)} ({publisher.retries} seconds published again); "
                  "waiting for the store to catch up", flush=True)
            deadline = time.monotonic() + args.drain_limit_s
            while (stored := len(set(stored_seqs(store, published)))) < len(published):
                if time.monotonic() > deadline:
                    break
                print(f"  stored {stored} of {len(published)}", flush=True)
                time.sleep(5)
            alerts_twice, notifications_twice = made_twice(root / "data" / "safehood.db")
            results = [FaultCounts.of_readings(
                fault.name, range(fault.start_seq, fault.end_seq),
                stored_seqs(store, range(fault.start_seq, fault.end_seq))) for fault in faults]
            results.append(FaultCounts.of_readings("whole run", published, stored_seqs(store, published)))
            results[-1].alerts_twice, results[-1].notifications_twice = alerts_twice, notifications_twice
            for result in results:
                result.report()
            clean = all((r.lost, r.stored_twice, r.alerts_twice, r.notifications_twice) == (0, 0, 0, 0)
                        for r in results)
            return 0 if clean else 1
        finally:
            if pipeline.running:
                pipeline.stop()
            store.close()
            broker.stop()
            influx.stop()


def run_schedule(args: argparse.Namespace, pipeline: PipelineProcess, broker: MosquittoBroker,
                 influx: InfluxServer, publisher: PacedPublisher) -> list[Fault]:
    """Run the faults evenly over ``args.duration_s``, printing progress; the faults with the
    readings published from each one's start to the next's."""

    def sigkill() -> None:
        pipeline.stop(signal.SIGKILL)
        time.sleep(2)
        pipeline.start()

    def broker_restart() -> None:
        broker.stop()
        time.sleep(2)
        broker.start()

    def influx_outage() -> None:
        with influx.forwarder.down():
            wait_reporting(args.outage_s)

    def sigterm() -> None:
        pipeline.stop(signal.SIGTERM)
        pipeline.start()

    def wait_reporting(seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(10.0, left))
            print(f"  {time.monotonic() - started:6.0f} s: published {publisher.next_seq}", flush=True)

    schedule = [("sigkill", sigkill), ("broker restart", broker_restart),
                (f"influxdb down {args.outage_s:g} s", influx_outage), ("sigterm", sigterm)]
    slot_s = args.duration_s / (len(schedule) + 1)
    started = time.monotonic()
    faults: list[Fault] = []
    for name, make_fault in schedule:
        wait_reporting(started + slot_s * (len(faults) + 1) - time.monotonic())
        if faults:
            faults[-1].end_seq = publisher.next_seq
        faults.append(Fault(name, start_seq=publisher.next_seq))
        print(f"  {time.monotonic() - started:6.0f} s: {name}", flush=True)
        make_fault()
    wait_reporting(started + args.duration_s - time.monotonic())
    faults[-1].end_seq = publisher.next_seq
    return faults


if __name__ == "__main__":
    raise SystemExit(main())
