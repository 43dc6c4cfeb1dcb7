"""Throughput of `safehood detect`, the whole process, on a simulator recording, and under an
alert storm.

    .venv/bin/python bench/detect_rate.py [--households 60] [--days 4] [--storm 10000]

Simulates ``--households`` for ``--days`` (about 400,000 messages at the defaults), then
times, each in a child process on one core:

- the baseline: reading the recording and decoding every line with orjson, the floor any
  detector run pays;
- ``safehood detect`` over the recording;
- ``safehood detect`` over the same recording with ``--storm`` tamper events of its smoke
  alarms mixed in evenly, each an alert change (a raise or an update of an open alert).

Prints messages per second of wall time and of CPU time (the machine may be shared: CPU
time is the steadier figure), the ratios to the baseline, and the storm's slowdown.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]


def simulate(directory: Path, households: int, days: float) -> None:
    subprocess.run([sys.executable, "-m", "safehood.cli", "simulate", "--households",
                    str(households), "--days", str(days), "--seed", "1", "--no-progress",
                    "--out", str(directory)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def add_storm(traffic: Path, registry: Path, out: Path, changes: int) -> int:
    """Write ``traffic`` with ``changes`` tamper events of its smoke alarms mixed in."""
    smokes = [d for d in orjson.loads(registry.read_bytes())["devices"] if d["kind"] == "smoke"]
    lines = traffic.read_bytes().splitlines()
    every = max(1, len(lines) // changes)
    written = 0
    with open(out, "wb") as handle:
        for index, line in enumerate(lines):
            handle.write(line + b"\n")
            if index % every or written >= changes:
                continue
            ts = orjson.loads(line)["payload"].get("ts")
            if ts is None:
                continue
            device = smokes[written % len(smokes)]
            handle.write(orjson.dumps({
                "topic": f"safehood/v1/{device['site']}/{device['device_id']}/event",
                "payload": {"ts": ts, "kind": "smoke", "event": "tamper", "seq": 10**9 + written},
            }) + b"\n")
            written += 1
    return written


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=60)
    parser.add_argument("--days", type=float, default=4.0)
    parser.add_argument("--storm", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="safehood-detect-") as tmp:
        directory = Path(tmp)
        simulate(directory, args.households, args.days)
        registry, traffic = directory / "registry.json", directory / "traffic.jsonl"
        stormy = directory / "storm.jsonl"
        added = add_storm(traffic, registry, stormy, args.storm)
        with open(traffic, "rb") as handle:
            messages = sum(1 for _ in handle)
        decode = ("import sys, orjson\n"
                  "for line in open(sys.argv[1], 'rb'): orjson.loads(line)")
        runs = {
            "baseline: read + orjson.loads": (
                [sys.executable, "-c", decode, str(traffic)], messages),
            "safehood detect": (
                [sys.executable, "-m", "safehood.cli", "detect", "--registry", str(registry),
                 "--input", str(traffic), "--output", os.devnull], messages),
            f"safehood detect, {added:,} alert changes": (
                [sys.executable, "-m", "safehood.cli", "detect", "--registry", str(registry),
                 "--input", str(stormy), "--output", os.devnull], messages + added),
        }
        rates: dict[str, tuple[float, float]] = {}
        for name, (argv, count) in runs.items():
            wall, cpu = timed(argv)
            rates[name] = (count / wall, count / cpu)
    base_cpu = next(iter(rates.values()))[1]
    print(f"{'run':<44}{'msg/s wall':>12}{'msg/s CPU':>12}{'vs baseline':>13}")
    for name, (wall_rate, cpu_rate) in rates.items():
        print(f"{name:<44}{wall_rate:>12,.0f}{cpu_rate:>12,.0f}{cpu_rate / base_cpu:>12.3f}x")
    plain, storm = list(rates.values())[1:]
    print(f"storm slowdown (CPU): {plain[1] / storm[1]:.2f}x  "
          f"({messages:,} messages, {args.households} households x {args.days:g} days; "
          f"1 process, 1 core of {os.cpu_count()})")


if __name__ == "__main__":
    main()
