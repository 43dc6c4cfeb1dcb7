"""Restarts of an in-process pipeline: nothing arrives twice, nor makes an alert twice, and the
detectors carry on where they stood. The restarts of `safehood run` itself (SIGTERM, SIGKILL
mid-stream) are in tests/faults."""

from __future__ import annotations

from pathlib import Path

import orjson

from safehood._broker import MosquittoBroker
from safehood._pipeline import Pipeline, build_pipeline
from safehood.alerting import AlertChange
from safehood.config import Settings
from safehood.protocol import AlertStatus, Registry
from tests._mqtt import publish_all, wait_until

T0 = 1772410500000
SITE = "xianlin-3"
DEVICE = "h001-motion-hall"


def messages(prefix: str, seqs: range) -> list[tuple[str, bytes]]:
    topic = f"{prefix}/v1/{SITE}/{DEVICE}/event"
    return [(topic, orjson.dumps({"ts": T0 + seq * 1000, "seq": seq, "kind": "motion",
                                  "event": "motion"})) for seq in seqs]


def test_a_redelivered_sos_after_a_restart_makes_no_alert_twice(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path
) -> None:
    """A QoS 1 redelivery carries the same device, seq and ts: after a restart it must not
    count again on the open alert, nor raise (and notify) anew once that was resolved."""
    registry = Registry.from_data({
        "households": [{"id": "h001", "site": SITE}],
        "residents": [{"id": "r001", "household": "h001", "name": "Wang Fang"}],
        "devices": [{"device_id": "r001-button", "site": SITE, "kind": "button",
                     "household": "h001", "resident": "r001"},
                    {"device_id": DEVICE, "site": SITE, "kind": "motion", "household": "h001"}],
    })
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"ingest-{topic_prefix}")
    press = (f"{topic_prefix}/v1/{SITE}/r001-button/event",
             orjson.dumps({"ts": T0, "seq": 7, "kind": "button", "event": "sos"}))

    def restarted(marker_seq: int) -> tuple[Pipeline, list[AlertChange]]:
        """A new pipeline on the same data directory that has been sent the press again,
        then a motion event; returns once it handled both."""
        pipeline = build_pipeline(settings, registry_file=registry.to_model(), serve_api=False)
        changes: list[AlertChange] = []
        pipeline.alerts.subscribe(changes.append)
        pipeline.start()
        publish_all(mosquitto.host, mosquitto.port,
                    [press, *messages(topic_prefix, range(marker_seq, marker_seq + 1))])
        wait_until(lambda: pipeline.ingest.stats.received >= 2, what="the repeat and the marker")
        return pipeline, changes

    first = build_pipeline(settings, registry_file=registry.to_model(), serve_api=False)
    first.start()
    try:
        publish_all(mosquitto.host, mosquitto.port, [press])
        wait_until(lambda: first.alerts.count() == 1, what="the SOS alert")
    finally:
        first.stop()

    second, changes = restarted(1)
    try:
        (alert,) = second.alerts.list()
        assert alert.count == 1
        assert changes == []
        assert second.ingest.stats.duplicates == 1
        second.alerts.resolve(alert.id, "officer", "help arrived")
    finally:
        second.stop()

    third, changes = restarted(2)
    try:
        (alert,) = third.alerts.list()
        assert alert.status == AlertStatus.RESOLVED and alert.count == 1
        assert changes == []
    finally:
        third.stop()


def test_the_detectors_clocks_resume_where_they_stood(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path
) -> None:
    """A site silent since before a restart still has its event time carried on, so its
    offline and inactivity deadlines come without a new message of its own; no further
    than the newest event time heard since (here: another site's)."""
    registry = Registry.from_data({
        "households": [{"id": "h001", "site": SITE}, {"id": "h101", "site": "gulou-1"}],
        "devices": [{"device_id": DEVICE, "site": SITE, "kind": "motion", "household": "h001"},
                    {"device_id": "h101-motion", "site": "gulou-1", "kind": "motion",
                     "household": "h101"}],
    })
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"ingest-{topic_prefix}")
    first = build_pipeline(settings, registry_file=registry.to_model(), serve_api=False)
    first.start()
    try:
        publish_all(mosquitto.host, mosquitto.port, messages(topic_prefix, range(10)))
        wait_until(lambda: first.ingest.stats.valid == 10, what="the ten messages")
    finally:
        first.stop()

    second = build_pipeline(settings, registry_file=registry.to_model(), serve_api=False)
    second.start()
    try:
        elsewhere = T0 + 60_000
        publish_all(mosquitto.host, mosquitto.port, [(
            f"{topic_prefix}/v1/gulou-1/h101-motion/event",
            orjson.dumps({"ts": elsewhere, "seq": 1, "kind": "motion", "event": "motion"}))])
        engine = second.detection.engine
        lateness = engine.allowed_lateness_ms
        wait_until(lambda: (engine.watermark_ms(SITE) or 0) >= T0 + 9_000 - lateness,
                   what="the silent site's clock")
        assert (engine.watermark_ms(SITE) or 0) <= elsewhere - lateness
    finally:
        second.stop()
