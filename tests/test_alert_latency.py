"""The live pipeline's alert latency (MQTT receipt to alert store), as the demo prints it."""

from __future__ import annotations

import dataclasses
import gc
import time
from pathlib import Path

import pytest

from safehood._broker import MosquittoBroker
from safehood._detection import AlertLatency, DetectionStage, HandoverTimer
from safehood._pipeline import build_pipeline
from safehood.alerting import (
    AlertManager,
    InMemoryAlertRepository,
    RecordingNotifier,
    StorageError,
)
from safehood.alerting import build_pipeline as build_alert_pipeline
from safehood.config import Settings
from safehood.detectors import DetectorEngine
from safehood.protocol import AlertDecision, Message, Registry

from .alerting.conftest import REGISTRY, decision
from .alerting.test_notifications import OFFICERS, dispatcher_for, policy_with
from .detectors._support import T0, msg, registry


def test_only_messages_that_cause_decisions_are_timed() -> None:
    reg = registry()
    stage = DetectionStage(DetectorEngine(reg), AlertManager(InMemoryAlertRepository(),
                                                             registry=reg))
    received_ms = time.time_ns() // 1_000_000 - 60_000  # a minute ago
    quiet = dataclasses.replace(msg(reg, "h1-door", T0, event="close"), received_ms=received_ms)
    stage([quiet])
    assert stage.latency.percentiles_ms() is None
    sos = dataclasses.replace(msg(reg, "h1-button", T0 + 1000, event="sos"),
                              received_ms=received_ms)
    stage([sos])
    latency = stage.latency.percentiles_ms()
    assert latency is not None and latency[0] >= 60_000  # from receipt, not from the call
    # The detectors' CPU is counted by message, for the demo's status line.
    assert stage.messages == 2 and stage.cpu_us_per_message is not None
    assert stage.cpu_us_per_message > 0


class CountingEngine:
    """The real engine, counting the messages it was given."""

    def __init__(self, engine: DetectorEngine) -> None:
        self.engine = engine
        self.processed = 0

    def process_one(self, message: Message) -> list[AlertDecision]:
        self.processed += 1
        return self.engine.process_one(message)


def test_a_decision_is_applied_before_the_rest_of_its_batch_is_detected() -> None:
    # Under load a batch is hundreds of messages: the detectors' time for those after an
    # SOS was its alert's wait.
    reg = registry()
    engine = CountingEngine(DetectorEngine(reg))
    alerts = AlertManager(InMemoryAlertRepository(), registry=reg)
    stage = DetectionStage(engine, alerts)  # type: ignore[arg-type]
    seen_at: list[int] = []
    alerts.subscribe(lambda change: seen_at.append(engine.processed))
    sos = msg(reg, "h1-button", T0, event="sos")
    stage([sos, *(msg(reg, "h1-door", T0 + 1000 * i, event="open") for i in range(1, 6))])
    assert seen_at == [1]


def test_a_failure_to_apply_does_not_stop_the_detectors() -> None:
    reg = registry()
    engine = CountingEngine(DetectorEngine(reg))
    alerts = AlertManager(InMemoryAlertRepository(), registry=reg)
    stage = DetectionStage(engine, alerts)  # type: ignore[arg-type]
    applied: list[list[AlertDecision]] = []

    def apply(decisions: list[AlertDecision]) -> None:
        applied.append(decisions)
        if len(applied) == 1:
            raise StorageError("the alert store is down")

    alerts.apply = apply  # type: ignore[method-assign]
    batch = [msg(reg, "h1-button", T0, event="sos"), msg(reg, "h2-door", T0 + 1000, event="open"),
             msg(reg, "h1-button", T0 + 2000, event="sos"),
             msg(reg, "h3-motion-living", T0 + 3000, event="motion")]
    with pytest.raises(StorageError):
        stage(batch)
    assert engine.processed == 4 and len(applied) == 2  # the second SOS was still applied


def test_a_change_is_timed_to_its_first_notification_handed_over() -> None:
    # The demo's "then notified" figure: commit to the notification worker's hand-over.
    reg = Registry.from_data(REGISTRY)
    policy = policy_with({"xianlin-3": {"officers": (OFFICERS, f"{OFFICERS}-2")}})
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_alert_pipeline(policy, repository), registry=reg)
    notifier = RecordingNotifier()
    timer = HandoverTimer(notifier)
    with dispatcher_for(notifier, repository, policy, reg) as dispatcher:  # type: ignore[arg-type]
        dispatcher._notifier = timer
        manager.subscribe(timer.committed)
        manager.subscribe(dispatcher.submit)
        # Two changes: the officers (two of them) told, then the family.
        changes = manager.apply([decision("fall", confirmed=True)])
        manager.apply([decision("fall", confirmed=True)])  # a repeat: nobody is told
        assert dispatcher.wait_idle(10)
    assert len(notifier.sent) == 3
    assert [c.notify for c in changes] == [True, True]
    assert len(timer.latency._recent) == 2  # each change once, at its first notification


def test_percentiles_of_the_newest() -> None:
    latency = AlertLatency(keep=100)
    for ms in range(1, 201):  # the first hundred fall out
        latency.observe(ms / 1000)
    assert latency.percentiles_ms() == (150.5, 199.0)


def test_start_keeps_what_start_up_built_out_of_full_collections(
        mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path) -> None:
    # A full pass of the garbage collector over the registry and detectors stopped every
    # thread of the pipeline for a tenth of a second: they are frozen at start.
    gc.unfreeze()
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"gc-{topic_prefix}")
    pipeline = build_pipeline(settings, registry_file=registry().to_model(), serve_api=False)
    built = pipeline.detection.engine
    pipeline.start()
    try:
        assert gc.get_freeze_count() > 0
        assert not gc.is_tracked(built) or built not in gc.get_objects(generation=2)
    finally:
        pipeline.stop()
        gc.unfreeze()
