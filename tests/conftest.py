"""Shared fixtures: real servers on free loopback ports, each test with its own namespace."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from safehood._broker import MosquittoBroker

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A real mosquitto on a free loopback port for the whole session."""
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed: run the README's test command, which installs it")
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix of the test's own, so tests sharing the broker never see each other."""
    return f"t{uuid.uuid4().hex[:10]}"
