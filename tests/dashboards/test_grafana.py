"""The Grafana files load in Grafana and their queries find what safehood writes.

Static checks: each dashboard has the fields Grafana needs, uses a provisioned datasource,
reads only measurements, tags and metrics the code defines. Live check: the store writes
one message of every kind, event and status into a real InfluxDB, and every InfluxQL query
of the boards, with Grafana's macros filled in, returns data from it.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from fastapi.testclient import TestClient

from safehood.alerting import AlertManager
from safehood.api import ApiContext, create_app
from safehood.config import Settings
from safehood.dashboards import GRAFANA_DIR
from safehood.database import SqlAlertRepository, create_database_engine, migrate
from safehood.protocol import Registry, parse_message
from safehood.protocol.const import DEVICE_KINDS, EVENTS_BY_KIND
from safehood.store import InfluxReadingStore, SqliteReadingStore
from safehood.store.const import STATUS_MEASUREMENT, TAG_KEYS

from ._grafana import (
    dashboard_problems,
    exposed_metric_names,
    influx_group_tags,
    influx_measurements,
    influx_queries,
    prometheus_exprs,
    prometheus_metrics,
)

DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
SITE = "xianlin-3"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
# Packages whose modules define safehood's Prometheus metrics (all exposed on /metrics).
METRIC_MODULES = tuple(f"safehood.{name}" for name in ("ingest", "store", "alerting", "detectors", "api"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def datasources() -> dict[str, str]:
    """uid -> type of every provisioned datasource."""
    found: dict[str, str] = {}
    for path in sorted((GRAFANA_DIR / "provisioning" / "datasources").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] == 1, path
        for ds in doc["datasources"]:
            assert {"name", "uid", "type", "url", "access"} <= ds.keys(), (path, ds)
            found[ds["uid"]] = ds["type"]
    return found


@pytest.fixture(scope="module")
def defined_metrics(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every metric name a real API app exposes on /metrics, the packages that define
    metrics imported as the live process imports them."""
    for name in METRIC_MODULES:
        importlib.import_module(name)
    base = tmp_path_factory.mktemp("metrics")
    engine = create_database_engine(f"sqlite:///{base / 'safehood.db'}")
    migrate(engine)
    store = SqliteReadingStore(base / "readings.db")
    context = ApiContext(
        settings=Settings(data_dir=base), engine=engine,
        alerts=AlertManager(SqlAlertRepository(engine)), store=store, broker_ready=lambda: True,
    )
    try:
        with TestClient(create_app(context)) as client:
            response = client.get("/metrics")
    finally:
        store.close()
        engine.dispose()
    assert response.status_code == 200
    return exposed_metric_names(response.text)


def test_the_four_boards_are_there() -> None:
    titles = {load(p)["title"] for p in DASHBOARD_FILES}
    assert titles == {
        "safehood / Readings per site", "safehood / Ingest rate", "safehood / Dead letters",
        "safehood / Alerts over time",
    }


def test_datasources_come_from_safehood_settings(datasources: dict[str, str]) -> None:
    assert datasources == {"safehood-influxdb": "influxdb", "safehood-prometheus": "prometheus"}
    influx = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "influxdb.yaml").read_text()
    )["datasources"][0]
    # The same environment variables safehood reads, so one .env configures both.
    assert influx["url"] == "${SAFEHOOD_INFLUX_URL}"
    assert influx["jsonData"]["dbName"] == "${SAFEHOOD_INFLUX_BUCKET}"
    assert "${SAFEHOOD_INFLUX_TOKEN}" in influx["secureJsonData"]["httpHeaderValue1"]


def test_dashboard_provider_loads_the_dashboard_folder() -> None:
    doc = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "safehood.yaml").read_text()
    )
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_has_what_grafana_needs(path: Path, datasources: dict[str, str]) -> None:
    assert dashboard_problems(load(path), datasources) == []


def test_dashboard_uids_are_unique() -> None:
    uids = [load(p)["uid"] for p in DASHBOARD_FILES]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda d: d.pop("title"), "title"),
        (lambda d: d.update(uid="has spaces and is far too long for grafana to accept it"), "uid"),
        (lambda d: d.update(schemaVersion=16), "schemaVersion"),
        (lambda d: d["panels"][1].pop("gridPos"), "gridPos"),
        (lambda d: d["panels"][1]["gridPos"].update(x=20, w=12), "at most 24"),
        (lambda d: d["panels"][2]["gridPos"].update(d["panels"][1]["gridPos"]), "overlap"),
        (lambda d: d["panels"][1].update(targets=[]), "targets"),
        (lambda d: d["panels"][1].update(datasource={"type": "influxdb", "uid": "nope"}),
         "not provisioned"),
        (lambda d: d["panels"][1]["targets"][0].update(query="SELECT 1 WHERE $nosuchvar"),
         "$nosuchvar"),
        (lambda d: d["panels"][2].update(id=d["panels"][1]["id"]), "unique"),
    ],
)
def test_the_check_catches_a_broken_dashboard(
    breakage: Any, expected: str, datasources: dict[str, str]
) -> None:
    broken = copy.deepcopy(load(GRAFANA_DIR / "dashboards" / "readings.json"))
    breakage(broken)
    problems = dashboard_problems(broken, datasources)
    assert any(expected in p for p in problems), problems


def test_influxql_reads_only_measurements_and_tags_the_store_writes() -> None:
    measurements = set(DEVICE_KINDS) | {STATUS_MEASUREMENT}
    queries = [q for p in DASHBOARD_FILES for q in influx_queries(load(p))]
    assert queries, "the readings board has InfluxQL queries"
    read = set()
    for query in queries:
        found = influx_measurements(query)
        assert set(found) <= measurements, query
        read |= set(found)
        assert set(influx_group_tags(query)) <= set(TAG_KEYS), query
    # Every measurement the store writes is on the readings board.
    assert read == measurements


def test_promql_names_only_metrics_safehood_defines(defined_metrics: set[str]) -> None:
    exprs = [e for p in DASHBOARD_FILES for e in prometheus_exprs(load(p))]
    assert exprs
    used: set[str] = set()
    for expr in exprs:
        metrics = prometheus_metrics(expr)
        assert metrics, f"no safehood metric in {expr!r}"
        assert metrics <= defined_metrics, (expr, metrics - defined_metrics)
        used |= metrics
    for wanted in ("safehood_messages_total", "safehood_dead_letters_total",
                   "safehood_ingest_lag_seconds_bucket", "safehood_alerts"):
        assert wanted in used


# --- live: the store writes, the boards' queries read it back ---------------------------------

REGISTRY_DATA = {
    "households": [{"id": "h001", "site": SITE, "lives_alone": True}],
    "residents": [{"id": "r001", "household": "h001", "name": "Wang Fang"}],
    "devices": [
        {"device_id": "h001-smoke", "site": SITE, "kind": "smoke", "household": "h001"},
        {"device_id": "r001-band", "site": SITE, "kind": "wearable", "household": "h001",
         "resident": "r001"},
        {"device_id": "h001-water", "site": SITE, "kind": "water", "household": "h001"},
        {"device_id": "h001-door", "site": SITE, "kind": "door", "household": "h001"},
        {"device_id": "h001-motion", "site": SITE, "kind": "motion", "household": "h001"},
        {"device_id": "r001-button", "site": SITE, "kind": "button", "household": "h001",
         "resident": "r001"},
        {"device_id": "b1-door", "site": SITE, "kind": "door"},  # a shared space
    ],
}
TELEMETRY = {
    "smoke": {"smoke": 2.5, "temp_c": 24.0, "co_ppm": 12},
    "wearable": {"accel": [[0, 0, 1], [0, 2.5, 2]], "hz": 25, "hr_bpm": 71},
    "water": {"leak": True, "flow_lpm": 8.5},
    "door": {"open": True},
    "motion": {"occupancy": True},
    "button": {},
}


def contract_traffic() -> list[tuple[str, dict[str, Any]]]:
    """Telemetry, every event value and status (online and offline) of every kind."""
    registry = Registry.from_data(REGISTRY_DATA)
    out: list[tuple[str, dict[str, Any]]] = []
    ts = T0
    for device in registry.devices.values():
        kind = device.kind
        base = f"safehood/v1/{SITE}/{device.device_id}"
        ts += 1000
        out.append((f"{base}/telemetry", {"ts": ts, "kind": kind, "battery": 80, **TELEMETRY[kind]}))
        for event in sorted(EVENTS_BY_KIND[kind]):
            ts += 1000
            out.append((f"{base}/event", {"ts": ts, "kind": kind, "event": event}))
        ts += 1000
        out.append((f"{base}/status", {"ts": ts, "online": True, "battery": 64, "rssi": -70}))
        ts += 1000
        out.append((f"{base}/status", {"ts": ts, "online": False}))
    return out


def grafana_macros(query: str, values: dict[str, str]) -> str:
    """Fill in what Grafana would, for a range around the test traffic."""
    query = query.replace("$timeFilter", f"time >= {T0 - 3_600_000}ms AND time <= {T0 + 3_600_000}ms")
    query = query.replace("$__interval", "1m")
    return re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), query)


@pytest.fixture(scope="module")
def filled_database(influxdb: Any, tmp_path_factory: pytest.TempPathFactory):
    """A database written by the store with :func:`contract_traffic`, dropped afterwards."""
    database = "grafana_boards"
    influxdb.create_database(database)
    registry = Registry.from_data(REGISTRY_DATA)
    messages = [
        parse_message(topic, orjson.dumps(payload), T0, registry)
        for topic, payload in contract_traffic()
    ]
    store = InfluxReadingStore(
        influxdb.client_url, None, "safehood", database,
        spool_path=tmp_path_factory.mktemp("spool") / "spool.db", flush_interval_s=0.05,
    )
    try:
        store.write(messages)
        store.flush()
        assert store.count(site=SITE) == len(messages)
    finally:
        store.close()
    yield database
    influxdb.drop_database(database)


def run_influxql(influxdb: Any, database: str, query: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{influxdb.url}/query",
                         params={"db": database, "q": query, "epoch": "ms"}, timeout=30)
    response.raise_for_status()
    (result,) = response.json()["results"]
    assert "error" not in result, (query, result["error"])
    return result.get("series", [])


def test_every_influxql_query_returns_what_the_store_wrote(influxdb: Any, filled_database: str):
    board = load(GRAFANA_DIR / "dashboards" / "readings.json")
    # The variables' queries list what the store wrote ...
    for variable in board["templating"]["list"]:
        query = grafana_macros(variable["query"], {"site": SITE})
        values = {row[1] for s in run_influxql(influxdb, filled_database, query)
                  for row in s["values"]}
        assert values, query
        assert {"site": SITE, "household": "h001"}[variable["name"]] in values
    # ... and every panel query, with the site chosen and all households, finds data.
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            query = grafana_macros(target["query"], {"site": SITE, "household": ".*"})
            series = run_influxql(influxdb, filled_database, query)
            points = [row for s in series for row in s["values"] if row[1] not in (None, 0)]
            assert points, f"{panel['title']!r} {target['refId']}: no data for {query}"


def test_a_query_on_another_site_finds_nothing(influxdb: Any, filled_database: str) -> None:
    # The site filter is real: the same board for a site with no traffic stays empty.
    board = load(GRAFANA_DIR / "dashboards" / "readings.json")
    target = board["panels"][1]["targets"][0]
    query = grafana_macros(target["query"], {"site": "elsewhere", "household": ".*"})
    assert run_influxql(influxdb, filled_database, query) == []
