"""Parse rate of the wire contract: raw MQTT payloads to validated, placed messages.

    .venv/bin/python bench/parse_rate.py [--messages 20000] [--repeat 3]

Parses a fixed mix of every kind and channel (wearable windows of 50 samples, as the
simulator sends them) through ``protocol.parse_message`` with a registry, and prints the
best of ``--repeat`` runs in messages per second of CPU time (process time, so that other
work on a shared machine counts less).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from safehood.protocol import Registry, parse_message

T0 = 1_772_409_600_000
SITE = "s1"
REGISTRY = Registry.from_data({
    "households": [{"id": "h1", "site": SITE, "lives_alone": True}],
    "residents": [{"id": "r1", "household": "h1", "name": "Wang Fang"}],
    "devices": [
        {"device_id": f"h1-{kind}", "site": SITE, "kind": kind, "household": "h1",
         "resident": "r1" if kind in ("wearable", "button") else None}
        for kind in ("smoke", "wearable", "water", "door", "motion", "button")
    ],
})


def traffic(n: int, seed: int = 7) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        ts, pick = T0 + i * 1000, i % 10
        if pick < 3:
            device, channel = "h1-smoke", "telemetry"
            payload: dict[str, object] = {"kind": "smoke", "smoke": rng.uniform(0, 2),
                                          "temp_c": 21.5, "battery": 90}
        elif pick < 5:
            device, channel = "h1-wearable", "telemetry"
            payload = {"kind": "wearable", "hz": 25, "hr_bpm": 70,
                       "accel": [[rng.gauss(0, .1), rng.gauss(0, .1), 1.0] for _ in range(50)]}
        elif pick == 5:
            device, channel, payload = "h1-door", "telemetry", {"kind": "door", "open": True}
        elif pick == 6:
            device, channel, payload = "h1-motion", "event", {"kind": "motion", "event": "motion"}
        elif pick == 7:
            device, channel = "h1-water", "telemetry"
            payload = {"kind": "water", "leak": False, "flow_lpm": 3.5}
        elif pick == 8:
            device, channel, payload = "h1-smoke", "status", {"online": True, "rssi": -60}
        else:
            device, channel, payload = "h1-button", "event", {"kind": "button", "event": "sos"}
        raw = orjson.dumps({"ts": ts, "seq": i, **payload})
        out.append((f"safehood/v1/{SITE}/{device}/{channel}", raw))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    messages = traffic(args.messages)
    best = float("inf")
    for _ in range(args.repeat):
        start = time.process_time()
        for topic, raw in messages:
            parse_message(topic, raw, T0, REGISTRY)
        best = min(best, time.process_time() - start)
    print(f"parse_message: {args.messages / best:,.0f} msgs per CPU second "
          f"({args.messages} messages, best of {args.repeat})")


if __name__ == "__main__":
    main()
