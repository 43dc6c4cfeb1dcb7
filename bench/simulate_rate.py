"""How fast the simulator writes a recording: 10,000 households for one day by default.

    .venv/bin/python bench/simulate_rate.py [--households N] [--days D] [--workers W] [--population P]
        [--keep DIR]

Prints wall time, messages per second, households per second and the file size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from safehood.simulators import POPULATIONS, Community, SimulationConfig, write_recording


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--population", choices=sorted(POPULATIONS), default="default")
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    args = parser.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="simulate-rate-"))
    try:
        began = time.perf_counter()
        community = Community.generate(args.households, seed=args.seed,
                                       population=POPULATIONS[args.population])
        summary = write_recording(out, community, SimulationConfig(seed=args.seed, days=args.days),
                                  workers=args.workers)
        wall = time.perf_counter() - began
        size = (out / "traffic.jsonl").stat().st_size
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)
    print(f"households: {summary.households:,} x {args.days:g} day(s), {summary.devices:,} devices, "
          f"workers: {args.workers}, cores: {os.cpu_count()}")
    print(f"messages: {summary.messages:,} ({size / 1e9:.2f} GB), labels: {summary.labels:,}")
    print(f"wall time: {wall:.1f} s")
    print(f"rate: {summary.messages / wall:,.0f} messages/s, "
          f"{summary.households * args.days / wall:,.1f} household-days/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
