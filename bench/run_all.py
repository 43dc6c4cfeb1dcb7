"""Run every speed benchmark at its defaults and write bench/README.md's results.

    .venv/bin/python bench/run_all.py [--only NAME ...] [--skip NAME ...] [--evaluations]
        [--no-write]

Each benchmark is its own script in bench/ and starts what it needs on loopback (mosquitto,
influxd) in a temporary directory; each prints its baseline and safehood side by side, with
the ratios. This runner runs them one after the other in child processes, prints their
output as it comes, and then replaces the results section of bench/README.md (between the
``run_all`` markers): one row per benchmark with its figures, the commit, the core count
and the load average when it ran (the machine may be shared; a busy one slows the wall-time
figures). Rows of benchmarks not run this time are kept as they were.

The detection-quality evaluations (``evaluate_*``) run for tens of minutes and measure
quality, not speed: ``--evaluations`` adds them, and ``bench/soak.py`` (ten minutes of
faults) is run on its own.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
README = BENCH / "README.md"
START, END = "<!-- run_all:results -->", "<!-- /run_all:results -->"

SPEED = {
    "parse_rate": "wire contract parse, CPU-bound (no server)",
    "store_write": "reading stores against influxd's raw write rate",
    "spool_drain": "InfluxDB outage buffer draining with live traffic",
    "ingest_rate": "ingest against mosquitto_sub on the same broker backlog, and into InfluxDB "
                   "against a naive paho + json + synchronous write consumer",
    "alert_latency": "publish to alert stored and notified: idle, at 80% of the rate ingest "
                     "sustains (measured in the same run), after a jump",
    "detect_rate": "safehood detect, ~400k messages, 1 and N processes, and 10,000 alert changes",
    "registry_scale": "live pipeline and safehood detect with 1,000 and 100,000 registered devices",
    "simulate_rate": "simulator writing a recording of 10,000 households",
    "api_load": "API alert list and readings with 100,000 alerts and 200 live-stream clients",
}
EVALUATIONS = {
    "evaluate_detectors": "detection quality, worst of 20 communities",
    "evaluate_fall": "fall detection, rules against the learned classifier",
    "evaluate_routine": "abnormal routine over weeks",
}
# Progress lines ("ingest: 10,184/100,000") are not results.
_PROGRESS = re.compile(r"^\s*\S+: [\d,]+/[\d,]+\s*$")


@dataclass(frozen=True)
class Outcome:
    name: str
    context: str  # cores, commit, time and load average when it started
    lines: list[str]
    seconds: float
    ok: bool


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                              text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def context() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, commit {commit()}, {when}, load average {load}")


def run(name: str) -> Outcome:
    """Run ``bench/<name>.py`` at its defaults, echoing its output."""
    print(f"\n=== {name}: {SPEED.get(name) or EVALUATIONS[name]}", flush=True)
    started = context()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(BENCH / f"{name}.py")], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.strip() and not _PROGRESS.match(line):
            lines.append(line.rstrip())
    ok = process.wait() == 0
    return Outcome(name, started, lines, time.perf_counter() - start, ok)


def section(outcomes: list[Outcome], previous: dict[str, str]) -> str:
    """The README's results section: every benchmark's row, this run's replacing old ones."""
    blocks = dict(previous)
    for outcome in outcomes:
        status = "" if outcome.ok else " (FAILED)"
        body = "\n".join(outcome.lines[-14:])
        blocks[outcome.name] = (f"### {outcome.name}{status}\n\n{outcome.context}; took "
                                f"{outcome.seconds:.0f} s.\n\n```\n{body}\n```\n")
    order = [*SPEED, *EVALUATIONS]
    return "\n".join(blocks[name] for name in order if name in blocks)


def previous_blocks(text: str) -> dict[str, str]:
    """The rows of the README's current results section, by benchmark."""
    if START not in text or END not in text:
        return {}
    inner = text.split(START, 1)[1].split(END, 1)[0]
    blocks = {}
    for chunk in re.split(r"(?m)^(?=### )", inner):
        match = re.match(r"### (\w+)", chunk)
        if match:
            blocks[match.group(1)] = chunk.strip() + "\n"
    return blocks


def write_readme(outcomes: list[Outcome]) -> None:
    text = README.read_text() if README.exists() else ""
    results = f"{START}\n{section(outcomes, previous_blocks(text))}{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + results + rest.split(END, 1)[1]
    else:
        text = text + ("\n" if text else "") + results + "\n"
    README.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    every = [*SPEED, *EVALUATIONS]
    parser.add_argument("--only", nargs="+", choices=every, metavar="NAME",
                        help=f"run only these ({', '.join(every)})")
    parser.add_argument("--skip", nargs="+", choices=every, default=[], metavar="NAME")
    parser.add_argument("--evaluations", action="store_true",
                        help="also run the detection-quality evaluations (long)")
    parser.add_argument("--no-write", action="store_true", help="leave bench/README.md alone")
    args = parser.parse_args()
    names = args.only or [*SPEED, *(EVALUATIONS if args.evaluations else ())]
    names = [name for name in names if name not in args.skip]
    print(f"running {', '.join(names)} on {os.cpu_count()} cores, commit {commit()}")
    outcomes = [run(name) for name in names]
    if not args.no_write:
        write_readme(outcomes)
        print(f"\nwrote {README.relative_to(ROOT)}")
    failed = [o.name for o in outcomes if not o.ok]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
