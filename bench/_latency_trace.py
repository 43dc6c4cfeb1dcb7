"""Where a probe's latency goes: ``bench/alert_latency.py --trace`` wraps the running
pipeline's edges (the source, the store, each handler and tick handler, the alert manager,
the notifier) to timestamp each probe along its path, and to keep the consumer thread's
timeline (batches and ticks), then prints each step's p50 / p99 / max and the slowest
probes step by step. The wrappers are instance attributes of this one pipeline: nothing in
safehood's code changes."""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from safehood._pipeline import Pipeline
from safehood.ingest import Received

PROBE_SUFFIX = "-button"

# The path of a probe, in order: (mark, what the step up to it is).
STEPS = (
    ("published", ""),
    ("received", "broker + MQTT network thread"),
    ("taken", "inbox: waiting for the consumer"),
    ("stored", "its batch validated and stored (by the store's writer thread)"),
    ("decided", "handlers (device health, detectors) on its batch"),
    ("alert", "alert manager: decision committed"),
    ("handed", "notification queue + worker up to Apprise"),
    ("notified", "Apprise to the receiving service"),
)


def _household(device_id: str) -> str | None:
    return device_id.removesuffix(PROBE_SUFFIX) if device_id.endswith(PROBE_SUFFIX) else None


class LatencyTrace:
    """Marks (``time.monotonic()``) of each probe by household, and the consumer thread's
    spans (start, end, what, batch size)."""

    def __init__(self) -> None:
        self.marks: dict[str, dict[str, float]] = defaultdict(dict)
        self.batch_of: dict[str, int] = {}
        # (start, end, what, batch size, thread CPU seconds) of the consumer thread's work
        self.spans: list[tuple[float, float, str, int, float]] = []
        self._lock = threading.Lock()
        # The source stamps receipt on the wall clock.
        self._wall_to_mono = time.monotonic() - time.time()

    def mark(self, household: str, name: str, at: float | None = None) -> None:
        with self._lock:
            self.marks[household].setdefault(name, time.monotonic() if at is None else at)

    def install(self, pipeline: Pipeline) -> None:
        ingest = pipeline.ingest
        source_receive = ingest.source.receive

        def receive(max_messages: int, timeout_s: float) -> Received:
            received = source_receive(max_messages, timeout_s)
            now = time.monotonic()
            for raw in received.messages:
                device = raw.topic.split("/")[-2]
                if (household := _household(device)) is not None:
                    self.mark(household, "received", raw.received_ms / 1000 + self._wall_to_mono)
                    self.mark(household, "taken", now)
                    self.batch_of[household] = len(received.messages)
            return received

        ingest.source.receive = receive  # type: ignore[method-assign]

        sink = ingest.sink

        class TracedSink:
            def write(_self, messages: Sequence[Any]) -> None:
                sink.write(messages)
                now = time.monotonic()
                for m in messages:
                    if (household := _household(m.device_id)) is not None:
                        self.mark(household, "stored", now)

        ingest.sink = TracedSink()
        ingest.handlers = [self._span(h, type(h).__name__) for h in ingest.handlers]
        ingest.tick_handlers = [self._span(t, getattr(t, "__qualname__", repr(t)))
                                for t in ingest.tick_handlers]
        # The consumer validates a batch, then hands on the one before it (stored meanwhile
        # by the store's writer thread).
        ingest._validate = self._batch_span(  # type: ignore[method-assign]
            ingest._validate, "validate", lambda received: len(received.messages))
        ingest._hand_on = self._batch_span(  # type: ignore[method-assign]
            ingest._hand_on, "hand on", lambda batch: len(batch.received.messages))

        apply = pipeline.alerts.apply

        def traced_apply(decisions: Sequence[Any]) -> Any:
            now = time.monotonic()
            for d in decisions:
                if d.device_id and (household := _household(d.device_id)) is not None:
                    self.mark(household, "decided", now)
            return apply(decisions)

        pipeline.alerts.apply = traced_apply  # type: ignore[method-assign]
        pipeline.alerts.tick = self._span(  # type: ignore[method-assign]
            pipeline.alerts.tick, "AlertManager.tick")
        engine = pipeline.detection.engine
        advance = engine.advance

        def traced_advance(now_ms: int, site: str) -> Any:
            start, cpu = time.monotonic(), time.thread_time()
            try:
                return advance(now_ms, site)
            finally:
                with self._lock:
                    self.spans.append((start, time.monotonic(), "DetectorEngine.advance", 0,
                                       time.thread_time() - cpu))

        engine.advance = traced_advance  # type: ignore[method-assign]
        notifier = pipeline.notifications._notifier
        send = notifier.send

        def traced_send(notification: Any) -> Any:
            if notification.alert is not None and notification.alert.household:
                self.mark(notification.alert.household, "handed")
            return send(notification)

        notifier.send = traced_send  # type: ignore[method-assign]

    def _batch_span(self, call: Callable[..., Any], what: str,
                    size_of: Callable[[Any], int]) -> Callable[..., Any]:
        """``call`` (a method taking a batch first), recording a span with the batch's size."""
        def traced(batch: Any, *args: Any) -> Any:
            start, cpu = time.monotonic(), time.thread_time()
            try:
                return call(batch, *args)
            finally:
                with self._lock:
                    self.spans.append((start, time.monotonic(), what, size_of(batch),
                                       time.thread_time() - cpu))

        return traced

    def _span(self, call: Callable[..., Any], name: str) -> Callable[..., Any]:
        def traced(arg: Any) -> Any:
            start, cpu = time.monotonic(), time.thread_time()
            try:
                return call(arg)
            finally:
                size = len(arg) if isinstance(arg, Sequence) else 0
                with self._lock:
                    self.spans.append((start, time.monotonic(), name, size,
                                       time.thread_time() - cpu))
        return traced

    def report(self, name: str, households: Sequence[str], published: dict[str, float],
               stored: dict[str, float], notified: dict[str, float]) -> str:
        """Each step's p50 / p99 / max over ``households`` and the three slowest probes."""
        rows = []
        for h in households:
            marks = dict(self.marks.get(h, {}))
            marks.update(published=published[h], alert=stored[h], notified=notified[h])
            rows.append(marks)
        lines = [f"{name}: where a probe's time went (ms; step ending at the mark)",
                 f"  {'mark':<10}{'p50':>8}{'p99':>8}{'max':>8}  step"]
        for (prev, _), (mark, what) in itertools.pairwise(STEPS):
            steps = sorted((r[mark] - r[prev]) * 1000 for r in rows if mark in r and prev in r)
            if steps:
                p99 = steps[min(len(steps) - 1, round(0.99 * (len(steps) - 1)))]
                lines.append(f"  {mark:<10}{statistics.median(steps):>8.1f}{p99:>8.1f}"
                             f"{steps[-1]:>8.1f}  {what}")
        slowest = sorted(zip(households, rows, strict=True),
                         key=lambda hr: hr[1]["notified"] - hr[1]["published"])[-3:]
        for h, r in reversed(slowest):
            path = " ".join(f"{mark}+{(r[mark] - r[prev]) * 1000:.0f}"
                            for (prev, _), (mark, _) in itertools.pairwise(STEPS)
                            if mark in r and prev in r)
            lines.append(f"  slow {h} (batch {self.batch_of.get(h, 0)}): {path}")
            start, end = r["published"], r["alert"]
            with self._lock:
                during = [s for s in self.spans if s[1] > start and s[0] < end]
            busy: dict[str, float] = defaultdict(float)
            sizes = []
            for s_start, s_end, what, size, _cpu in during:
                busy[what] += (min(s_end, end) - max(s_start, start)) * 1000
                if what == "validate":
                    sizes.append(size)
            lines.append(f"    consumer until its alert: batches {sizes} " + ", ".join(
                f"{what} {ms:.0f}" for what, ms in sorted(busy.items(), key=lambda kv: -kv[1])))
        first = min(r["published"] for r in rows)
        last = max(r["alert"] for r in rows)
        with self._lock:
            phase = [s for s in self.spans if first <= s[0] <= last]
        lines.append("  consumer thread over the phase (thread CPU ms: calls, total, max; wall max):")
        by_name: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for s_start, s_end, what, _size, cpu in phase:
            by_name[what].append((cpu * 1000, (s_end - s_start) * 1000))
        for what, spans in sorted(by_name.items(), key=lambda kv: -max(c for c, _ in kv[1])):
            lines.append(f"    {what:<28}{len(spans):>6}{sum(c for c, _ in spans):>9.0f}"
                         f"{max(c for c, _ in spans):>8.1f}{max(w for _, w in spans):>9.1f}")
        return "\n".join(lines)
