"""Ingest against a real mosquitto: valid messages land in the store, broken ones in the
dead-letter record with their own reason, duplicates are dropped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safehood._broker import AmqttBroker, MosquittoBroker
from safehood._pipeline import Pipeline, build_pipeline
from safehood.alerting import AlertManager
from safehood.api import ApiContext, Role, TokenStore, create_app
from safehood.config import MqttEndpoint, Settings
from safehood.database import (
    SqlAlertRepository,
    create_database_engine,
    dead_letters,
    device_health,
    import_registry,
)
from safehood.mqtt import Publisher
from safehood.protocol import DeviceIn, Registry, parse_message
from safehood.simulators import Community, LiveSimulator, SimulationConfig
from safehood.store import SqliteReadingStore
from tests._mqtt import Subscriber, publish_all, wait_until

T0 = 1772410500000
SITE = "xianlin-3"
REGISTRY = Registry.from_data({
    "households": [{"id": "h001", "site": SITE, "lives_alone": True}],
    "residents": [{"id": "r001", "household": "h001", "name": "Wang Fang", "elderly": True}],
    "devices": [
        {"device_id": "h001-smoke-kitchen", "site": SITE, "kind": "smoke", "household": "h001"},
        {"device_id": "h001-door", "site": SITE, "kind": "door", "household": "h001"},
        {"device_id": "r001-band", "site": SITE, "kind": "wearable", "household": "h001",
         "resident": "r001"},
    ],
})


@pytest.fixture(params=["embedded", "influxdb"])
def store_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """The end-to-end tests run once on the embedded store and once on a real InfluxDB."""
    if request.param == "embedded":
        return {}
    influxdb = request.getfixturevalue("influxdb")
    bucket = request.getfixturevalue("influx_database")
    return {"influx_url": influxdb.client_url, "influx_bucket": bucket, "influx_token": "test"}


@pytest.fixture
def pipeline(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path, store_settings: dict[str, str]
) -> Iterator[Pipeline]:
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"ingest-{topic_prefix}", store_flush_interval_s=0.1,
                        **store_settings)
    running = build_pipeline(settings, registry_file=REGISTRY.to_model(), serve_api=False)
    running.start()
    assert running.ingest.source.connected.wait(10)
    yield running
    running.stop()


def topic(prefix: str, device: str, channel: str) -> str:
    return f"{prefix}/v1/{SITE}/{device}/{channel}"


def test_valid_stored_broken_dead_lettered(
    pipeline: Pipeline, mosquitto: MosquittoBroker, topic_prefix: str
) -> None:
    deadletter_feed = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}/v1/_deadletter")
    valid = [
        (topic(topic_prefix, "h001-smoke-kitchen", "telemetry"),
         orjson.dumps({"ts": T0 + i * 1000, "seq": i, "kind": "smoke", "smoke": 0.2, "temp_c": 21}))
        for i in range(50)
    ] + [
        (topic(topic_prefix, "h001-door", "event"),
         orjson.dumps({"ts": T0, "seq": 1, "kind": "door", "event": "open"})),
        (topic(topic_prefix, "r001-band", "telemetry"),
         orjson.dumps({"ts": T0, "seq": 1, "kind": "wearable", "accel": [[0, 0, 1]] * 50, "hz": 25})),
        (topic(topic_prefix, "h001-door", "status"), orjson.dumps({"online": True, "battery": 64})),
    ]
    duplicate = valid[3]
    broken = {
        "bad_json": (topic(topic_prefix, "h001-door", "event"), b'{"ts": 1772410500000, "kind": '),
        "unknown_kind": (topic(topic_prefix, "h001-door", "telemetry"),
                         orjson.dumps({"ts": T0, "kind": "teleporter"})),
        "missing_field": (topic(topic_prefix, "h001-door", "telemetry"),
                          orjson.dumps({"kind": "door", "open": True})),
        "out_of_range": (topic(topic_prefix, "h001-smoke-kitchen", "telemetry"),
                         orjson.dumps({"ts": T0, "kind": "smoke", "smoke": 250})),
        "bad_topic": (f"{topic_prefix}/v1/{SITE}/h001-door", orjson.dumps({"ts": T0})),
        "oversized": (topic(topic_prefix, "h001-door", "telemetry"),
                      orjson.dumps({"ts": T0, "kind": "door", "open": True, "pad": "x" * 100 * 1024})),
        "unknown_device": (topic(topic_prefix, "ghost-7", "telemetry"),
                           orjson.dumps({"ts": T0, "kind": "door", "open": True})),
    }
    publish_all(mosquitto.host, mosquitto.port, [*valid, duplicate, *broken.values()])

    wait_until(lambda: pipeline.ingest.stats.received >= len(valid) + 1 + len(broken),
               what="ingest to receive everything")
    pipeline.store.flush()
    assert pipeline.store.count(site=SITE) == len(valid)
    assert pipeline.store.count(site=SITE, channel="event") == 1
    assert pipeline.ingest.stats.duplicates == 1
    # paho's network thread counts what it handed on, and its CPU (the demo's status line).
    assert pipeline.source.network_messages >= len(valid) + 1 + len(broken)
    assert (pipeline.source.network_cpu_us_per_message or 0) > 0

    with pipeline.engine.connect() as connection:
        rows = connection.execute(select(dead_letters)).all()
    by_reason = {row.reason: row for row in rows}
    assert sorted(by_reason) == sorted(broken), "each broken message has its own reason"
    assert len(rows) == len(broken)
    for reason, (sent_topic, payload) in broken.items():
        row = by_reason[reason]
        assert row.topic == sent_topic and row.detail
        assert row.payload_size == len(payload)
        assert row.payload == payload[: pipeline.settings.deadletter_max_payload_bytes]
    assert pipeline.deadletters.counts == dict.fromkeys(broken, 1)

    wait_until(lambda: len(deadletter_feed.messages) == len(broken), what="dead letters republished")
    republished = {orjson.loads(m.payload)["reason"] for m in deadletter_feed.messages}
    assert republished == set(broken)
    deadletter_feed.close()

    def door_health() -> Any:
        with pipeline.engine.connect() as connection:
            return connection.execute(
                select(device_health).where(device_health.c.device_id == "h001-door")).first()

    wait_until(lambda: door_health() is not None, what="the device health to be written")
    door = door_health()
    assert door.battery == 64 and door.online is True
    readings = pipeline.store.query("h001-smoke-kitchen", T0, T0 + 10_000)
    assert [r.ts_ms for r in readings] == [T0 + i * 1000 for i in range(10)]
    assert readings[0].fields["smoke"] == pytest.approx(0.2)


def test_simulated_community_lands_in_the_store(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path, store_settings: dict[str, str]
) -> None:
    """20+ simulated households publish through mosquitto for a few seconds; an independent
    subscriber sees what was published, and the store holds exactly its valid, distinct part."""
    community = Community.generate(24, seed=11)
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"ingest-{topic_prefix}", **store_settings)
    pipeline = build_pipeline(settings, registry_file=community.registry.to_model(),
                              serve_api=False)
    pipeline.start()
    observer = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}/v1/+/+/+")
    config = SimulationConfig(seed=11, days=1, topic_prefix=topic_prefix)
    simulator = LiveSimulator(community, mosquitto.url, config=config, speed=1800,
                              client_prefix=f"sim-{topic_prefix}")
    try:
        simulator.start()
        time.sleep(4)
        simulator.stop()
        assert simulator.error is None
        published = simulator.stats.total
        assert published > 200, "the simulator published too little to test anything"
        wait_until(lambda: len(observer.messages) >= published, what="the observer to see all")
        distinct = set()
        for m in observer.messages:
            message = parse_message(m.topic, m.payload, 0, community.registry, topic_prefix)
            distinct.add((message.device_id, message.channel, message.ts_ms, message.seq,
                          message.fields.get("online") if message.ts_from_receipt else None))
        wait_until(lambda: pipeline.ingest.stats.received >= len(observer.messages),
                   what="ingest to receive everything")
        pipeline.store.flush()
        assert pipeline.ingest.stats.dead_letters == 0
        assert pipeline.store.count() == len(distinct)
        # Repeats with a seq are dropped by ingest; the store absorbs the rest (status
        # messages carry no seq), so nothing is stored twice.
        stats = pipeline.ingest.stats
        assert stats.valid + stats.duplicates == stats.received
    finally:
        observer.close()
        pipeline.stop()


def test_falls_back_to_mqtt_311_on_a_broker_without_mqtt5(
    topic_prefix: str, tmp_path: Path
) -> None:
    """amqtt speaks only MQTT 3.1.1 (it is also the demo's broker when mosquitto is missing):
    ingest notices, connects with 3.1.1 and a persistent session, and stores what comes."""
    broker = AmqttBroker()
    broker.start()
    settings = Settings(mqtt_url=broker.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"ingest-{topic_prefix}")
    pipeline = build_pipeline(settings, registry_file=REGISTRY.to_model(), serve_api=False)
    try:
        pipeline.start()
        assert pipeline.ingest.source.connected.wait(10)
        assert pipeline.ingest.source.protocol == mqtt.MQTTv311
        with Publisher(MqttEndpoint.from_url(broker.url), f"pub-{topic_prefix}",
                       protocol="3.1.1") as publisher:
            for i in range(20):
                publisher.publish(topic(topic_prefix, "h001-door", "event"), orjson.dumps(
                    {"ts": T0 + i, "seq": i, "kind": "door", "event": "open"}))
        wait_until(lambda: pipeline.ingest.stats.valid == 20, what="20 messages via MQTT 3.1.1")
        pipeline.store.flush()
        assert pipeline.store.count(site=SITE) == 20
    finally:
        pipeline.stop()
        broker.stop()


def test_registry_changed_by_another_process_is_picked_up(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path
) -> None:
    """A device registered by another process on the same database, through `safehood
    registry import` or through the API, is accepted by a running pipeline without a
    restart: the registry's version, raised by the database's triggers, tells it."""
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"ingest-{topic_prefix}")
    pipeline = build_pipeline(settings, registry_file=REGISTRY.to_model(), serve_api=False)
    pipeline.registry_poll_s = 0.2
    pipeline.start()
    other_process = create_database_engine(settings.sqlalchemy_url)
    try:
        newcomer = REGISTRY.to_model()
        newcomer.devices.append(DeviceIn(device_id="h001-leak", site=SITE, kind="water",
                                         household="h001"))
        import_registry(other_process, newcomer)
        api_store = SqliteReadingStore(tmp_path / "api-readings.db")
        app = create_app(ApiContext(
            settings=settings, engine=other_process, store=api_store, broker_ready=lambda: True,
            alerts=AlertManager(SqlAlertRepository(other_process))))
        admin = TokenStore(other_process).create(name="Ada", role=Role.ADMIN).token
        with TestClient(app) as client:
            created = client.post("/api/v1/devices", params={"provision": "false"},
                                  headers={"Authorization": f"Bearer {admin}"}, json={
                                      "device_id": "h001-button", "site": SITE,
                                      "kind": "button", "household": "h001"})
        api_store.close()
        assert created.status_code == 201, created.text
        wait_until(lambda: None not in (pipeline.registry.get().device("h001-leak"),
                                        pipeline.registry.get().device("h001-button")),
                   what="the running pipeline to see the new devices")
        publish_all(mosquitto.host, mosquitto.port, [
            (topic(topic_prefix, "h001-leak", "event"),
             orjson.dumps({"ts": T0, "kind": "water", "event": "leak"})),
            (topic(topic_prefix, "h001-button", "event"),
             orjson.dumps({"ts": T0, "kind": "button", "event": "sos"}))])
        wait_until(lambda: pipeline.ingest.stats.valid == 2, what="the new devices' messages")
        assert pipeline.ingest.stats.dead_letters == 0
    finally:
        other_process.dispose()
        pipeline.stop()
