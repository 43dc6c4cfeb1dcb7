"""Recordings shared by the simulator tests (generated once per session)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from safehood.protocol import Label, Registry, read_labels
from safehood.simulators import Community, RecordingSummary, SimulationConfig, write_recording


@dataclass
class Recording:
    """A recording on disk, read back the way a user would: registry, lines, labels."""

    path: Path
    community: Community
    config: SimulationConfig
    summary: RecordingSummary
    registry: Registry
    records: list[dict[str, Any]]
    labels: list[Label]
    by_device: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def write(cls, path: Path, community: Community, config: SimulationConfig) -> Recording:
        summary = write_recording(path, community, config, progress=False)
        records = [orjson.loads(line) for line in (path / "traffic.jsonl").read_bytes().splitlines()]
        by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            record["device"], record["channel"] = record["topic"].split("/")[-2:]
            by_device[record["device"]].append(record)
        return cls(path, community, config, summary, Registry.load(path / "registry.json"),
                   records, read_labels(path / "labels.jsonl"), dict(by_device))

    def messages(self, device_id: str, channel: str | None = None, start: int | None = None,
                 end: int | None = None) -> list[dict[str, Any]]:
        """Payloads of ``device_id`` (on ``channel``) with ``start <= ts <= end``."""
        out = []
        for record in self.by_device.get(device_id, []):
            ts = record["payload"].get("ts")
            if channel is not None and record["channel"] != channel:
                continue
            if start is not None and (ts is None or ts < start):
                continue
            if end is not None and (ts is None or ts > end):
                continue
            out.append(record["payload"])
        return out

    def labelled(self, *types: str) -> list[Label]:
        return [label for label in self.labels if label.type in types]


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """60 households for a day, every scenario at least once, ~24 incidents."""
    community = Community.generate(60, seed=11)
    config = SimulationConfig(seed=11, rate=40)
    return Recording.write(tmp_path_factory.mktemp("recording"), community, config)


@pytest.fixture(scope="session")
def falls(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """Falls and their hard negatives, many of each."""
    community = Community.generate(80, seed=5)
    config = SimulationConfig(
        seed=5, rate=50,
        scenarios=("fall", "fall_recovered", "drop_wearable", "sit_hard", "jump",
                   "sit_hard_still", "take_off", "bed_flop"),
    )
    return Recording.write(tmp_path_factory.mktemp("falls"), community, config)


@pytest.fixture(scope="session")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """Fires and cooking smoke, several of each."""
    community = Community.generate(60, seed=8)
    config = SimulationConfig(seed=8, rate=20, scenarios=("fire", "cooking_smoke"))
    return Recording.write(tmp_path_factory.mktemp("smoke"), community, config)
