"""The detector worker: holds the pinned consumers of some partitions, runs one
:class:`~detectors.DetectorEngine` per site of them, and writes decisions to alerting with
idempotent keys.

Exactly-once effects from at-least-once delivery, per batch of a partition:

1. each reading goes to its site's engine; its decisions get a key by what they are and
   their event time (see ``_keyed``) and are applied (the alert database skips a key it
   has);
2. each site touched is checkpointed in NATS KV under ``{partition}.{site}``: its engine
   (pickled), the last stream sequence applied and its event time;
3. the batch is acknowledged.

A worker that dies anywhere in between leaves the batch unacknowledged; the instance the
server pins next restores every site of the partition from KV (a site silent since
before the takeover too: the wall clock carries it on), skips what the checkpoint says was applied
and reads from the stream what the checkpoint lacks before the batch (see ``_missed``),
and a decision applied after the last checkpoint is replayed with the same key and changes
nothing.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import io
import logging
import pickle
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import cloudpickle
import nats
from nats.aio.msg import Msg
from nats.js.kv import KeyValue

from safehood.alerting import AlertManager
from safehood.detectors import DetectorConfig, DetectorEngine
from safehood.learning import FallClassifier
from safehood.protocol import AlertDecision, ContractViolation, Registry, parse_message

from . import const
from ._jetstream import JetStreamConnection, ScaleOutError, reading_topic
from ._pinned import PinnedConsumer

log = logging.getLogger(__name__)

_TICK_S = 1.0
# A call into the connection's loop from a batch's thread: a loop stopped under it (a killed
# worker) must not keep that thread, and the process, waiting forever.
_CALL_TIMEOUT_S = const.JETSTREAM_API_TIMEOUT_S + 5
_REGISTRY = "registry"
_CLASSIFIER = "fall-classifier"
_CONFIG = "detector-config"


@dataclass(slots=True)
class SiteState:
    """A site's detectors, the last stream sequence applied to them, and the site's event
    time: its newest reading's and the wall clock when that was applied (ticks carry a
    silent site's time on with the wall clock, as the single-process pipeline does)."""

    engine: DetectorEngine
    last_seq: int
    event_ms: int | None = None
    wall_ms: int = 0
    # The KV revision this state was read or last written at (0: not in KV yet): writes are
    # conditional on it, so an instance that lost the partition cannot overwrite the state
    # of the one that took it over.
    revision: int = 0
    # The registry the engine is bound to (None: restored, bound to none yet).
    registry: Registry | None = None
    # Whether the next reading delivered follows last_seq with none of the site's between
    # (see DetectorWorker._missed): checked after a restore, a jump in deliveries and a
    # redelivery.
    contiguous: bool = False


def _keyed(decision: AlertDecision) -> AlertDecision:
    """``decision`` with its idempotent key: what it is and its event time, which every
    instance computes alike on every path. A timer's decision (its deadline as its time)
    may come from a tick on one instance and, replayed from an older checkpoint on
    another, from the reading after the deadline: a key by stream position would differ
    between the two, and the replayed raise would open a second alert."""
    return replace(decision, key=f"{decision.type}/{decision.subject}/{decision.action}/"
                                 f"{decision.ts_ms}/{decision.device_id or ''}")


class _Pickler(cloudpickle.Pickler):
    """Pickles a site's engine without the registry, model, config and rules every worker
    has (cloudpickle: the rules' detectors hold lambdas, which plain pickle refuses). Any
    registry, the current or one replaced since, is restored as the current one."""

    def __init__(self, file: io.BytesIO, shared: dict[int, str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._shared = shared

    def persistent_id(self, obj: Any) -> str | None:
        if type(obj) is Registry:
            return _REGISTRY
        return self._shared.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, shared: dict[str, Any]) -> None:
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: Any) -> Any:
        return self._shared[pid]


class _WorkerLog(logging.LoggerAdapter[logging.Logger]):
    """Says which worker logs: several may share a process (the tests) or a log."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"worker {self.extra['worker'] if self.extra else '?'}: {msg}", kwargs


class DetectorWorker:
    """One detector worker: call :meth:`start`, then :meth:`stop` (a clean stop unpins its
    partitions at once) or :meth:`kill` (as a crash: nothing more is acknowledged).

    ``alerts`` is the manager on the shared alert database; its subscribers (the
    notification dispatcher) see each change once across all workers.
    """

    def __init__(self, connection: JetStreamConnection, alerts: AlertManager, registry: Registry,
                 config: DetectorConfig, *, topic_prefix: str, partitions: int,
                 pin_timeout_s: float = 5.0, fall_classifier: FallClassifier | None = None,
                 clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._connection = connection
        self._alerts = alerts
        self._registry = registry
        self._config = config
        self._topic_prefix = topic_prefix
        self._partitions = partitions
        self._clock = clock
        if config.fall.method == "learned" and fall_classifier is None:
            fall_classifier = FallClassifier.load(config.fall.model)
        self._fall_classifier = fall_classifier
        self._sites: dict[str, SiteState] = {}
        self._sites_of: dict[int, set[str]] = {}
        self._bucket: KeyValue | None = None
        self._tasks: list[concurrent.futures.Future[None]] = []
        self._stopping = threading.Event()
        self._pin_timeout_s = pin_timeout_s
        self._id = uuid.uuid4().hex[:12]
        self._log = _WorkerLog(log, {"worker": self._id[:6]})
        # The live workers as last counted, and when (loop time); None while this worker's
        # own heartbeat fails: the count it has may still hold a worker that died since.
        self._members: tuple[int, float] | None = None
        # Partitions given up to rebalance: not asked for again until then (loop time).
        self._yielded_until: dict[int, float] = {}
        # Per partition, the consumer sequence of the last delivery taken here: deliveries
        # are numbered one by one, so a jump means some went to another instance or were
        # lost on the way (a connection that dropped with a pull out); they come again
        # later, after newer ones.
        self._last_delivery: dict[int, int] = {}
        # Partitions whose readings may be out with someone (another instance's batch, a
        # redelivery on its way) as far as this instance knows: no wall-clock tick until
        # the consumer says nothing is (see _settled).
        self._unsettled: set[int] = set()
        self.applied = 0
        self.pinned: set[int] = set()

    @property
    def id(self) -> str:
        """This worker's key in the membership bucket; its logs name its first 6 characters."""
        return self._id

    def update_registry(self, registry: Registry) -> None:
        """Use ``registry`` from now on (thread safe): each site's detectors are rebound
        to it before their next reading or tick."""
        self._registry = registry

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._bucket = self._connection.run(
            self._connection.jetstream.key_value(const.STATE_BUCKET))
        self._tasks.append(asyncio.run_coroutine_threadsafe(
            self._heartbeat(), self._connection.loop))
        for partition in range(self._partitions):
            consumer = PinnedConsumer(self._connection.client, const.READINGS_STREAM,
                                      const.DETECTOR_CONSUMER.format(partition=partition),
                                      const.DETECTOR_GROUP)
            self._tasks.append(asyncio.run_coroutine_threadsafe(
                self._run_partition(partition, consumer), self._connection.loop))

    def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            try:
                task.result(timeout=const.FETCH_EXPIRES_S + 15)
            except Exception:
                self._log.exception("a partition task of the detector worker failed")

    def kill(self) -> None:
        """Stop as a crash would: pending work is dropped unacknowledged, pins are kept
        until the server's priority timeout moves them."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()

    # -- one partition -----------------------------------------------------------------

    async def _run_partition(self, partition: int, consumer: PinnedConsumer) -> None:
        loop = asyncio.get_running_loop()
        last_tick = loop.time()
        self._unsettled.add(partition)
        try:
            while not self._stopping.is_set():
                wait = self._yielded_until.get(partition, 0.0) - loop.time()
                if wait > 0:
                    await asyncio.sleep(min(wait, const.FETCH_EXPIRES_S))
                    continue
                try:
                    pulled = await consumer.pull(const.FETCH_BATCH, const.FETCH_EXPIRES_S)
                except (nats.errors.Error, OSError) as exc:
                    self._log.warning("partition %d: pull failed (%s); asking again", partition, exc)
                    await asyncio.sleep(0.2)
                    continue
                if not pulled.pinned or pulled.new_pin:
                    # Whatever we hold of the partition may be stale: restore from KV.
                    self._forget(partition, force=pulled.new_pin)
                    self._unsettled.add(partition)
                # More than our share: give this one up once what we pulled of it is applied
                # and acknowledged. Handed back unapplied, it would reach the next instance
                # after newer readings it may already have taken, and be skipped there as
                # applied (a site then looks silent for the whole batch).
                surplus = partition in self.pinned and self._surplus(partition, loop.time())
                # Readings of the partition still waiting in the stream after this batch:
                # until they are applied, the wall clock must not carry its sites' time past
                # them (a door's closing on its way would come after its door_left_open).
                behind = bool(pulled.messages) and pulled.messages[-1].metadata.num_pending > 0
                try:
                    if pulled.messages:
                        if partition not in self.pinned:
                            self._log.info("partition %d: held here from stream sequence %d",
                                           partition, pulled.messages[0].metadata.sequence.stream)
                            # Its sites silent since before the takeover send nothing to be
                            # restored by: without them here, no tick would carry them on.
                            await loop.run_in_executor(None, self._adopt, partition)
                        self.pinned.add(partition)
                        dumps = await loop.run_in_executor(
                            None, self._apply_batch, partition, pulled.messages)
                        if await self._checkpoint(partition, dumps):
                            for message in pulled.messages:
                                await message.ack()
                        else:
                            # Another instance took a site over: the batch goes to it.
                            for message in pulled.messages:
                                await message.nak()
                    if surplus and await self._waited_for(partition):
                        self._log.info("partition %d: given up, %d held among %s workers",
                                       partition, len(self.pinned),
                                       self._members[0] if self._members else "?")
                        # Stay away long enough for a waiting instance to be pinned.
                        self._forget(partition)
                        await consumer.unpin()
                        self._yielded_until[partition] = loop.time() + 2 * self._pin_timeout_s
                        continue
                    if partition in self.pinned and not behind \
                            and loop.time() - last_tick >= _TICK_S:
                        last_tick = loop.time()
                        if await self._settled(partition):
                            await self._checkpoint(partition, await loop.run_in_executor(
                                None, self._tick, partition))
                except Exception as exc:
                    # NATS failing over, the database away: start the batch again from the
                    # last checkpoint (decisions already applied are keyed: no repeats).
                    self._log.warning("partition %d: batch failed (%r); taking it again", partition, exc)
                    self._forget(partition, force=True)
                    self._unsettled.add(partition)
                    # At once, no delay: redeliveries go out before newer readings, so the
                    # site's order holds.
                    for message in pulled.messages:
                        with contextlib.suppress(Exception):
                            await message.nak()
                    await asyncio.sleep(0.5)
            await consumer.unpin()
        except asyncio.CancelledError:
            raise
        except Exception:
            self._log.exception("partition %d: detector worker failed", partition)
            raise

    async def _settled(self, partition: int) -> bool:
        """Whether no reading of the partition is out with anyone (delivered and not yet
        acknowledged): only then may the wall clock carry its sites' time on. A batch that
        failed here, or a dead holder's, comes back after newer readings may have been
        applied and ticked past it (a door's closing after its ``door_left_open``)."""
        if partition not in self._unsettled:
            return True
        info = await self._consumer_info(partition)
        # Our own acknowledgements may not have reached the consumer yet: asked again at
        # the next tick.
        if info is not None and info.get("num_ack_pending", 0) == 0:
            self._unsettled.discard(partition)
        return partition not in self._unsettled

    async def _waited_for(self, partition: int) -> bool:
        """Whether another worker asks for the partition now (a pull request waits): only
        then is a surplus given up. A count of members still holds a worker that died
        until its key's TTL runs out, and a takeover of its partitions comes about then:
        given up to nobody, a partition would wait twice the pin timeout."""
        info = await self._consumer_info(partition)
        return info is not None and int(info.get("num_waiting", 0)) > 0

    async def _consumer_info(self, partition: int) -> dict[str, Any] | None:
        """The partition's consumer as the server has it; None when it does not answer."""
        consumer = const.DETECTOR_CONSUMER.format(partition=partition)
        try:
            return await self._connection.api(f"CONSUMER.INFO.{const.READINGS_STREAM}.{consumer}")
        except (ScaleOutError, nats.errors.Error, OSError) as exc:
            self._log.info("partition %d: consumer info failed (%s)", partition, exc)
            return None

    def _surplus(self, partition: int, now: float) -> bool:
        """Whether to give ``partition`` up: we hold more than our share of the partitions
        among the live workers, and it is our highest-numbered one. Only on a count newer
        than a member key's TTL: an older one (our heartbeat failing while NATS fails over)
        may hold a worker that died since, and what we gave up would wait for nobody."""
        if self._members is None or now - self._members[1] > const.MEMBER_TTL_S:
            return False
        share = -(-self._partitions // self._members[0])
        return len(self.pinned) > share and partition == max(self.pinned)

    async def _heartbeat(self) -> None:
        """Keep this worker's key in the membership bucket (its TTL drops dead workers)
        and count the live ones."""
        members = await self._connection.jetstream.key_value(const.MEMBERS_BUCKET)
        while not self._stopping.is_set():
            await self._beat(members)
            await asyncio.sleep(const.HEARTBEAT_S)
        with contextlib.suppress(Exception):
            await members.delete(self._id)

    async def _beat(self, members: KeyValue) -> None:
        """Renew this worker's key and count the live workers; the count is unknown when
        either fails."""
        try:
            await members.put(self._id, b"1")
            self._members = (max(1, len(await members.keys())), asyncio.get_running_loop().time())
        except Exception as exc:
            self._members = None
            self._log.warning("membership heartbeat failed: %s", exc)

    def _forget(self, partition: int, force: bool = False) -> None:
        """Another instance holds (or held) the partition: its sites' state here is stale."""
        if partition in self.pinned or force:
            if partition in self.pinned:
                self._log.info("partition %d: no longer held here", partition)
            self.pinned.discard(partition)
            for site in self._sites_of.pop(partition, set()):
                self._sites.pop(site, None)

    def _unverify(self, partition: int) -> None:
        """Check each site of the partition against the stream before its next reading."""
        for site in self._sites_of.get(partition, ()):
            state = self._sites.get(site)
            if state is not None:
                state.contiguous = False

    def _apply_batch(self, partition: int, messages: Sequence[Msg]) -> dict[str, bytes]:
        """Apply ``messages`` to their sites' detectors, each site's readings in stream
        order: those of a site the batch skips over are read from the stream first. Returns
        the checkpoints of the sites it changed."""
        touched: set[str] = set()
        decisions: list[AlertDecision] = []
        received_ms = self._clock()
        redelivered: bool | None = None
        for message in messages:
            metadata = message.metadata
            sequence = metadata.sequence.stream
            again = metadata.num_delivered > 1
            delivery = metadata.sequence.consumer
            last_delivery = self._last_delivery.get(partition)
            jumped = last_delivery is not None and delivery != last_delivery + 1
            self._last_delivery[partition] = delivery
            if jumped or (redelivered is not None and again != redelivered):
                # Deliveries that went elsewhere or were lost, or redeliveries and first
                # deliveries in one batch: readings before this one may still be out with
                # another instance (a batch it holds): check each site against the stream.
                self._unverify(partition)
            if jumped or again:
                self._unsettled.add(partition)
            redelivered = again
            topic, site = reading_topic(message.subject, self._topic_prefix)
            state = self._site(partition, site)
            if sequence <= state.last_seq:
                continue  # applied before the last takeover
            if again or not state.contiguous:
                for missed in self._missed(partition, site, state.last_seq, sequence):
                    decisions += self._apply_one(state, *missed, received_ms)
            # A redelivery comes from a batch handed back (a failed one, a dead holder's)
            # in pieces as each one's wait runs out, and newer first deliveries may come
            # before the rest of it: the site's next reading is checked again.
            state.contiguous = not again
            decisions += self._apply_one(state, sequence, topic, message.data, received_ms)
            touched.add(site)
        self._apply(decisions)
        return self._dumps(touched)

    def _apply_one(self, state: SiteState, sequence: int, topic: str, data: bytes,
                   received_ms: int) -> list[AlertDecision]:
        state.last_seq = sequence
        try:
            reading = parse_message(topic, data, received_ms, self._registry, self._topic_prefix)
        except ContractViolation:
            return []  # ingest dead-letters it
        if not reading.ts_from_receipt and (state.event_ms is None
                                            or reading.ts_ms >= state.event_ms):
            state.event_ms, state.wall_ms = reading.ts_ms, received_ms
        return [_keyed(decision) for decision in state.engine.process_one(reading)]

    def _missed(self, partition: int, site: str, last_seq: int,
                sequence: int) -> list[tuple[int, str, bytes]]:
        """The site's readings in the stream after ``last_seq`` and before ``sequence``
        (stream sequence, MQTT topic, payload). After a takeover there may be some: with fewer
        than a full batch out, the server hands newer readings to the new holder while the
        one that had the partition still holds older ones, unacknowledged and maybe not
        checkpointed; deliveries are lost with a node; a KV leader elected a moment ago may
        answer with an older state. Applied without them, the site would look silent in
        between (a false ``site_offline``)."""
        subject = f"{const.READINGS_SUBJECT}.{partition}.{site}.>"

        async def read() -> list[tuple[int, str, bytes]]:
            found: list[tuple[int, str, bytes]] = []
            after = last_seq
            while True:
                try:
                    answer = await self._connection.api(
                        f"STREAM.MSG.GET.{const.READINGS_STREAM}",
                        {"seq": after + 1, "next_by_subj": subject})
                except ScaleOutError as exc:
                    if "no message found" in str(exc):
                        # The stream holds ``sequence``: a leader that has not caught up
                        # answered. The batch is taken again.
                        raise ScaleOutError(f"{const.READINGS_STREAM} answered from behind "
                                            f"sequence {sequence}") from exc
                    raise
                message = answer["message"]
                after = int(message["seq"])
                if after >= sequence:
                    return found
                topic, _ = reading_topic(message["subject"], self._topic_prefix)
                found.append((after, topic, base64.b64decode(message.get("data", ""))))

        missed = self._connection.run(read(), 4 * _CALL_TIMEOUT_S)
        if missed:
            self._log.info("site %s: %d readings before stream sequence %d read from the stream",
                     site, len(missed), sequence)
        return missed

    def _tick(self, partition: int) -> dict[str, bytes]:
        """Move the event time of the partition's sites on with the wall clock; fire timers."""
        now_ms = self._clock()
        decisions: list[AlertDecision] = []
        touched: set[str] = set()
        latest = 0
        for site in sorted(self._sites_of.get(partition, ())):
            state = self._sites[site]
            if state.event_ms is None:
                continue
            self._bind(state)
            event_now = state.event_ms + max(0, now_ms - state.wall_ms)
            latest = max(latest, event_now)
            fired = state.engine.advance(event_now, site)
            if fired:
                touched.add(site)
            decisions += [_keyed(decision) for decision in fired]
        self._apply(decisions)
        if latest:
            self._alerts.tick(latest)
        return self._dumps(touched)

    def _apply(self, decisions: list[AlertDecision]) -> None:
        if decisions:
            self._alerts.apply(decisions)
            self.applied += len(decisions)

    def _site(self, partition: int, site: str) -> SiteState:
        state = self._sites.get(site)
        if state is None:
            checkpoint = self._connection.run(self._fetch(partition, site), _CALL_TIMEOUT_S)
            state = self._add_site(partition, site, self._loaded(*checkpoint))
        self._bind(state)
        return state

    def _add_site(self, partition: int, site: str, restored: SiteState | None) -> SiteState:
        """Hold ``site`` here: as restored from its checkpoint, or new."""
        state = restored or self._new_state()
        self._sites[site] = state
        self._sites_of.setdefault(partition, set()).add(site)
        return state

    def _bind(self, state: SiteState) -> None:
        """Rebind the site's detectors when the registry changed (or was restored with
        them) since they were last bound: a new device's readings reach its detectors."""
        registry = self._registry
        if state.registry is not registry:
            state.engine.update_registry(registry)
            state.registry = registry

    def _new_state(self) -> SiteState:
        registry = self._registry
        return SiteState(DetectorEngine(registry, self._config,
                                        fall_classifier=self._fall_classifier), 0,
                         registry=registry)

    # -- checkpoints -------------------------------------------------------------------

    def _shared(self) -> dict[str, Any]:
        return {_REGISTRY: self._registry, _CLASSIFIER: self._fall_classifier,
                _CONFIG: self._config}

    def _dump(self, state: SiteState) -> bytes:
        buffer = io.BytesIO()
        shared = {id(value): key for key, value in self._shared().items() if value is not None}
        _Pickler(buffer, shared).dump((state.last_seq, state.event_ms, state.wall_ms,
                                       state.engine))
        return buffer.getvalue()

    def _adopt(self, partition: int) -> None:
        """Restore every site of ``partition`` that has a checkpoint (called in a batch's
        thread when the partition comes to this instance)."""
        prefix = f"$KV.{const.STATE_BUCKET}.{partition}."

        async def listed() -> list[str]:
            sites: list[str] = []
            while True:
                # Paged by the server (STREAM.INFO's subjects_filter answers a limit a time).
                answer = await self._connection.api(
                    f"STREAM.INFO.KV_{const.STATE_BUCKET}",
                    {"subjects_filter": f"{prefix}*", "offset": len(sites)})
                subjects = (answer.get("state") or {}).get("subjects") or {}
                sites += [subject.removeprefix(prefix) for subject in subjects]
                if not subjects or len(sites) >= int(answer.get("total", 0)):
                    return sites

        sites = [site for site in self._connection.run(listed(), 4 * _CALL_TIMEOUT_S)
                 if site not in self._sites]

        async def fetched() -> list[tuple[bytes | None, int]]:
            # All at once: one round trip a site, one after the other, would take seconds
            # at a few thousand sites a partition.
            return await asyncio.gather(*(self._fetch(partition, site) for site in sites))

        for site, (value, revision) in zip(
                sites, self._connection.run(fetched(), 4 * _CALL_TIMEOUT_S), strict=True):
            self._add_site(partition, site, self._loaded(value, revision))
        if sites:
            self._log.info("partition %d: %d sites restored", partition, len(sites))

    async def _fetch(self, partition: int, site: str) -> tuple[bytes | None, int]:
        """The site's checkpoint and its KV revision (``None, 0`` when it has none)."""
        # From the stream's leader, not nats-py's direct get: a replica that lags would
        # hand out an older state than the one the readings were acknowledged against.
        try:
            answer = await self._connection.api(
                f"STREAM.MSG.GET.KV_{const.STATE_BUCKET}",
                {"last_by_subj": f"$KV.{const.STATE_BUCKET}.{partition}.{site}"})
        except ScaleOutError as exc:
            if "no message found" in str(exc):
                return None, 0
            raise
        message = answer["message"]
        return base64.b64decode(message.get("data", "")), int(message["seq"])

    def _loaded(self, value: bytes | None, revision: int) -> SiteState | None:
        """The state a checkpoint holds (``None`` for none)."""
        if not value:
            return None
        last_seq, event_ms, wall_ms, engine = _Unpickler(io.BytesIO(value), self._shared()).load()
        return SiteState(engine, last_seq, event_ms, wall_ms, revision=revision)

    def _dumps(self, sites: set[str]) -> dict[str, bytes]:
        """Each site's state as its checkpoint; called in the batch's thread, so that
        pickling (most of a worker's time) does not hold up the other partitions' I/O."""
        return {site: self._dump(self._sites[site]) for site in sites if site in self._sites}

    async def _checkpoint(self, partition: int, dumps: dict[str, bytes]) -> bool:
        """Write each site's checkpoint (sites of ``partition``), all at once; ``False``
        when a site was taken over meanwhile."""
        assert self._bucket is not None
        bucket = self._bucket

        async def write(site: str, value: bytes) -> bool:
            state = self._sites.get(site)
            if state is None:
                return True
            try:
                if state.revision == 0:
                    state.revision = await bucket.create(f"{partition}.{site}", value)
                else:
                    state.revision = await bucket.update(f"{partition}.{site}", value,
                                                         last=state.revision)
            except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.APIError):
                # Another instance has taken the site over: our copy is stale.
                self._log.info("site %s was taken over; dropping its state here", site)
                self._sites.pop(site, None)
                for sites_of in self._sites_of.values():
                    sites_of.discard(site)
                return False
            return True

        return all(await asyncio.gather(*(write(site, value) for site, value in dumps.items())))
