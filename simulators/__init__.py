"""Simulated communities and their sensor traffic, with ground-truth labels.

Generate a :class:`Community`, then simulate it in memory (:func:`simulate`), write a
recording (:func:`write_recording`: registry, replay file, labels), publish it live to a broker
(:class:`LiveSimulator`), or publish a recording (:class:`Replayer`).
"""

from safehood.mqtt import BrokerUnreachable

from ._community import Community
from ._engine import (
    RecordingSummary,
    SimMessage,
    Simulation,
    SimulationConfig,
    simulate,
    write_recording,
)
from ._live import LiveSimulator, LiveStats
from ._population import POPULATIONS, Population
from ._replayer import Replayer, ReplayStats
from ._scenarios import SCENARIOS, ScenarioRequest, describe_scenarios, parse_scenario_names
from ._transmitter import Radio

__all__ = [
    "POPULATIONS",
    "SCENARIOS",
    "BrokerUnreachable",
    "Community",
    "LiveSimulator",
    "LiveStats",
    "Population",
    "Radio",
    "RecordingSummary",
    "ReplayStats",
    "Replayer",
    "ScenarioRequest",
    "SimMessage",
    "Simulation",
    "SimulationConfig",
    "describe_scenarios",
    "parse_scenario_names",
    "simulate",
    "write_recording",
]
