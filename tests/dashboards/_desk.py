"""A live duty desk for the browser tests: the pipeline with its API on a free port, on the
test broker, with one officer's token for one site."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from safehood._broker import MosquittoBroker, free_port
from safehood._pipeline import Pipeline, build_pipeline
from safehood.api import Role, TokenStore
from safehood.config import Settings
from safehood.protocol import Registry


@dataclass
class LiveDesk:
    pipeline: Pipeline
    url: str
    officer: str
    topic: str  # the site's topic root: <prefix>/v1/<site>

    def get(self, path: str) -> Any:
        return httpx.get(f"{self.url}/api/v1/{path}", timeout=10,
                         headers={"Authorization": f"Bearer {self.officer}"}).json()


@contextmanager
def live_desk(mosquitto: MosquittoBroker, data_dir: Path, registry: Registry, site: str, *,
              exercise: bool = False) -> Iterator[LiveDesk]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(mqtt_url=mosquitto.url, topic_prefix=prefix, data_dir=data_dir,
                        mqtt_client_id=f"ingest-{prefix}", store_flush_interval_s=0.1,
                        api_port=free_port())
    pipeline = build_pipeline(settings, registry_file=registry.to_model(), serve_api=True,
                              exercise=exercise)
    pipeline.start()
    try:
        assert pipeline.ingest.source.connected.wait(15), "ingest did not connect"
        officer = TokenStore(pipeline.engine).create(name="Li Wei", role=Role.OFFICER,
                                                     sites=[site]).token
        assert pipeline.api_url is not None
        yield LiveDesk(pipeline, pipeline.api_url, officer, f"{prefix}/v1/{site}")
    finally:
        pipeline.stop()
