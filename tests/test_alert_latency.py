"""The live pipeline's alert latency (MQTT receipt to alert store), as the demo prints it."""

from __future__ import annotations

import dataclasses
import time

from safehood._detection import AlertLatency, DetectionStage
from safehood.alerting import AlertManager, InMemoryAlertRepository
from safehood.detectors import DetectorEngine

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


def test_percentiles_of_the_newest() -> None:
    latency = AlertLatency(keep=100)
    for ms in range(1, 201):  # the first hundred fall out
        latency.observe(ms / 1000)
    assert latency.percentiles_ms() == (150.5, 199.0)
