"""``safehood demo``: broker, pipeline, API, dashboard and a simulated community, at once.

Start a local MQTT broker (mosquitto when installed, else the embedded amqtt), the pipeline
on the embedded store, the API and dashboard, and a simulated community whose incidents
raise alerts. Falls are found by the learned fall classifier (the model shipped with
safehood; see `safehood train`). Prints where to look and tokens to log in with. Stops
cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import socket
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from safehood._broker import LocalBroker, free_port, start_local_broker
from safehood._demo_inbox import DemoInbox
from safehood._history import WEEK_MS, backfill_history
from safehood._pipeline import Pipeline, build_pipeline
from safehood.alerting import AlertQuery
from safehood.api import TokenStore
from safehood.dialects import Dialect, MappingError, load_dialects
from safehood.learning import ModelError
from safehood.mqtt import BrokerUnreachable
from safehood.protocol import AlertStatus, Registry
from safehood.simulators import (
    POPULATIONS,
    SCENARIOS,
    Community,
    LiveSimulator,
    ScenarioRequest,
    SimulationConfig,
)
from safehood.store import SqliteReadingStore
from safehood.wellbeing import (
    DEFAULT_WEEKS,
    IsoWeek,
    daily_activity,
    household_digest,
    household_readings,
    week_span,
)

from ._common import CommandError, load_settings, positive_float, positive_int

DEMO_INCIDENT_RATE = 400.0  # per 100 household-days: something happens every hour or so
DEMO_CATCH_UP_S = 3600
DEMO_HISTORY_WEEKS = 5
# The first incidents come at chosen times (simulated minutes after the start) so that a new
# user sees the detectors at work within a minute at the default speed. The slump onto a
# sofa and the band taken off are falls to the rule path and raise nothing with the learned
# classifier: the demo says so when it starts.
DEMO_OPENING = (("sos", 2), ("cooking_smoke", 6), ("fall", 10), ("sit_hard_still", 13),
                ("water_leak", 16), ("take_off", 19), ("fire", 22), ("forced_entry", 30),
                ("door_left_open", 38), ("tamper", 45))
# The leak sensor and door contact of this many households are Zigbee devices, as sold: they
# publish Zigbee2MQTT state on zigbee2mqtt/<device id>; the demo's first leak is in the first.
DEMO_ZIGBEE_HOUSEHOLDS = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--households", type=positive_int, default=20,
                        help="households in the simulated community (default 20)")
    parser.add_argument("--speed", type=positive_float, default=60.0,
                        help="simulated seconds per real second (default 60: an hour a minute)")
    parser.add_argument("--seed", type=int, default=7, help="community and incident seed")
    parser.add_argument("--population", choices=sorted(POPULATIONS), default="diverse",
                        help="households' habits and devices' reporting: diverse (default: "
                             "bedtimes 20:00-01:00, check-ins every minute to every day, lossy "
                             "radios; the detectors learn each home and device) or default")
    parser.add_argument("--port", type=int, default=None,
                        help="API and dashboard port (default: 8000, or a free one if taken; 0: a free one)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="keep the demo's databases here (default: a temporary directory)")
    parser.add_argument("--duration", type=positive_float, default=None, metavar="SECONDS",
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--history-weeks", type=int, choices=range(0, 13), default=DEMO_HISTORY_WEEKS,
                        metavar="WEEKS",
                        help="weeks of simulated history written into the store in the "
                             "background, the wellbeing digest's baselines; one elderly "
                             "resident withdraws over the last two, and the resident living "
                             "alone who gets up least at night gets up twice every night in "
                             "the last one (default "
                             f"{DEMO_HISTORY_WEEKS}, 0: none, at most 12)")
    parser.set_defaults(func=demo)


def _port(requested: int | None) -> int:
    """The port asked for; with none, 8000 if free; with 0 or 8000 taken, a free one (the
    dashboard's address must be printable, so 0 is not handed on to the server)."""
    if requested:
        return requested
    if requested is None:
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 8000))
            return 8000
        except OSError:
            pass
    return free_port()


def _write_history(store_path: Path, community: Community, start_ms: int, end_ms: int,
                   seed: int, withdrawing: str, up_at_night: str | None,
                   withdrawal_end_ms: int) -> None:
    """The history of the demo community, in a process of its own so that simulating weeks
    does not slow the live pipeline down; progress on stdout."""
    def progress(done: int, total: int) -> None:
        print(f"[demo] wellbeing history: {done}/{total} parts stored", flush=True)

    try:
        with SqliteReadingStore(store_path) as store:
            backfill_history(store, community, start_ms, end_ms, seed=seed,
                             withdrawing={withdrawing}, withdrawal_end_ms=withdrawal_end_ms,
                             up_at_night={up_at_night} if up_at_night else set(),
                             progress=progress)
            counted = (_trips_counted(store, community.registry, up_at_night,
                                      withdrawal_end_ms) if up_at_night else "")
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the demo stops us
        return
    nights = (f", {up_at_night} got up twice every night in the last one (seldom before; "
              f"{counted})" if up_at_night else "")
    print(f"[demo] wellbeing history ready: {withdrawing} withdrew over the last two weeks"
          f"{nights} (see Wellbeing on the dashboard)", flush=True)


def _trips_counted(store: SqliteReadingStore, registry: Registry, household_id: str,
                   week_end_ms: int) -> str:
    """The trips out of bed the digest counts a night for ``household_id`` in the week
    ending at ``week_end_ms`` and in the weeks before it, from the stored sensor readings."""
    household = registry.households[household_id]
    devices = registry.household_devices(household_id)
    span = week_span(IsoWeek.at(week_end_ms - 1, ZoneInfo(household.timezone)), DEFAULT_WEEKS)
    days = daily_activity(household, {d.device_id: d for d in devices},
                          household_readings(store, household, devices, span))
    digest = household_digest(household_id, household.site, days, span)
    (night,) = (m for m in digest.metrics if m.metric.name == "night_bouts")
    if night.value is None or night.baseline is None:
        return "the digest is still learning its nights"
    kept_out = (f", {', '.join(map(str, digest.kept_out))} kept out of that baseline as a "
                "change already" if digest.kept_out else "")
    return (f"the digest counts {night.baseline:.2f} trips out of bed a night before{kept_out}, "
            f"{night.value:.2f} in {span[-1]}: {digest.status.value}")


def _usual_night_trips(weights: tuple[float, float, float]) -> float:
    """Trips out of bed a night on average, by a resident's drawn weights of 0, 1 and 2."""
    return weights[1] + 2 * weights[2]


def _start_history(pipeline: Pipeline, community: Community, start_ms: int, weeks: int,
                   seed: int) -> multiprocessing.process.BaseProcess | None:
    """Backfill ``weeks`` of history before ``start_ms`` into the embedded store, unless it
    holds readings already (a kept ``--data-dir``: history written twice would overlap
    itself)."""
    if weeks == 0 or pipeline.settings.influx_url is not None or pipeline.store.count() > 0:
        return None
    elderly_alone = [h for h in community.households if h.elderly_alone]
    withdrawing = (elderly_alone or list(community.households))[0]
    # The resident living alone who gets up least at night (by their drawn habit) gets up
    # twice every night: far more than a doubling, the night figure's visit on its own.
    alone = [(_usual_night_trips(weights), h.id) for h in community.households
             if h.lives_alone and h.id != withdrawing.id
             and (weights := h.residents[0].routine.night_trip_weights) is not None]
    up_at_night = min(alone)[1] if alone else None
    # The withdrawal ends with the last complete week, the one the digest shows first.
    zone = ZoneInfo(withdrawing.timezone)
    today = datetime.fromtimestamp(time.time(), zone).date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(), zone)
    print(f"[demo] writing {weeks} weeks of simulated history for the wellbeing digest in the "
          "background", flush=True)
    # spawn, not fork: the pipeline's threads are running.
    process = multiprocessing.get_context("spawn").Process(
        target=_write_history, name="demo-history", daemon=True,
        args=(pipeline.settings.embedded_store_path, community, start_ms - weeks * WEEK_MS,
              start_ms, seed, withdrawing.id, up_at_night, int(monday.timestamp() * 1000)))
    process.start()
    return process


def _care_example(registry: Registry) -> str:
    """One care record of the demo community, as the duty desk shows it beside an alert."""
    homes = sorted(registry.households.values(), key=lambda h: (not h.lives_alone, h.id))
    home = next((h for h in homes if h.key_holders), None)
    if home is None:
        return ""
    residents = registry.household_residents(home.id)
    who = ", ".join(f"{r.name} (born {r.birth_year}; {'; '.join(r.conditions) or '-'})"
                    for r in residents)
    call = " -> ".join(f"{p.name} {p.phone}" for p in home.responders)
    return (f"                 e.g. {home.id}, building {home.building}, unit {home.unit}: {who}\n"
            f"                 whom to call: {call}\n")


def _zigbee_devices(community: Community, zigbee: Dialect) -> dict[str, tuple[Dialect, str]]:
    """The demo's Zigbee devices: device id -> the dialect and the topic it publishes on."""
    devices = [device for household in community.households[:DEMO_ZIGBEE_HOUSEHOLDS]
               for device in (household.devices.leak, household.devices.door)]
    return {device: (zigbee, zigbee.source_topic(device)) for device in devices}


def _print_access(pipeline: Pipeline, registry: Registry, sites: list[str],
                  zigbee: dict[str, tuple[Dialect, str]]) -> None:
    tokens = TokenStore(pipeline.engine)
    officer = tokens.create(name="Demo duty officer", role="officer", sites=sites)
    admin = tokens.create(name="Demo admin", role="admin")
    elderly = next((r for r in registry.residents.values() if r.elderly), None)
    url = pipeline.api_url
    fire_min = dict(DEMO_OPENING)["fire"]
    classifier = pipeline.detection.engine.fall_classifier
    falls = ("rules (impact, stillness, posture)" if classifier is None else
             f"learned classifier ({classifier.metadata.get('model', 'model')}, threshold "
             f"{classifier.threshold:.2f}; `safehood train` makes another)\n"
             f"                 13 simulated minutes in, a resident slumps onto a sofa and "
             f"sits still; at 19, one drops their band on a table:\n"
             f"                 falls to the rules (impact, stillness, new posture), "
             f"nothing to the classifier")
    print(f"""
safehood demo is running (simulated traffic; alerts are marked as exercises)

  dashboard      {url}/ui/
  family view    {url}/ui/family.html
  wellbeing      {url}/ui/wellbeing.html   (weekly digest: who needs a visit)
  building plan  {url}/ui/building.html    (flats by floor; a fire outlines those to evacuate)
  response       {url}/ui/metrics.html     (time to acknowledge per shift; shift handover)
  API docs       {url}/docs
  a home's day   {url}/api/v1/households/{min(registry.households)}/readings?start=<RFC 3339>
                 (every device of a household in one request; the officer token below as
                 `Authorization: Bearer ...`)
  metrics        {url}/metrics
  broker         {pipeline.settings.mqtt.url}   (topics: {pipeline.settings.topic_prefix}/v1/#)
  data           {pipeline.settings.data_dir}
  notifications  printed below as [notify -> who] (each goes to a local json:// inbox);
                 an officer's carries an acknowledge link (no login: open it, press the button)
                 a confirmed fire (the opening one comes {fire_min} simulated minutes in) also
                 tells the other households of its building (their family contacts) and the
                 micro fire station [notify -> fire_station]: an evacuation message in
                 their language (see the building plan)
  webhooks       signed (HMAC-SHA256), printed below as [webhook -> city platform]
  home assistant MQTT discovery on {pipeline.settings.mqtt.url}: in Home Assistant add the
                 MQTT integration with this broker; each household appears as a device
                 (topics {pipeline.settings.home_assistant_discovery_prefix}/binary_sensor/#)
  falls          {falls}
  duty desk      open an alert: the care record (age, conditions, whom to call in order,
                 key holders), an incident log (call, dispatch, 119/120), resolve with a
                 cause; every time is on the site's simulated clock ("Simulated time")
{_care_example(registry)}
  zigbee2mqtt    {', '.join(sorted(zigbee))} speak Zigbee2MQTT
                 ({next(iter(zigbee.values()))[1]} ...; README: Devices as they are sold)
  scale out      one process here; `safehood run --engine nats` spreads ingest and
                 detectors over machines (README: Scale-out on NATS JetStream)
  offline        the same detectors over a recording, with no servers: `safehood simulate
                 --out rec --sites 2` then `safehood detect --registry rec/registry.json
                 --input rec/traffic.jsonl --output alerts.jsonl`, its sites dealt out to a
                 process a core (`--jobs N`; README: Performance: offline detection
                 throughput and memory per device)

  duty officer token ({', '.join(sites)}):
    {officer.token}
  admin token:
    {admin.token}""")
    if elderly is not None:
        family = tokens.create(name=f"Family of {elderly.name}", role="family",
                               residents=[elderly.id])
        print(f"  family token (relative: {elderly.name}):\n    {family.token}")
        settings = pipeline.settings
        print(f"\n  a resident's data on request (README: retention, export and erase):\n"
              f"    SAFEHOOD_DATA_DIR={settings.data_dir} safehood resident export "
              f"{elderly.id} --output {elderly.id}.json\n"
              f"  kept: readings {settings.retention_readings_days} days, resolved alerts "
              f"{settings.retention_resolved_alerts_days} days")
    print("\nCtrl-C stops everything.\n", flush=True)


def demo(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="safehood-demo-"))
    port = _port(args.port)
    inbox = DemoInbox()
    broker: LocalBroker | None = None
    pipeline: Pipeline | None = None
    simulator: LiveSimulator | None = None
    history: multiprocessing.process.BaseProcess | None = None
    try:
        inbox.start()
        broker = start_local_broker(data_dir)
        policy_file = data_dir / "alert-policy.json"
        policy_file.write_bytes(orjson.dumps({"channels": {"*": {
            audience: [inbox.url(audience)]
            for audience in ("officers", "supervisor", "emergency", "fire_station")
        }}}))
        settings = load_settings(args, mqtt_url=broker.url, data_dir=data_dir, api_port=port,
                                 public_url=f"http://127.0.0.1:{port}",
                                 alert_policy_file=policy_file, home_assistant=True,
                                 webhooks=[{"name": "city-platform", "url": inbox.webhook_url,
                                            "secret": inbox.webhook_secret}])
        community = Community.generate(args.households, seed=args.seed,
                                       population=POPULATIONS[args.population])
        registry = community.registry.to_model()
        for resident in registry.residents:
            resident.contacts = [inbox.url("family", resident.id)]
        zigbee = _zigbee_devices(community, load_dialects(settings.dialects_dir)["zigbee2mqtt"])
        for device in registry.devices:
            if device.device_id in zigbee:
                device.source_topic, device.dialect = zigbee[device.device_id][1], "zigbee2mqtt"
        started_cpu_s = time.process_time()
        pipeline = build_pipeline(settings, registry_file=registry, exercise=True,
                                  fall_method="learned")
        pipeline.start()
        # Start-up is linear in the registry (README: "Performance"): imported, loaded once
        # and shared by the detectors and the API.
        print(f"[demo] pipeline started for {len(registry.devices):,} devices in "
              f"{time.process_time() - started_cpu_s:.1f} s of CPU", flush=True)
        # Accelerated event time must not run into the future (the dashboard would say an
        # alert starts "in 20 minutes"): start far enough back that it reaches the present
        # only after DEMO_CATCH_UP_S of wall time.
        now_ms = time.time_ns() // 1_000_000
        start_ms = now_ms - int(max(0.0, args.speed - 1) * DEMO_CATCH_UP_S * 1000)
        first_zigbee = community.households[0].id
        opening = tuple(ScenarioRequest(name, start_ms + minutes * 60_000,
                                        first_zigbee if name == "water_leak" else None)
                        for name, minutes in DEMO_OPENING)
        # Every scenario, routine changes included: abnormal_routine shows once each home's
        # week of warm-up has passed (under 3 hours at the default speed).
        config = SimulationConfig(seed=args.seed, rate=DEMO_INCIDENT_RATE, days=3650,
                                  start_ms=start_ms, requests=opening, scenarios=tuple(SCENARIOS),
                                  topic_prefix=settings.topic_prefix)
        simulator = LiveSimulator(community, broker.url, config=config, speed=args.speed,
                                  start_ms=start_ms, vendor_devices=zigbee)
        simulator.start()
        _print_access(pipeline, community.registry, community.sites, zigbee)
        history = _start_history(pipeline, community, start_ms, args.history_weeks, args.seed)
        _report_until_stopped(pipeline, simulator, args.duration)
    except (BrokerUnreachable, ModelError, MappingError) as exc:
        raise CommandError(str(exc)) from None
    except (OSError, RuntimeError) as exc:
        raise CommandError(f"could not start the demo: {exc}") from None
    finally:
        if history is not None and history.is_alive():
            history.terminate()
            history.join(10)
        if simulator is not None:
            simulator.stop()
        if pipeline is not None:
            pipeline.stop()
        if broker is not None:
            broker.stop()
        inbox.stop()
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


def _report_until_stopped(pipeline: Pipeline, simulator: LiveSimulator, duration: float | None) -> None:
    """Print a status line every 10 s until Ctrl-C or the duration is over."""
    deadline = None if duration is None else time.monotonic() + duration
    stop = threading.Event()
    last = 0.0
    try:
        while deadline is None or time.monotonic() < deadline:
            if simulator.error is not None:
                raise RuntimeError(f"the simulator failed: {simulator.error}")
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                stats = pipeline.ingest.stats
                open_alerts = pipeline.alerts.count(AlertQuery(
                    statuses=(AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED)))
                # What the registry costs in memory (README: "Performance"): ru_maxrss is KiB.
                peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                # MQTT receipt to alert stored (README: "Performance: the live path").
                latency = pipeline.detection.latency.percentiles_ms()
                # Detectors are made as devices need them (README: "Offline detection
                # throughput and memory per device"): about one a device that reported.
                engine = pipeline.detection.engine
                alert_latency = ("" if latency is None else
                                 f"  alert latency p50 {latency[0]:,.0f} ms p99 {latency[1]:,.0f} ms")
                # Then to its notification handed to Apprise (the notification worker).
                handover = (pipeline.handover.latency.percentiles_ms()
                            if pipeline.handover is not None else None)
                if handover is not None:
                    alert_latency += (f", then notified +{handover[0]:,.0f} ms p50 "
                                      f"+{handover[1]:,.0f} ms p99")
                # Escalations due beyond one tick's limit wait for the next tick, so that
                # new alerts never queue behind them (README: "the live path").
                backlog = pipeline.alerts.tick_backlog
                if backlog:
                    alert_latency += f"  escalations left for the next tick {backlog:,}"
                # The API's longest pause of the last minute (README: "API latency"):
                # garbage collection, the GIL held elsewhere, blocking work on its loop.
                if pipeline.api is not None:
                    alert_latency += (f"  API pauses <= "
                                      f"{pipeline.api.loop_lag.worst_s * 1000:,.0f} ms")
                # Changes made by other processes are seen by reading the registry's
                # version, one row (README: "API latency").
                poll_s = pipeline.registry.poll_cpu_s
                if poll_s is not None:
                    alert_latency += (f"  registry v{pipeline.registry.version} polled in "
                                      f"{poll_s * 1000:,.1f} ms CPU")
                # What a message costs ingest (README: "the live path").
                cpu_us = stats.cpu_us_per_message
                detect_us = pipeline.detection.cpu_us_per_message
                ingest_cpu = ""
                if cpu_us is not None:
                    # Of which the detectors (README: "Offline detection throughput") and
                    # the store's writer thread, a batch ahead of them (README: "the live path").
                    detectors = "" if detect_us is None else f", detectors {detect_us:,.0f}"
                    store_us = stats.store_cpu_s / stats.received * 1e6
                    detectors += f", store writer {store_us:,.0f}"
                    # And paho's network thread beside it (README: "the live path").
                    network_us = pipeline.source.network_cpu_us_per_message
                    network = "" if network_us is None else f"; MQTT thread {network_us:,.0f}"
                    ingest_cpu = f" ({cpu_us:,.0f} us CPU each{detectors}{network})"
                print(f"[demo] published {simulator.stats.total:,}  ingested {stats.valid:,}"
                      f"{ingest_cpu}  "
                      f"dead letters {stats.dead_letters:,}  duplicates dropped "
                      f"{stats.duplicates:,}  open alerts {open_alerts}  detectors "
                      f"{engine.detectors:,} for {len(engine.registry.devices):,} devices  "
                      f"peak memory {peak_mib:,.0f} MiB"
                      f"{alert_latency}", flush=True)
            stop.wait(0.5)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
