"""Live mode: publish a simulated community to a broker in real time or accelerated."""

from __future__ import annotations

import logging
import queue
import threading
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from safehood.config import MqttEndpoint
from safehood.dialects import Dialect
from safehood.mqtt import BrokerUnreachable, Publisher
from safehood.protocol import Label, build_topic

from ._community import Community
from ._engine import SimulationConfig, apply_due
from ._scenarios import ScenarioInstance, ScenarioQueue, plan_scenarios
from ._units import BuildingUnit, HouseholdUnit
from .const import DAY_MS, DEFAULT_CONNECTIONS, HOUR_MS

log = logging.getLogger(__name__)

_WILL_PAYLOAD = orjson.dumps({"online": False, "will": True})


@dataclass(slots=True)
class LiveStats:
    """What a live run has done so far. Read from any thread; written by the simulator's."""

    published: Counter[str] = field(default_factory=Counter)  # per channel
    radio: Counter[str] = field(default_factory=Counter)  # dropped, duplicates, retries
    wills_cut: int = 0  # connections cut so that the broker published the will
    own_connections: int = 0  # devices that got a connection of their own
    max_lag_s: float = 0.0  # how far publishing fell behind the schedule, at worst
    event_ms: int | None = None  # event time of the last message published
    unsaid: int = 0  # messages of vendor devices that their dialect has no words for

    @property
    def total(self) -> int:
        return sum(self.published.values())


class LiveSimulator:
    """Publish ``community``'s traffic to a broker as it happens.

    Event time starts at ``start_ms`` (now by default) and advances ``speed`` times faster than
    the wall clock (``speed=None`` or ``0``: as fast as possible), so that the ``ts`` in the
    payloads always matches the chosen speed. Devices share ``connections`` MQTT connections;
    a device that a ``device_offline`` scenario will take down gets a connection of its own
    with a real last will (``{"online": false}`` on its retained status topic), and the
    simulator cuts that socket without DISCONNECT, so that the broker publishes the will.
    ``vendor_devices`` (device id -> dialect and source topic) speak their vendor's dialect
    instead of contract v1: each message goes out through the dialect's mapping in reverse
    (a message the dialect cannot say, such as a door's ``open`` event beside its ``open``
    reading, is left out and counted in ``stats.unsaid``).

    Runs for ``days`` of event time, or until :meth:`stop`. Raises ``ValueError`` for a
    requested scenario that cannot happen; :meth:`start` connects first and raises
    :class:`~safehood.mqtt.BrokerUnreachable` when the broker cannot be reached.
    """

    def __init__(
        self,
        community: Community,
        broker: str | MqttEndpoint,
        *,
        config: SimulationConfig | None = None,
        speed: float | None = 1.0,
        start_ms: int | None = None,
        days: float | None = None,
        connections: int = DEFAULT_CONNECTIONS,
        client_prefix: str = "safehood-sim",
        window_ms: int = HOUR_MS,
        vendor_devices: Mapping[str, tuple[Dialect, str]] | None = None,
    ) -> None:
        if speed is not None and speed < 0:
            raise ValueError("speed must be positive (or 0 for as fast as possible)")
        if connections < 1:
            raise ValueError("at least one connection is needed")
        self.community = community
        self.endpoint = MqttEndpoint.from_url(broker) if isinstance(broker, str) else broker
        self.config = config or SimulationConfig(seed=community.seed)
        self.speed = speed or None
        self.start_ms = start_ms if start_ms is not None else int(time.time() * 1000)
        self.end_ms = None if days is None else self.start_ms + int(days * DAY_MS)
        self.connections = connections
        self.client_prefix = client_prefix
        self.window_ms = window_ms
        self.vendor_devices = dict(vendor_devices or {})
        if self.config.requests:
            # Refuse impossible requests now rather than from the generating thread later.
            last = max(r.at_ms for r in self.config.requests)
            plan_scenarios(community, seed=self.config.seed, start_ms=self.start_ms,
                           end_ms=max(last + 1, self.start_ms + 1), names=(), rate=0.0,
                           requests=self.config.requests)
            if self.end_ms is not None and last >= self.end_ms:
                raise ValueError("a requested scenario is after the end of the run")
        self.stats = LiveStats()
        self.labels: list[Label] = []
        self.notes: list[str] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._queue: queue.Queue[tuple[list[bytes], list[dict[str, Any]]] | None] = queue.Queue(2)
        self._shared: list[Publisher] = []
        self._own: dict[str, Publisher] = {}
        self._will_devices: set[str] = set()
        self._to_connect: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._cutters: list[threading.Thread] = []
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Connect and start publishing in background threads."""
        try:
            for i in range(self.connections):
                self._shared.append(Publisher(
                    self.endpoint, f"{self.client_prefix}-{self.config.seed}-{i}",
                    protocol=self._shared[0].protocol if self._shared else "auto"))
        except BrokerUnreachable:
            for connection in self._shared:
                connection.close()
            self._shared = []
            raise
        self._threads = [
            threading.Thread(target=self._guard(self._produce), name="sim-produce", daemon=True),
            threading.Thread(target=self._guard(self._publish), name="sim-publish", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop publishing and disconnect (cleanly: no will is published by stopping)."""
        self._stop.set()
        self.join()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end (its days done, or stopped); True when it has ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return not any(t.is_alive() for t in self._threads)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def __enter__(self) -> LiveSimulator:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _guard(self, target: Any) -> Any:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # reported through .error; the other thread stops
                log.exception("live simulator failed")
                self.error = exc
                self._stop.set()
        return run

    # -- generation ------------------------------------------------------------------------

    def _produce(self) -> None:
        config = self.config
        community = self.community
        timezone = community.households[0].timezone
        units: list[BuildingUnit | HouseholdUnit] = [
            BuildingUnit(b, config.seed, config.radio, config.topic_prefix, self.start_ms,
                         self.end_ms, timezone)
            for b in community.buildings
        ]
        units.extend(
            HouseholdUnit(h, config.seed, config.radio, config.topic_prefix, self.start_ms,
                          self.end_ms)
            for h in community.households
        )
        scenarios = {h.id: ScenarioQueue() for h in community.households}
        planned_days = 0
        a = self.start_ms
        while not self._stop.is_set() and (self.end_ms is None or a < self.end_ms):
            b = a + self.window_ms if self.end_ms is None else min(a + self.window_ms, self.end_ms)
            # Plan a day ahead: a scenario must be applied before the traffic it cuts into.
            while self.start_ms + planned_days * DAY_MS < b + DAY_MS:
                if self.end_ms is not None and self.start_ms + planned_days * DAY_MS >= self.end_ms:
                    break
                for inst in self._plan_day(planned_days):
                    scenarios[inst.household].add(inst)
                planned_days += 1
            lines: list[bytes] = []
            labels: list[dict[str, Any]] = []
            radio: Counter[str] = Counter()
            for unit in units:
                if isinstance(unit, HouseholdUnit):
                    apply_due(unit, scenarios[unit.spec.id], b)
                unit_lines, unit_labels = unit.run(a, b)
                lines.extend(unit_lines)
                labels.extend(unit_labels)
                radio.update({k: unit.stats[k] for k in ("dropped", "duplicates", "retries")})
                for k in ("dropped", "duplicates", "retries"):
                    unit.stats[k] = 0
            lines.sort()
            with self._lock:
                self.stats.radio.update(radio)
            while not self._stop.is_set():
                try:
                    self._queue.put((lines, labels), timeout=0.2)
                    break
                except queue.Full:
                    continue
            a = b
        while True:
            try:
                self._queue.put(None, timeout=0.2)
                return
            except queue.Full:
                if self._stop.is_set():
                    return

    def _plan_day(self, day: int) -> list[ScenarioInstance]:
        config = self.config
        a = self.start_ms + day * DAY_MS
        b = a + DAY_MS if self.end_ms is None else min(a + DAY_MS, self.end_ms)
        requests = [r for r in config.requests if a <= r.at_ms < b]
        instances, notes = plan_scenarios(
            self.community, seed=config.seed + day, start_ms=a, end_ms=b,
            names=config.scenarios, rate=config.rate, requests=requests,
            first_index=day * 1_000_000, each_once=day == 0,
        )
        self.notes.extend(notes)
        sites = {h.id: h.site for h in self.community.households}
        for inst in instances:
            if inst.name == "device_offline" and inst.device is not None:
                self._will_devices.add(inst.device)
                topic = build_topic(sites[inst.household], inst.device, "status",
                                    config.topic_prefix)
                self._to_connect.put((inst.device, topic))
        return instances

    # -- publishing ------------------------------------------------------------------------

    def _publish(self) -> None:
        wall0: float | None = None
        try:
            while True:
                try:
                    item = self._queue.get(timeout=0.2)
                except queue.Empty:
                    # Stopped, or the producer failed before it could say it was done.
                    if self._stop.is_set():
                        return
                    continue
                if item is None:
                    return
                if wall0 is None:
                    # The clock starts with the first traffic, not with the set-up before it.
                    wall0 = time.monotonic()
                lines, labels = item
                # Devices that will lose their connection get it now, not when they first
                # publish: connecting takes a round trip that would delay everything else.
                while not self._to_connect.empty():
                    self._connection(*self._to_connect.get())
                for line in lines:
                    publish_ms = int(line[:13])
                    if self.speed is not None:
                        delay = wall0 + (publish_ms - self.start_ms) / 1000 / self.speed - time.monotonic()
                        if delay > 0:
                            if self._stop.wait(delay):
                                return
                        elif -delay > self.stats.max_lag_s:
                            self.stats.max_lag_s = -delay
                    elif self._stop.is_set():
                        return
                    self._send(line)
                with self._lock:
                    self.labels.extend(Label.model_validate(label) for label in labels)
        finally:
            for cutter in self._cutters:
                cutter.join(10)
            for connection in [*self._shared, *self._own.values()]:
                try:
                    connection.close()
                except Exception:  # closing what may already be gone
                    log.debug("closing %s failed", connection.client_id, exc_info=True)

    def _send(self, line: bytes) -> None:
        record = orjson.loads(line[13:])
        topic: str = record["topic"]
        payload: dict[str, Any] = record["payload"]
        device_id, channel = topic.rsplit("/", 2)[-2:]
        if channel == "status" and payload.get("will") is True and device_id in self._will_devices:
            # The device is on a connection of its own (opened now if it has not sent anything
            # yet); cutting it makes the broker publish the will.
            self._connection(device_id, topic)
            # Stopping paho's network thread takes up to a second: cut beside the schedule.
            cutter = threading.Thread(target=self._own.pop(device_id).cut, name="sim-cut",
                                      daemon=True)
            cutter.start()
            self._cutters.append(cutter)
            self.stats.wills_cut += 1
            return
        connection = self._connection(device_id, topic)
        vendor = self.vendor_devices.get(device_id)
        if vendor is not None:
            said = self._vendor_message(*vendor, channel, payload)
            if said is None:
                self.stats.unsaid += 1
                return
            topic, body, retain = said
            connection.publish(topic, body, retain=retain)
        else:
            connection.publish(topic, orjson.dumps(payload), retain=bool(record.get("retain")))
        self.stats.published[channel] += 1
        ts = payload.get("ts")
        if isinstance(ts, int):
            self.stats.event_ms = ts

    @staticmethod
    def _vendor_message(dialect: Dialect, source_topic: str, channel: str,
                        payload: dict[str, Any]) -> tuple[str, bytes, bool] | None:
        """A contract message as the vendor device would publish it: topic, payload, retain."""
        if channel == "status" and "battery" not in payload:
            availability = dialect.availability_topic(source_topic)
            body = dialect.encode_availability(bool(payload.get("online")))
            if availability is None or body is None:
                return None
            return availability, body, True
        document = dialect.encode(channel, payload)
        return None if document is None else (source_topic, orjson.dumps(document), False)

    def _connection(self, device_id: str, topic: str) -> Publisher:
        if device_id in self._will_devices:
            own = self._own.get(device_id)
            if own is None:
                status_topic = topic.rsplit("/", 1)[0] + "/status"
                own = Publisher(self.endpoint, f"{self.client_prefix}-{device_id}",
                                protocol=self._shared[0].protocol,
                                will=(status_topic, _WILL_PAYLOAD))
                self._own[device_id] = own
                self.stats.own_connections += 1
            return own
        return self._shared[zlib.crc32(device_id.encode()) % len(self._shared)]
