"""Event time makes detection reproducible: one recording replayed live through mosquitto at
full speed raises the same alerts as the offline run over the same file."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from safehood._broker import MosquittoBroker
from safehood._pipeline import build_pipeline
from safehood.alerting import AlertQuery
from safehood.commands.detect import AlertSink, detect
from safehood.config import Settings
from safehood.detectors import DetectorConfig
from safehood.protocol import Registry, parse_ts_ms
from safehood.simulators import Community, Replayer, SimulationConfig, write_recording
from tests._mqtt import wait_until

LATENESS_S = 2.0


def test_live_replay_and_offline_run_raise_the_same_alerts(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path
) -> None:
    community = Community.generate(10, seed=5)
    config = SimulationConfig(seed=5, days=1, rate=60, topic_prefix=topic_prefix)
    recording = tmp_path / "recording"
    write_recording(recording, community, config, progress=False)
    traffic = recording / "traffic.jsonl"
    registry = Registry.load(recording / "registry.json")
    # A short allowed lateness, the same in both runs, so the live run need not wait long
    # after the last message for the final timers.
    thresholds = tmp_path / "detectors.json"
    thresholds.write_bytes(orjson.dumps({"time": {"allowed_lateness_s": LATENESS_S}}))

    offline, summary = detect(registry, traffic, config=DetectorConfig.load(thresholds),
                              topic_prefix=topic_prefix,
                              sink=AlertSink(registry, resolve_after_s=None))
    assert summary.last_ms is not None
    assert len(offline) >= 5, "the recording should raise a fair number of alerts"

    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix,
                        data_dir=tmp_path / "live", mqtt_client_id=f"ingest-{topic_prefix}",
                        detector_config_file=thresholds)
    pipeline = build_pipeline(settings, registry_file=registry.to_model(), serve_api=False)
    pipeline.start()
    try:
        replayer = Replayer(traffic, mosquitto.url, speed=None)
        published = replayer.run().published
        wait_until(lambda: pipeline.ingest.stats.received >= published, timeout_s=120,
                   what="ingest to take the whole replay")
        # The live site clocks carry on with the wall clock; once they have passed the end
        # of the recording by the allowed lateness, every timer the offline run fired has
        # fired live too.
        time.sleep(LATENESS_S + 2)
        live = pipeline.alerts.list(AlertQuery(limit=None))
    finally:
        pipeline.stop()

    def raised(alerts: list, until_ms: int) -> set[tuple[str, str, str]]:
        return {(a.type.value, a.subject, a.started_at) for a in alerts
                if parse_ts_ms(a.started_at) <= until_ms}

    end = summary.last_ms
    assert raised(live, end) == raised(offline, end)
