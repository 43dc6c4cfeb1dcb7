"""Alert latency of the live pipeline: an SOS press published to the broker, to the alert
stored, and to its notification handed to Apprise (received by a loopback HTTP service).

Phases, one pipeline (`build_pipeline`, as `safehood run`) on its own mosquitto:

- ``idle``: probes alone;
- ``capacity`` (no probes): a publisher in another process floods the pipeline with smoke
  telemetry (QoS 1, as fast as it can) for ``--capacity-s``; the rate at which ingest takes
  it while it is behind is the highest load the machine sustains, publisher included;
- ``load``: probes while a background publisher sends smoke telemetry at
  ``--load-fraction`` of that rate (or at ``--load-rate``; QoS 1, from another process; the
  line says what rate it reached and whether ingest kept up);
- ``jump``: the site's event time has run a replay ``--jump-days`` in the past; then the
  same probes come at today's time, the first of them being the first message after the
  jump (every device's silence timer falls due at once).

Each probe is a press of a different household's button (a new ``sos`` alert each), spaced
``--interval-ms`` apart and not waited for, so a slow one does not hide the ones behind it.
Prints p50 / p99 / max per phase and target. Run:
``.venv/bin/python bench/alert_latency.py [--households 2000] [--load-fraction 0.8]``.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._latency_trace import LatencyTrace
from safehood._broker import MosquittoBroker
from safehood._pipeline import Pipeline, build_pipeline
from safehood.alerting import AlertChange
from safehood.config import MqttEndpoint, Settings
from safehood.mqtt import Publisher
from safehood.protocol import Registry
from tests._notifications import NotificationReceiver, serve_notifications

SITE = "bench"
PREFIX = "lat"
DAY_MS = 86_400_000
SMOKE_PER_HOUSEHOLD = 4


def registry(households: int, sink: NotificationReceiver) -> Registry:
    """Households of one site, each with a button (the probes), four smoke detectors (the
    background load) and a resident whose family is the loopback notification service."""
    return Registry.from_data({
        "households": [{"id": f"h{h:05d}", "site": SITE} for h in range(households)],
        "residents": [{"id": f"r{h:05d}", "household": f"h{h:05d}", "name": f"Resident {h}",
                       "contacts": [sink.url(f"h{h:05d}")]} for h in range(households)],
        "devices": [
            *({"device_id": f"h{h:05d}-button", "site": SITE, "kind": "button",
               "household": f"h{h:05d}", "resident": f"r{h:05d}"} for h in range(households)),
            *({"device_id": f"h{h:05d}-smoke-{i}", "site": SITE, "kind": "smoke",
               "household": f"h{h:05d}"}
              for h in range(households) for i in range(SMOKE_PER_HOUSEHOLD)),
        ],
    })


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def background(url: str, households: int, rate: float, seconds: float, offset_ms: int,
               published: Any, stop: Any = None) -> None:
    """Publish smoke telemetry round the households at ``rate`` a second (``math.inf``: as
    fast as the publisher goes) for ``seconds`` or until ``stop`` is set (own process)."""
    endpoint = MqttEndpoint.from_url(url)
    publisher = Publisher(endpoint, f"bench-load-{os.getpid()}")
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < seconds and not (stop and stop.is_set()):
        due = sent + 500 if math.isinf(rate) else int(elapsed * rate) + 1
        for _ in range(sent, due):
            h, i = divmod(sent, SMOKE_PER_HOUSEHOLD)
            device = f"h{h % households:05d}-smoke-{i}"
            publisher.publish(f"{PREFIX}/v1/{SITE}/{device}/telemetry", orjson.dumps(
                {"ts": wall_ms() - offset_ms, "seq": sent // (households * SMOKE_PER_HOUSEHOLD),
                 "kind": "smoke", "smoke": 0.2, "temp_c": 21.5, "battery": 90}))
            sent += 1
        published.value = sent
        if not math.isinf(rate):
            time.sleep(0.002)
    publisher.flush()
    publisher.close()
    published.value = sent


@dataclass
class Probes:
    """Publish times of the probes and when their alert was stored, by household."""

    published_s: dict[str, float] = field(default_factory=dict)
    stored_s: dict[str, float] = field(default_factory=dict)

    def on_change(self, change: AlertChange) -> None:
        household = change.alert.household
        if change.kind == "raised" and change.alert.type.value == "sos" and household:
            self.stored_s.setdefault(household, time.monotonic())


@dataclass(frozen=True)
class Phase:
    name: str
    stored_ms: list[float]
    notified_ms: list[float]
    note: str = ""
    trace: str = ""


def percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99, ordered[-1]


def run_probes(publisher: Publisher, probes: Probes, sink: NotificationReceiver,
               households: Iterator[str], count: int, interval_s: float,
               offset_ms: int, name: str, note: str = "",
               trace: LatencyTrace | None = None) -> Phase:
    """Press ``count`` buttons ``interval_s`` apart; wait for each alert and notification."""
    pressed = []
    start = time.monotonic()
    for n in range(count):
        household = next(households)
        payload = orjson.dumps({"ts": wall_ms() - offset_ms, "seq": 1, "kind": "button",
                                "event": "sos"})
        probes.published_s[household] = time.monotonic()
        publisher.publish(f"{PREFIX}/v1/{SITE}/{household}-button/event", payload)
        pressed.append(household)
        time.sleep(max(0.0, start + (n + 1) * interval_s - time.monotonic()))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        notified: dict[str, float] = {}
        with sink.lock:
            for (path, _, _), arrived in zip(sink.received, sink.arrived_s, strict=True):
                notified.setdefault(path.lstrip("/"), arrived)  # the alert's first
        if all(h in notified and h in probes.stored_s for h in pressed):
            break
        time.sleep(0.05)
    else:
        raise SystemExit(f"{name}: not every probe was alerted and notified within 120 s")
    return Phase(
        name,
        [(probes.stored_s[h] - probes.published_s[h]) * 1000 for h in pressed],
        [(notified[h] - probes.published_s[h]) * 1000 for h in pressed],
        note,
        trace.report(name, pressed, probes.published_s, probes.stored_s, notified)
        if trace else "",
    )


@dataclass(frozen=True)
class Capacity:
    """What ingest took while flooded: ``rate`` a second over ``seconds``, with ``behind``
    messages published and not yet taken at the end (none: the publisher was the limit)."""

    rate: float
    seconds: float
    behind: int


def received_after(pipeline: Pipeline, count: int, before: int) -> None:
    """Wait until ingest has received ``count`` messages since it had ``before``."""
    deadline = time.monotonic() + 120
    while pipeline.ingest.stats.received - before < count:
        if time.monotonic() > deadline:
            raise SystemExit("ingest did not catch up with the background load")
        time.sleep(0.1)


def sustained_rate(pipeline: Pipeline, url: str, households: int, seconds: float,
                   offset_ms: int) -> Capacity:
    """The highest rate ingest keeps up with on this machine: flood it from another process
    and count what it takes over ``seconds`` once a backlog has built (the publisher
    faster than ingest), the publisher going on until the count is taken."""
    spawn = multiprocessing.get_context("spawn")
    published, stop = spawn.Value("q", 0), spawn.Event()
    flood = spawn.Process(target=background, args=(
        url, households, math.inf, math.inf, offset_ms, published, stop))
    before = pipeline.ingest.stats.received
    flood.start()

    def behind() -> int:
        return published.value - (pipeline.ingest.stats.received - before)

    # The child takes seconds to start on a busy machine: wait for a backlog of a second's
    # worth of its messages (or for the publisher proving the slower, 30 s on).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (published.value < 1_000 or behind() < 1_000):
        time.sleep(0.05)
    first, start = pipeline.ingest.stats.received, time.monotonic()
    time.sleep(seconds)
    last, took = pipeline.ingest.stats.received, time.monotonic() - start
    left = behind()
    stop.set()
    flood.join()
    received_after(pipeline, published.value, before)
    if last == first:
        raise SystemExit("ingest took nothing while flooded")
    return Capacity((last - first) / took, took, left)


def start_pipeline(broker: MosquittoBroker, data_dir: Path, reg: Registry,
                   probes: Probes) -> Pipeline:
    settings = Settings(mqtt_url=broker.url, topic_prefix=PREFIX, data_dir=data_dir,
                        mqtt_client_id="bench-latency")
    pipeline = build_pipeline(settings, registry_file=reg.to_model(), serve_api=False)
    pipeline.alerts.subscribe(probes.on_change)
    pipeline.start()
    if not pipeline.ingest.source.connected.wait(30):
        raise SystemExit("the pipeline did not connect to the broker")
    return pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2_000,
                        help="households of the site (a button and 4 smoke detectors each)")
    parser.add_argument("--probes", type=int, default=100, help="SOS presses per phase")
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--capacity-s", type=float, default=8.0,
                        help="how long the flood that finds the sustainable rate lasts")
    parser.add_argument("--load-fraction", type=float, default=0.8,
                        help="background telemetry of the load phase, a fraction of the "
                             "sustainable rate measured in the same run")
    parser.add_argument("--load-rate", type=float,
                        help="background telemetry, messages a second (instead of the "
                             "fraction)")
    parser.add_argument("--jump-days", type=float, default=7.0)
    parser.add_argument("--trace", action="store_true",
                        help="timestamp each probe along its path and print where its time "
                             "went, step by step (adds a little work to the pipeline)")
    args = parser.parse_args()
    # The bench's households have family contacts only: "no officers contact" is expected.
    logging.getLogger("safehood.alerting").setLevel(logging.ERROR)
    if args.households <= 3 * args.probes:
        raise SystemExit("--households must be over 3 x --probes (a new household a probe)")
    interval_s = args.interval_ms / 1000
    jump_ms = int(args.jump_days * DAY_MS)
    households = iter(f"h{h:05d}" for h in range(args.households))
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        sink_server = serve_notifications()
        sink = next(sink_server)
        reg = registry(args.households, sink)
        probes = Probes()
        pipeline = start_pipeline(broker, Path(tmp) / "data", reg, probes)
        cpu_start_s = time.process_time()
        publisher = Publisher(MqttEndpoint.from_url(broker.url), "bench-probes")
        trace = LatencyTrace() if args.trace else None
        if trace is not None:
            trace.install(pipeline)
        try:
            # Until the jump, the site runs a replay of ``jump_ms`` ago, in real time.
            # One probe first, not counted: the first notification loads Apprise's plugins.
            run_probes(publisher, probes, sink, households, 1, interval_s, jump_ms, "warm-up")
            phases.append(run_probes(publisher, probes, sink, households, args.probes,
                                     interval_s, jump_ms, "idle", trace=trace))
            capacity = sustained_rate(pipeline, broker.url, args.households,
                                      args.capacity_s, jump_ms)
            load_rate = args.load_rate or args.load_fraction * capacity.rate
            spawn = multiprocessing.get_context("spawn")
            published = spawn.Value("q", 0)
            seconds = args.probes * interval_s + 5
            load = spawn.Process(target=background, args=(
                broker.url, args.households, load_rate, seconds, jump_ms, published))
            received_before = pipeline.ingest.stats.received
            load.start()
            deadline = time.monotonic() + 30
            while published.value == 0 and time.monotonic() < deadline:
                time.sleep(0.05)  # the child takes seconds to start on a busy machine
            time.sleep(2)  # let the load settle in
            phase = run_probes(publisher, probes, sink, households, args.probes, interval_s,
                               jump_ms, "load", trace=trace)
            load.join()
            sent = published.value
            behind = sent - (pipeline.ingest.stats.received - received_before - args.probes)
            phases.append(Phase(phase.name, phase.stored_ms, phase.notified_ms,
                                f"{sent / seconds:,.0f} msg/s background, {behind:,} behind "
                                "at its end", phase.trace))
            # Let ingest catch up, then jump the site's event time to today.
            received_after(pipeline, sent + args.probes, received_before)
            engine = pipeline.detection.engine
            phases.append(run_probes(publisher, probes, sink, households, args.probes,
                                     interval_s, 0, "jump",
                                     f"{args.jump_days:g} days, {engine.detectors:,} detectors",
                                     trace=trace))
            jump_first = phases[-1]
        finally:
            publisher.close()
            pipeline.stop()
            cpu_s = time.process_time() - cpu_start_s
            sink_server.close()
            broker.stop()
    print(f"\n{'phase':<6}{'to':<10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  note")
    for phase in phases:
        for target, values in (("stored", phase.stored_ms), ("notified", phase.notified_ms)):
            p50, p99, top = percentiles(values)
            note = phase.note if target == "stored" else ""
            print(f"{phase.name:<6}{target:<10}{p50:>9.1f}{p99:>9.1f}{top:>9.1f}  {note}")
    for phase in phases:
        if phase.trace:
            print(phase.trace)
    share = f"{load_rate / capacity.rate:.0%}" if args.load_rate else f"{args.load_fraction:.0%}"
    limit = "" if capacity.behind > 0 else ": the publisher was the limit"
    print(f"sustainable: {capacity.rate:,.0f} msg/s (ingest flooded for {capacity.seconds:.1f} "
          f"s, {capacity.behind:,} behind at its end{limit}); load phase at {share} of it, "
          f"{load_rate:,.0f} msg/s")
    stats = pipeline.ingest.stats
    print(f"CPU a message received: {cpu_s / stats.received * 1e6:,.0f} us in this process "
          f"(pipeline and probes; the publishers are processes of their own), "
          f"{stats.cpu_us_per_message or 0:,.0f} us in ingest's consumer thread "
          f"({stats.received:,} messages)")
    print(f"first alert after the jump: stored {jump_first.stored_ms[0]:.1f} ms, notified "
          f"{jump_first.notified_ms[0]:.1f} ms")
    print(f"({args.probes} probes a phase, {args.interval_ms:g} ms apart; {args.households:,} "
          f"households, {args.households * (1 + SMOKE_PER_HOUSEHOLD):,} devices; 1 pipeline "
          f"process on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
