"""Cost of the registry's size: `safehood detect` with 1,000 and with 100,000 devices.

    .venv/bin/python bench/registry_scale.py [--devices 1000 100000] [--per-household 5]
                                             [--messages 20000]

For each size it writes a registry (households of ``--per-household`` devices, 500
households a site, one resident each) and a recording of one status reading per device,
then runs ``safehood detect`` over it in a child process and prints the CPU time, the
registry load time, the peak memory, the memory per device over the smallest size, and
the time per device. With memory and time linear in the size, the per-device figures of
both sizes agree; a quadratic start-up shows as a ratio far from 1.

The cost of a message is measured apart from start-up: the same recording with
``--messages`` more readings of the first 1,000 devices (telemetry, events and statuses,
a minute apart), run at each size; the extra CPU time over the extra messages is the
cost of a message, which must not grow with the number of devices registered.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_772_409_600_000
KINDS = ("smoke", "water", "door", "motion", "wearable", "button")
HOUSEHOLDS_PER_SITE = 500


def write_inputs(directory: Path, devices: int, per_household: int,
                 extra: int = 0) -> tuple[Path, Path]:
    """A registry of ``devices`` devices and a recording of one reading from each, then
    ``extra`` readings of the first 1,000 devices, a minute apart."""
    households = max(1, devices // per_household)
    registry: dict[str, list[dict[str, object]]] = {"households": [], "residents": [],
                                                     "devices": []}
    lines: list[bytes] = []
    for h in range(households):
        site = f"s{h // HOUSEHOLDS_PER_SITE}"
        hid = f"h{h:06d}"
        registry["households"].append({"id": hid, "site": site, "lives_alone": h % 3 == 0})
        registry["residents"].append({"id": f"r{h:06d}", "household": hid, "name": "Resident",
                                      "elderly": h % 2 == 0})
        for k in range(per_household):
            kind = KINDS[k % len(KINDS)]
            device_id = f"{hid}-{kind}-{k}"
            registry["devices"].append({
                "device_id": device_id, "site": site, "kind": kind, "household": hid,
                "resident": f"r{h:06d}" if kind in ("wearable", "button") else None})
            payload = {"ts": T0 + h * 10 + k, "online": True, "battery": 80}
            lines.append(orjson.dumps({"topic": f"safehood/v1/{site}/{device_id}/status",
                                       "payload": payload}))
    busy = registry["devices"][:1000]
    start = T0 + households * 10 + 60_000
    for n in range(extra):
        device = busy[n % len(busy)]
        ts = start + (n // len(busy)) * 60_000 + n % len(busy)
        kind = str(device["kind"])
        channel, payload = EXTRA_READINGS.get(kind, ("status", {"online": True, "battery": 80}))
        lines.append(orjson.dumps({
            "topic": f"safehood/v1/{device['site']}/{device['device_id']}/{channel}",
            "payload": {"ts": ts, "seq": n // len(busy), **payload}}))
    registry_path, traffic_path = directory / "registry.json", directory / "traffic.jsonl"
    registry_path.write_bytes(orjson.dumps(registry))
    traffic_path.write_bytes(b"\n".join(lines) + b"\n")
    return registry_path, traffic_path


# What the busy devices send: an ordinary reading of their kind (a status for the others).
EXTRA_READINGS: dict[str, tuple[str, dict[str, object]]] = {
    "smoke": ("telemetry", {"kind": "smoke", "smoke": 0.0, "temp_c": 21.5}),
    "water": ("telemetry", {"kind": "water", "leak": False}),
    "door": ("event", {"kind": "door", "event": "close"}),
    "motion": ("event", {"kind": "motion", "event": "motion"}),
}


def load_time(registry_path: Path) -> float:
    """CPU seconds to load and index the registry, in a child process."""
    code = ("import sys, time\nfrom safehood.protocol import Registry\n"
            "t = time.process_time(); r = Registry.load(sys.argv[1])\n"
            "[r.household_residents(h) for h in r.households]\n"
            "print(time.process_time() - t)")
    out = subprocess.run([sys.executable, "-c", code, str(registry_path)], check=True,
                         capture_output=True, text=True).stdout
    return float(out)


# Runs `safehood detect` and writes the process's own peak resident memory (VmHWM, kB)
# to the file named first. Not the children's ru_maxrss: Linux carries the parent's peak
# over into a child it starts, so that figure was this bench's own (its inputs in memory),
# whatever safehood used.
_PEAK_OF_DETECT = """
import runpy, sys
from pathlib import Path
out, sys.argv = sys.argv[1], ["safehood", *sys.argv[2:]]
try:
    runpy.run_module("safehood.cli", run_name="__main__")
finally:
    status = Path("/proc/self/status").read_text()
    Path(out).write_text(status.split("VmHWM:")[1].split()[0])
"""


def run_detect(registry_path: Path, traffic_path: Path) -> tuple[float, int]:
    """CPU seconds and peak resident memory (bytes) of `safehood detect` over the files
    (CPU time: on a shared machine wall time says more about the neighbours)."""
    peak_file = traffic_path.with_suffix(".peak")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # One process: the figures are of one engine holding the whole registry (--jobs would
    # deal the sites out to workers, whose memory VmHWM does not see).
    subprocess.run([sys.executable, "-c", _PEAK_OF_DETECT, str(peak_file), "detect",
                    "--registry", str(registry_path), "--input", str(traffic_path),
                    "--output", os.devnull, "--jobs", "1"], check=True,
                   stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, int(peak_file.read_text()) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--per-household", type=int, default=5)
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    rows = []
    per_message: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory(prefix="safehood-scale-") as tmp:
        for devices in sorted(args.devices):
            directory = Path(tmp) / str(devices)
            directory.mkdir()
            registry_path, traffic_path = write_inputs(directory, devices, args.per_household)
            loaded_s = load_time(registry_path)
            elapsed, peak = run_detect(registry_path, traffic_path)
            rows.append((devices, loaded_s, elapsed, peak))
            print(f"{devices:>8,} devices: registry {loaded_s:6.2f} s CPU, detect {elapsed:6.2f} s "
                  f"CPU ({elapsed / devices * 1e6:6.1f} us per device), peak {peak / 2**20:7.1f} MiB",
                  flush=True)
            if args.messages:
                busy = directory / "busy"
                busy.mkdir()
                _, busy_traffic = write_inputs(busy, devices, args.per_household, args.messages)
                busy_s, _ = run_detect(registry_path, busy_traffic)
                per_message.append((devices, (busy_s - elapsed) / args.messages))
                print(f"{devices:>8,} devices: {args.messages:,} more messages of 1,000 devices "
                      f"{busy_s - elapsed:6.2f} s CPU ({per_message[-1][1] * 1e6:6.1f} us per "
                      f"message)", flush=True)
    if len(rows) > 1:
        (small, small_load, small_s, small_peak) = rows[0]
        (large, large_load, large_s, large_peak) = rows[-1]
        per_device = (large_peak - small_peak) / (large - small)
        # The marginal cost per device (start-up excluded): linear means the same at any size.
        print(f"memory per device: {per_device / 1024:.2f} KiB; detect CPU per added device "
              f"{(large_s - small_s) / (large - small) * 1e6:.0f} us; registry load per device "
              f"{large_load / large * 1e6:.1f} us at {large:,} vs {small_load / small * 1e6:.1f} "
              f"us at {small:,} (1 process, 1 core of {os.cpu_count()})")
    if len(per_message) > 1:
        (small, small_cost), (large, large_cost) = per_message[0], per_message[-1]
        print(f"CPU per message: {large_cost * 1e6:.1f} us at {large:,} devices vs "
              f"{small_cost * 1e6:.1f} us at {small:,} ({large_cost / small_cost:.2f}x)")


if __name__ == "__main__":
    main()
