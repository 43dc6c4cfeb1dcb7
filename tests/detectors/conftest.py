"""A small simulated recording shared by the detector tests (simulated once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from safehood.protocol import ContractViolation, Label, Message, Registry, ReplayRecord, parse_message
from safehood.simulators import Community, SimulationConfig, simulate, write_recording

HOUSEHOLDS = 20
DAYS = 2.0
SEED = 5
RATE = 150.0  # incidents per 100 household-days: about 60, every scenario at least once


@dataclass(frozen=True)
class Recording:
    registry: Registry
    lines: list[bytes]
    labels: list[Label]
    messages: list[Message]


def parse_lines(lines: list[bytes], registry: Registry) -> list[Message]:
    messages = []
    latest = 0
    for line in lines:
        record = ReplayRecord.model_validate_json(line)
        try:
            message = parse_message(record.topic, record.payload_bytes(), latest, registry)
        except ContractViolation:
            continue
        latest = max(latest, message.ts_ms)
        messages.append(message)
    return messages


@pytest.fixture(scope="session")
def community() -> Community:
    return Community.generate(HOUSEHOLDS, seed=SEED)


@pytest.fixture(scope="session")
def sim_config() -> SimulationConfig:
    return SimulationConfig(seed=SEED, days=DAYS, rate=RATE)


@pytest.fixture(scope="session")
def recording(community: Community, sim_config: SimulationConfig) -> Recording:
    simulation = simulate(community, sim_config)
    lines = simulation.lines()
    return Recording(community.registry, lines, simulation.labels,
                     parse_lines(lines, community.registry))


@pytest.fixture(scope="session")
def recording_dir(tmp_path_factory: pytest.TempPathFactory, community: Community,
                  sim_config: SimulationConfig) -> Path:
    """The same recording as files: registry.json, traffic.jsonl, labels.jsonl."""
    out = tmp_path_factory.mktemp("recording")
    write_recording(out, community, sim_config, progress=False)
    return out
