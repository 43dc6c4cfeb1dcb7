"""The detector worker's loop over one partition, fed a scripted sequence of pulls (stream
positions, pending counts) instead of a NATS cluster: what it applies, skips and ticks."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import itertools
from collections.abc import Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import nats
import orjson
import pytest

from safehood.alerting import AlertManager, AlertQuery, InMemoryAlertRepository
from safehood.detectors import DetectorConfig
from safehood.protocol import Registry
from safehood.scaleout import _detector_worker
from safehood.scaleout._detector_worker import DetectorWorker
from safehood.scaleout._jetstream import ScaleOutError
from safehood.scaleout._pinned import Pulled

SITE = "s1"
DOOR = "h1-door"
OTHER_SITE = "s2"
OTHER_DOOR = "h2-door"
T0 = 1_772_410_500_000
HOUR_MS = 3_600_000
REGISTRY = Registry.from_data({
    "households": [{"id": "h1", "site": SITE, "lives_alone": False},
                   {"id": "h2", "site": OTHER_SITE, "lives_alone": False}],
    "residents": [],
    "devices": [{"device_id": DOOR, "site": SITE, "kind": "door", "household": "h1"},
                {"device_id": OTHER_DOOR, "site": OTHER_SITE, "kind": "door",
                 "household": "h2"}]})


class Delivery:
    """A message as the pinned consumer hands it out: stream and consumer sequence (the
    stream's unless told), how many of the partition's readings wait in the stream after
    it, and whether it was delivered before (to a holder that died or failed)."""

    def __init__(self, stream_seq: int, event: str, ts_ms: int, num_pending: int,
                 redelivered: bool = False, consumer_seq: int | None = None,
                 site: str = SITE, door: str = DOOR) -> None:
        # "open" and "close" are events; "still-open" is the contact's periodic reading.
        channel = "telemetry" if event == "still-open" else "event"
        payload = ({"open": True} if channel == "telemetry" else {"event": event})
        self.subject = f"sh.0.{site}.{door}.{channel}"
        self.data = orjson.dumps({"ts": ts_ms, "kind": "door", **payload})
        self.metadata = SimpleNamespace(
            sequence=SimpleNamespace(stream=stream_seq, consumer=consumer_seq or stream_seq),
            num_delivered=2 if redelivered else 1, num_pending=num_pending)
        self.acked = False

    async def ack(self) -> None:
        self.acked = True

    async def nak(self) -> None:
        pass


class ScriptedConsumer:
    """Hands out one scripted batch per pull, then stops the worker. A redelivery not yet
    handed out is out with someone (the consumer counts it as waiting for its ack)."""

    def __init__(self, worker: DetectorWorker, batches: list[list[Delivery]]) -> None:
        self._worker = worker
        self._batches = list(batches)
        self.pin_id = "pin"
        # Pull requests of other workers waiting for the partition.
        self.others_waiting = 0
        # Times the worker gave the partition up while running (a clean stop does too).
        self.given_up = 0

    @property
    def num_ack_pending(self) -> int:
        return sum(d.metadata.num_delivered > 1 for batch in self._batches for d in batch)

    async def pull(self, batch: int, expires_s: float) -> Pulled:
        if not self._batches:
            self._worker._stopping.set()
            return Pulled([], pinned=True)
        return Pulled(list(self._batches.pop(0)), pinned=True)

    async def unpin(self) -> None:
        if not self._worker._stopping.is_set():
            self.given_up += 1


class MembersBucket:
    """The membership bucket, holding the keys of ``others``; a put fails while
    ``failing`` (the worker's NATS node is away)."""

    def __init__(self, others: list[str]) -> None:
        self._keys = set(others)
        self.failing = False

    async def put(self, key: str, value: bytes) -> int:
        if self.failing:
            raise nats.errors.TimeoutError
        self._keys.add(key)
        return 1

    async def keys(self) -> list[str]:
        return sorted(self._keys)


class Bucket:
    """The KV bucket of checkpoints: conditional writes always win here."""

    def __init__(self) -> None:
        self.revisions = itertools.count(1)
        self.values: dict[str, bytes] = {}

    async def create(self, key: str, value: bytes) -> int:
        self.values[key] = value
        return next(self.revisions)

    async def update(self, key: str, value: bytes, last: int) -> int:
        self.values[key] = value
        return next(self.revisions)


class StreamConnection:
    """The JetStream API requests the worker makes: the checkpoints in ``bucket``, the
    readings stream holding ``deliveries``, and the partition's consumer (set once it
    exists)."""

    def __init__(self, deliveries: list[Delivery], bucket: Bucket) -> None:
        self._deliveries = sorted(deliveries, key=lambda d: d.metadata.sequence.stream)
        self._bucket = bucket
        self.loop: asyncio.AbstractEventLoop | None = None
        self.consumer: ScriptedConsumer | None = None

    def run(self, coroutine: Any, timeout_s: float | None = None) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    async def api(self, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        kv_subject = f"$KV.{_detector_worker.const.STATE_BUCKET}."
        if subject.startswith("STREAM.INFO.KV_"):
            assert body is not None
            prefix = body["subjects_filter"].removesuffix("*")
            keys = [f"{kv_subject}{key}" for key in self._bucket.values
                    if f"{kv_subject}{key}".startswith(prefix)]
            return {"state": {"subjects": dict.fromkeys(keys[body["offset"]:], 1)},
                    "total": len(keys)}
        if subject.startswith("STREAM.MSG.GET.KV_"):
            assert body is not None
            value = self._bucket.values.get(body["last_by_subj"].removeprefix(kv_subject))
            if value is None:
                raise ScaleOutError("JetStream refused: no message found")
            return {"message": {"seq": 1, "data": base64.b64encode(value).decode()}}
        if subject.startswith("CONSUMER.INFO."):
            assert self.consumer is not None
            return {"num_ack_pending": self.consumer.num_ack_pending,
                    "num_waiting": self.consumer.others_waiting}
        assert body is not None
        after = [d for d in self._deliveries if d.metadata.sequence.stream >= body["seq"]]
        if not after:
            raise ScaleOutError("JetStream refused: no message found")
        first = after[0]
        return {"message": {"seq": first.metadata.sequence.stream, "subject": first.subject,
                            "data": base64.b64encode(first.data).decode()}}


def run_partition(batches: list[list[Delivery]], wall_clock: Iterator[int],
                  monkeypatch: pytest.MonkeyPatch,
                  alerts: AlertManager | None = None, *, partitions: int = 1,
                  before: Callable[[DetectorWorker, ScriptedConsumer], Awaitable[None]]
                  | None = None, bucket: Bucket | None = None,
                  ) -> tuple[AlertManager, ScriptedConsumer]:
    """Run a worker's loop over its last partition until the script ends, on the
    checkpoints of ``bucket`` (none if not given), after ``before`` (on the loop); returns
    the alerts (``alerts``, or new ones) and the consumer."""
    # A tick at every chance the loop gives, not once a second.
    monkeypatch.setattr(_detector_worker, "_TICK_S", 0.0)
    alerts = alerts or AlertManager(InMemoryAlertRepository())
    bucket = bucket or Bucket()
    connection = StreamConnection([d for batch in batches for d in batch], bucket)
    worker = DetectorWorker(connection, alerts, REGISTRY, DetectorConfig(),  # type: ignore[arg-type]
                            topic_prefix="safehood", partitions=partitions,
                            pin_timeout_s=0.01, clock=lambda: next(wall_clock))
    worker._bucket = bucket  # type: ignore[assignment]
    consumer = ScriptedConsumer(worker, batches)

    async def main() -> None:
        connection.loop = asyncio.get_running_loop()
        connection.consumer = consumer
        if before is not None:
            await before(worker, consumer)
        await worker._run_partition(partitions - 1, consumer)  # type: ignore[arg-type]

    # On a thread of its own: a session's Playwright (browser tests on the same xdist worker)
    # keeps an event loop running on the main thread, where asyncio.run refuses to start.
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, main()).result()
    assert all(d.acked for batch in batches for d in batch)
    return alerts, consumer


def test_no_tick_carries_a_site_past_readings_still_waiting_in_the_stream(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The door opens; its closing a minute later waits in the stream (a takeover, a slow
    # batch) while two hours pass on the wall clock.
    batches = [[Delivery(1, "open", T0, num_pending=1)],
               [Delivery(2, "close", T0 + 60_000, num_pending=0)]]
    wall_clock = itertools.count(T0, 2 * HOUR_MS)

    alerts, _ = run_partition(batches, wall_clock, monkeypatch)

    assert alerts.list(AlertQuery(limit=None)) == []


def test_a_caught_up_partition_ticks_a_silent_site_on_with_the_wall_clock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing waits after the opening: the door is open as far as anyone can know.
    batches = [[Delivery(1, "open", T0, num_pending=0)]]
    wall_clock = itertools.count(T0, 2 * HOUR_MS)

    alerts, _ = run_partition(batches, wall_clock, monkeypatch)

    assert [a.type.value for a in alerts.list(AlertQuery(limit=None))] == ["door_left_open"]


def test_a_replay_from_an_older_checkpoint_opens_no_second_alert(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # One worker: the door is left open; a tick raises door_left_open at its deadline (ten
    # minutes), a later reading finds it still open, and the closing resolves the alert.
    # It dies before its checkpoint; the next worker takes the readings again from an
    # older state (here none), and its engine fires the same timer on the later reading.
    def readings() -> list[list[Delivery]]:
        return [[Delivery(1, "open", T0, num_pending=0)],
                [Delivery(2, "still-open", T0 + 15 * 60_000, num_pending=0)],
                [Delivery(3, "close", T0 + 20 * 60_000, num_pending=0)]]

    alerts, _ = run_partition(readings(), itertools.count(T0, HOUR_MS), monkeypatch)
    [first] = alerts.list(AlertQuery(limit=None))
    assert first.type.value == "door_left_open" and first.status.value == "resolved"

    run_partition(readings(), itertools.repeat(T0), monkeypatch, alerts)

    assert [a.id for a in alerts.list(AlertQuery(limit=None))] == [first.id]


def test_a_redelivery_then_newer_readings_apply_what_is_still_out_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A holder died with the door's opening and closing unacknowledged. Their waits run
    # out one by one: the opening comes back alone, then the next holder gets a newer
    # reading (the door opens again, two hours later) before the closing comes back.
    batches = [[Delivery(1, "open", T0, num_pending=1, redelivered=True, consumer_seq=10)],
               [Delivery(3, "open", T0 + 2 * HOUR_MS, num_pending=0, consumer_seq=11)],
               [Delivery(2, "close", T0 + 60_000, num_pending=0, redelivered=True,
                         consumer_seq=12)]]

    alerts, _ = run_partition(batches, itertools.repeat(T0), monkeypatch)

    assert alerts.list(AlertQuery(limit=None)) == []


def test_a_delivery_lost_inside_a_batch_is_read_from_the_stream(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The closing was delivered (consumer sequence 2) but lost on the way, with the pull
    # it belonged to; it comes again only after its ack wait.
    batches = [[Delivery(1, "open", T0, num_pending=0, consumer_seq=1),
                Delivery(3, "open", T0 + 2 * HOUR_MS, num_pending=0, consumer_seq=3)],
               [Delivery(2, "close", T0 + 60_000, num_pending=0, redelivered=True,
                         consumer_seq=4)]]

    alerts, _ = run_partition(batches, itertools.repeat(T0), monkeypatch)

    assert alerts.list(AlertQuery(limit=None)) == []


def test_no_tick_while_a_reading_of_the_partition_is_out_with_someone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The opening comes back from a batch that failed; the closing, a minute later, is
    # still out (its redelivery on its way) while two hours pass on the wall clock.
    batches = [[Delivery(1, "open", T0, num_pending=0, redelivered=True)],
               [Delivery(2, "close", T0 + 60_000, num_pending=0, redelivered=True)]]

    alerts, _ = run_partition(batches, itertools.count(T0, 2 * HOUR_MS), monkeypatch)

    assert alerts.list(AlertQuery(limit=None)) == []


@pytest.mark.parametrize(("heartbeat_fails", "other_waits", "given_up"), [
    (False, True, 1), (True, True, 0), (False, False, 0)])
def test_a_worker_gives_a_surplus_partition_only_to_a_worker_that_waits_for_it(
        monkeypatch: pytest.MonkeyPatch, heartbeat_fails: bool, other_waits: bool,
        given_up: int) -> None:
    # Two workers, two partitions: this one counted the other and holds both, the other's
    # taken over. The other alive and asking for it, the surplus goes to it. Dead, it
    # asks for nothing, though counted until its key's TTL runs out; and with this worker's
    # own heartbeat failing (its NATS node went down too), the count is stale: handed back,
    # the partition would wait for nobody.
    members = MembersBucket(["the-other-worker"])

    async def count_then_take_over(worker: DetectorWorker, consumer: ScriptedConsumer) -> None:
        await worker._beat(members)  # type: ignore[arg-type]
        members.failing = heartbeat_fails
        await worker._beat(members)  # type: ignore[arg-type]
        worker.pinned.update({0, 1})
        consumer.others_waiting = int(other_waits)

    _, consumer = run_partition([[Delivery(1, "open", T0, num_pending=0)]],
                                itertools.repeat(T0), monkeypatch, partitions=2,
                                before=count_then_take_over)

    assert consumer.given_up == given_up


def test_a_new_holder_carries_on_a_site_silent_since_before_the_takeover(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The first holder applies the door's opening and dies before its deadline. The site
    # sends nothing more (its gateway died with the door open); the next holder gets only
    # another site's readings while two hours pass on the wall clock.
    bucket = Bucket()
    alerts, _ = run_partition([[Delivery(1, "open", T0, num_pending=0)]],
                              itertools.repeat(T0), monkeypatch, bucket=bucket)
    assert alerts.list(AlertQuery(limit=None)) == []

    other_site = [[Delivery(2, "close", T0 + 60_000, num_pending=0, site=OTHER_SITE,
                            door=OTHER_DOOR)]]
    run_partition(other_site, itertools.count(T0 + 2 * HOUR_MS, 60_000), monkeypatch,
                  alerts, bucket=bucket)

    assert [(a.type.value, a.subject) for a in alerts.list(AlertQuery(limit=None))] == [
        ("door_left_open", DOOR)]
