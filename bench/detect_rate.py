"""Throughput of `safehood detect`, the whole process, on a simulator recording, and under an
alert storm.

    .venv/bin/python bench/detect_rate.py [--households 60] [--days 4] [--storm 10000]
                                          [--jobs N]

Simulates ``--households`` for ``--days`` (about 400,000 messages at the defaults) over
``--jobs`` sites (default: the number of cores), then times, each in a child process:

- the baseline: reading the recording and decoding every line with orjson, the floor any
  detector run pays (one core);
- ``safehood detect --jobs 1`` over the recording (one core);
- ``safehood detect --jobs N``: the sites dealt out to N worker processes (N cores);
- ``safehood detect --jobs 1`` over the same recording with ``--storm`` tamper events of its
  smoke alarms mixed in evenly, each an alert change (a raise or an update of an open alert).

Prints messages per second of wall time and of CPU time (all processes'; the machine may
be shared: CPU time is the steadier figure), the cores each run may use, the ratios to the
baseline, the storm's slowdown, and checks that N workers wrote what one process wrote.
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


def simulate(directory: Path, households: int, days: float, sites: int) -> None:
    subprocess.run([sys.executable, "-m", "safehood.cli", "simulate", "--households",
                    str(households), "--days", str(days), "--sites", str(sites), "--seed", "1",
                    "--no-progress", "--out", str(directory)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)),
                        help="worker processes of the parallel run, and sites simulated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="safehood-detect-") as tmp:
        directory = Path(tmp)
        simulate(directory, args.households, args.days, args.jobs)
        registry, traffic = directory / "registry.json", directory / "traffic.jsonl"
        stormy = directory / "storm.jsonl"
        added = add_storm(traffic, registry, stormy, args.storm)
        with open(traffic, "rb") as handle:
            messages = sum(1 for _ in handle)
        decode = ("import sys, orjson\n"
                  "for line in open(sys.argv[1], 'rb'): orjson.loads(line)")
        detect = [sys.executable, "-m", "safehood.cli", "detect", "--registry", str(registry)]
        one, several = directory / "one.jsonl", directory / "several.jsonl"
        runs = {
            "baseline: read + orjson.loads": (
                [sys.executable, "-c", decode, str(traffic)], messages, 1),
            "safehood detect --jobs 1": (
                [*detect, "--input", str(traffic), "--output", str(one), "--jobs", "1"],
                messages, 1),
            f"safehood detect --jobs {args.jobs}": (
                [*detect, "--input", str(traffic), "--output", str(several),
                 "--jobs", str(args.jobs)], messages, args.jobs),
            f"safehood detect --jobs 1, {added:,} alert changes": (
                [*detect, "--input", str(stormy), "--output", os.devnull, "--jobs", "1"],
                messages + added, 1),
        }
        rates: dict[str, tuple[float, float, int]] = {}
        for name, (argv, count, cores) in runs.items():
            wall, cpu = timed(argv)
            rates[name] = (count / wall, count / cpu, cores)
        same = one.read_bytes() == several.read_bytes()
    base_wall = next(iter(rates.values()))[0]
    print(f"{'run':<48}{'cores':>6}{'msg/s wall':>12}{'msg/s CPU':>12}{'wall vs baseline':>18}")
    for name, (wall_rate, cpu_rate, cores) in rates.items():
        print(f"{name:<48}{cores:>6}{wall_rate:>12,.0f}{cpu_rate:>12,.0f}"
              f"{wall_rate / base_wall:>17.3f}x")
    _, plain, parallel, storm = rates.values()
    print(f"storm slowdown (CPU): {plain[1] / storm[1]:.2f}x; --jobs {args.jobs} vs --jobs 1 "
          f"(wall): {parallel[0] / plain[0]:.2f}x, same alerts: {'yes' if same else 'NO'}  "
          f"({messages:,} messages, {args.households} households x {args.days:g} days over "
          f"{args.jobs} sites; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
