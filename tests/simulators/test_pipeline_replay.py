"""A day of 20 simulated households, replayed through mosquitto into the live pipeline:
everything valid lands in the store, nothing goes to the dead letters."""

from __future__ import annotations

from pathlib import Path

import orjson

from safehood._broker import MosquittoBroker
from safehood._pipeline import build_pipeline
from safehood.config import Settings
from safehood.protocol import Registry
from safehood.simulators import Community, Replayer, SimulationConfig, write_recording
from tests._mqtt import wait_until


def test_a_recorded_day_replays_into_the_store(mosquitto: MosquittoBroker, topic_prefix: str,
                                              tmp_path: Path) -> None:
    out = tmp_path / "recording"
    write_recording(out, Community.generate(10, seed=13), SimulationConfig(seed=13),
                    progress=False)
    lines = (out / "traffic.jsonl").read_bytes().splitlines()
    distinct = set()
    for line in lines:
        record = orjson.loads(line)
        device_id, channel = record["topic"].split("/")[-2:]
        distinct.add((device_id, channel, record["payload"]["ts"]))
    assert len(distinct) < len(lines)  # the radio repeated a few

    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=topic_prefix, data_dir=tmp_path,
                        mqtt_client_id=f"ingest-{topic_prefix}", store_flush_interval_s=0.1)
    registry = Registry.load(out / "registry.json").to_model()
    for resident in registry.residents:
        resident.contacts = []  # alerts may fire; nobody needs an e-mail about it here
    pipeline = build_pipeline(settings, registry_file=registry, serve_api=False)
    pipeline.start()
    try:
        assert pipeline.ingest.source.connected.wait(10)
        stats = Replayer(out / "traffic.jsonl", mosquitto.url, speed=None,
                         topic_prefix=topic_prefix).run()
        assert stats.published == len(lines)
        wait_until(lambda: pipeline.ingest.stats.received >= len(lines), 120,
                   "ingest to receive the whole day")
        pipeline.store.flush()
        assert pipeline.ingest.stats.dead_letters == 0
        assert pipeline.ingest.stats.valid == len(distinct)
        assert pipeline.store.count() == len(distinct)
    finally:
        pipeline.stop()
