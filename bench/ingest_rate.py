"""Ingest throughput against the raw rate of ``mosquitto_sub`` on the same broker.

Both consumers drain the same backlog of N QoS 1 messages that the broker queued for their
persistent session while they were away; the wall time from connect to the last message
gives the rate. Run: ``.venv/bin/python bench/ingest_rate.py [--messages 100000]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safehood._broker import MosquittoBroker
from safehood._pipeline import build_pipeline
from safehood.config import Settings
from safehood.protocol import Registry
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


def mosquitto_sub_rate(broker: MosquittoBroker, prefix: str, messages: list[tuple[str, bytes]]) -> float:
    client_id = "bench-sub"
    base = ["mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-q", "1", "-c",
            "-i", client_id, "-t", f"{prefix}/#"]
    # Create the persistent session, then leave.
    subprocess.run([*base, "-W", "1"], capture_output=True)
    publish_all(broker.host, broker.port, messages)
    start = time.perf_counter()
    subprocess.run([*base, "-C", str(len(messages))], check=True, stdout=subprocess.DEVNULL)
    return len(messages) / (time.perf_counter() - start)


def ingest_rate(broker: MosquittoBroker, prefix: str, messages: list[tuple[str, bytes]],
                data_dir: Path, devices: int) -> tuple[float, float]:
    registry = Registry.from_data({
        "households": [], "devices": [{"device_id": f"d{i:05d}", "site": SITE, "kind": "smoke"}
                                      for i in range(devices)]})
    settings = Settings(mqtt_url=broker.url, topic_prefix=prefix, data_dir=data_dir,
                        mqtt_client_id="bench-ingest")
    pipeline = build_pipeline(settings, registry_file=registry.to_model())
    pipeline.start()
    pipeline.ingest.source.connected.wait(10)
    pipeline.stop()
    publish_all(broker.host, broker.port, messages)
    pipeline = build_pipeline(settings)
    start = time.perf_counter()
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
    received_s = time.perf_counter() - start
    pipeline.store.flush()
    stored_s = time.perf_counter() - start
    stored = pipeline.store.count(site=SITE)
    pipeline.stop()
    if stored != len(messages):
        raise SystemExit(f"ingest stored {stored} of {len(messages)}")
    return len(messages) / received_s, len(messages) / stored_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=1_000)
    args = parser.parse_args()
    if shutil.which("mosquitto_sub") is None:
        raise SystemExit("mosquitto_sub is missing: apt-get install mosquitto-clients")
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        try:
            raw = mosquitto_sub_rate(broker, "raw", traffic("raw", args.messages, args.devices))
            received, stored = ingest_rate(broker, "ing", traffic("ing", args.messages, args.devices),
                                           Path(tmp) / "data", args.devices)
        finally:
            broker.stop()
    print(f"\n{'consumer':<38}{'messages/s':>12}{'vs baseline':>13}")
    print(f"{'mosquitto_sub (QoS 1, baseline)':<38}{raw:>12,.0f}{'1.00x':>13}")
    print(f"{'safehood ingest: validated+acked':<38}{received:>12,.0f}{received / raw:>12.2f}x")
    print(f"{'safehood ingest: in embedded store':<38}{stored:>12,.0f}{stored / raw:>12.2f}x")
    print(f"({args.messages:,} messages from {args.devices:,} devices)")


if __name__ == "__main__":
    main()
