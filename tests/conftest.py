"""Shared fixtures: real servers on free loopback ports, each test with its own namespace."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest

from safehood._broker import MosquittoBroker
from tests._influxdb import InfluxServer


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


# --- InfluxDB (store tests) -------------------------------------------------------------------


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """A real influxd on free loopback ports for the whole session, with the forwarder that
    lets influxdb-client's ``/api/v2/write`` reach it: use ``influxdb.client_url`` as the
    InfluxDB URL, ``influxdb.forwarder.stop()``/``start()`` (or ``with
    influxdb.forwarder.down():``) to take it away."""
    if shutil.which("influxd") is None:
        pytest.fail("influxd is not installed: apt-get install influxdb (1.6+)")
    server = InfluxServer(tmp_path_factory.mktemp("influxdb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influx_database(influxdb: InfluxServer) -> Iterator[str]:
    """A database (InfluxDB 2 bucket) of the test's own, dropped afterwards."""
    name = f"t{uuid.uuid4().hex[:12]}"
    influxdb.create_database(name)
    yield name
    # A test may have left the forwarder stopped; the next one needs it.
    influxdb.forwarder.start()
    influxdb.drop_database(name)
