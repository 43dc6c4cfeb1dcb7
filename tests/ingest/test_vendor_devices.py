"""Vendor devices through a real mosquitto: Zigbee2MQTT and Shelly payloads on their own
topics become contract readings in the store and alerts in the API; a vendor topic no
device claims lands in the dead letters."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import paho.mqtt.publish as mqtt_publish
import pytest
from sqlalchemy import select

from safehood._broker import MosquittoBroker, free_port
from safehood._pipeline import Pipeline, build_pipeline
from safehood.api import Role, TokenStore
from safehood.config import Settings
from safehood.database import dead_letters
from safehood.protocol import Registry
from tests._mqtt import publish_all, wait_until
from tests.dialects._samples import LAST_SEEN, LAST_SEEN_MS, SHELLY_TS_MS, STATE_SAMPLES

SITE = "xianlin-3"


@dataclass
class Live:
    pipeline: Pipeline
    broker: MosquittoBroker
    url: str
    officer: str
    topics: dict[str, str]  # device id -> its vendor topic (unique to this run)

    def publish(self, *messages: tuple[str, Any], retain: bool = False) -> None:
        if retain:  # tests._mqtt publishes without retain; a retained one goes on its own
            for topic, payload in messages:
                mqtt_publish.single(topic, payload, qos=1, retain=True, hostname=self.broker.host,
                              port=self.broker.port)
            return
        publish_all(self.broker.host, self.broker.port,
                    [(t, p if isinstance(p, bytes) else orjson.dumps(p)) for t, p in messages])

    def open_alerts(self, alert_type: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/alerts", timeout=10,
                             headers={"Authorization": f"Bearer {self.officer}"})
        response.raise_for_status()
        return [a for a in response.json()["data"]
                if a["type"] == alert_type and a["status"] != "resolved"]

    def dead_letters(self) -> list[Any]:
        with self.pipeline.engine.connect() as connection:
            return list(connection.execute(select(dead_letters)).all())


@pytest.fixture(scope="module")
def live(mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    run = uuid.uuid4().hex[:8]  # vendor topics have no prefix of ours: names of this run's own
    topics = {
        "h1-smoke": f"zigbee2mqtt/{run}_kitchen_smoke",
        "h1-leak": f"zigbee2mqtt/{run}_kitchen_leak",
        "h1-door": f"zigbee2mqtt/{run}_front_door",
        "h1-sos": f"zigbee2mqtt/{run}_bedside_sos",
        "h2-flood": f"shellyfloodg4-{run}/events/rpc",
        "h2-smoke": f"shellyplussmoke-{run}/events/rpc",
    }
    kinds = {"smoke": "smoke", "leak": "water", "door": "door", "sos": "button", "flood": "water"}
    registry = Registry.from_data({
        "households": [{"id": "h1", "site": SITE, "lives_alone": True},
                       {"id": "h2", "site": SITE}],
        "residents": [{"id": "r1", "household": "h1", "name": "Wang Fang", "elderly": True}],
        "devices": [{"device_id": device, "site": SITE, "household": device[:2],
                     "kind": kinds[device.split("-")[1]], "source_topic": topic,
                     "dialect": "shelly" if topic.startswith("shelly") else "zigbee2mqtt"}
                    for device, topic in topics.items()],
    })
    prefix = f"t{run}"
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=prefix,
                        data_dir=tmp_path_factory.mktemp("vendor"), mqtt_client_id=f"ingest-{prefix}",
                        api_port=free_port())
    pipeline = build_pipeline(settings, registry_file=registry.to_model(), serve_api=True)
    pipeline.start()
    try:
        assert pipeline.ingest.source.connected.wait(15), "ingest did not connect"
        assert pipeline.api_url is not None
        officer = TokenStore(pipeline.engine).create(name="Li Wei", role=Role.OFFICER,
                                                     sites=[SITE]).token
        yield Live(pipeline, mosquitto, pipeline.api_url, officer, topics)
    finally:
        pipeline.stop()


def _sample(dialect: str, kind: str, **where: Any) -> dict[str, Any]:
    return next(s[2] for s in STATE_SAMPLES
                if s[0] == dialect and s[1] == kind and all(s[2].get(k) == v for k, v in where.items()))


def test_zigbee2mqtt_devices_become_readings_and_alerts(live: Live) -> None:
    before_ms = time.time_ns() // 1_000_000
    # The issue's smoke sensor, word for word: no ts, so it takes the receipt time.
    issue_payload = b'{"smoke":true,"battery":87,"linkquality":120,"tamper":false}'
    live.publish(
        (live.topics["h1-smoke"], issue_payload),
        (live.topics["h1-leak"], _sample("zigbee2mqtt", "water")),
        (live.topics["h1-door"], _sample("zigbee2mqtt", "door")),
        (live.topics["h1-sos"], {"action": "emergency", "battery": 100, "linkquality": 255}),
    )
    store = live.pipeline.store
    wait_until(lambda: len(live.open_alerts("sos")) == 1 and len(live.open_alerts("water_leak")) == 1,
               what="the sos and water_leak alerts of the Zigbee devices")
    after_ms = time.time_ns() // 1_000_000

    [smoke] = store.query("h1-smoke", before_ms, after_ms + 1)
    assert (smoke.channel, smoke.fields["event"], smoke.fields["battery"]) == ("event", "alarm", 87.0)
    assert smoke.fields["ts_from_receipt"] is True
    assert smoke.fields["linkquality"] == 120.0, "an unmapped field is kept as an extra reading"

    [leak] = store.query("h1-leak", LAST_SEEN_MS, LAST_SEEN_MS + 1)
    assert leak.channel == "telemetry" and leak.fields["leak"] is True
    assert "ts_from_receipt" not in leak.fields, f"event time is last_seen ({LAST_SEEN})"
    assert leak.fields["voltage"] == 3005.0

    [door] = store.query("h1-door", LAST_SEEN_MS, LAST_SEEN_MS + 1)
    assert door.fields["open"] is True, "contact: false is an open door"

    [sos] = live.open_alerts("sos")
    assert (sos["device_id"], sos["household"]) == ("h1-sos", "h1")
    [water] = live.open_alerts("water_leak")
    assert water["device_id"] == "h1-leak" and water["started_at"].startswith(LAST_SEEN[:19])


def test_availability_is_a_status_stamped_on_receipt(live: Live) -> None:
    topic = f"{live.topics['h1-door']}/availability"
    before_ms = time.time_ns() // 1_000_000
    live.publish((topic, b'{"state":"offline"}'), retain=True)
    try:
        def statuses() -> list[Any]:
            return live.pipeline.store.query("h1-door", before_ms, 2**62, channels={"status"})

        wait_until(lambda: len(statuses()) >= 1, what="the availability status")
        [status] = statuses()  # once: the dialect's filter and the claim do not overlap
        assert status.fields["online"] is False and status.fields["ts_from_receipt"] is True
    finally:  # the broker would hand the retained message to every later test's ingest
        live.publish((topic, b""), retain=True)


def test_shelly_devices_become_readings_and_alerts(live: Live) -> None:
    live.publish(
        (live.topics["h2-flood"], _sample("shelly", "water")),
        (live.topics["h2-smoke"], _sample("shelly", "smoke")),
    )
    wait_until(lambda: any(a["device_id"] == "h2-flood" for a in live.open_alerts("water_leak")),
               what="the Shelly flood sensor's water_leak alert")
    [flood] = live.pipeline.store.query("h2-flood", SHELLY_TS_MS, SHELLY_TS_MS + 1)
    assert flood.fields["leak"] is True and flood.fields["battery"] == 84.0
    assert flood.fields["params.wifi.rssi"] == -61.0
    wait_until(lambda: bool(live.pipeline.store.query("h2-smoke", SHELLY_TS_MS, SHELLY_TS_MS + 1)),
               what="the Shelly smoke alarm")
    [smoke] = live.pipeline.store.query("h2-smoke", SHELLY_TS_MS, SHELLY_TS_MS + 1)
    assert smoke.fields["event"] == "alarm"


def test_a_vendor_topic_no_device_claims_is_dead_lettered(live: Live) -> None:
    run = live.topics["h1-smoke"].split("/")[1].split("_")[0]
    unclaimed = {f"zigbee2mqtt/{run}_hall_smoke": b'{"smoke":true,"battery":87}',
                 f"shellyplussmoke-{run}x/events/rpc": orjson.dumps(_sample("shelly", "smoke"))}
    live.publish(*unclaimed.items())

    def letters() -> dict[str, Any]:
        return {row.topic: row for row in live.dead_letters() if row.topic in unclaimed}

    wait_until(lambda: len(letters()) == len(unclaimed), what="the unclaimed topics' dead letters")
    for topic, row in letters().items():
        assert row.reason == "unclaimed_source" and row.payload == unclaimed[topic]
        assert "no registered device claims" in row.detail
