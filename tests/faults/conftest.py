"""Fixtures of the fault suite: a broker of each test's own (it may be restarted), a local
notification sink, and `safehood run` on them."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from safehood._broker import MosquittoBroker
from tests._notifications import NotificationReceiver, serve_notifications

from ._harness import PipelineProcess


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A mosquitto of the test's own, with persistence, that the test may restart."""
    broker = MosquittoBroker(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def sink() -> Iterator[NotificationReceiver]:
    yield from serve_notifications()


@pytest.fixture
def processes() -> Iterator[list[PipelineProcess]]:
    """Register each started pipeline here: whatever still runs is killed afterwards."""
    started: list[PipelineProcess] = []
    yield started
    for process in started:
        if process.running:
            process.stop(signal.SIGKILL)
