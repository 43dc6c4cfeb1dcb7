"""Simulated communities and their sensor traffic, with ground-truth labels.

Generate a :class:`Community`, then either simulate it in memory (:func:`simulate`), write a
recording (:func:`write_recording`: registry, replay file, labels), publish it live to a broker
(:class:`LiveSimulator`), or publish a recording (:class:`Replayer`).
"""

from ._community import Community
from ._engine import RecordingSummary, SimMessage, Simulation, SimulationConfig, simulate, write_recording
from ._scenarios import SCENARIOS, ScenarioRequest, describe_scenarios
from ._units import Radio

__all__ = [
    "SCENARIOS",
    "Community",
    "Radio",
    "RecordingSummary",
    "ScenarioRequest",
    "SimMessage",
    "Simulation",
    "SimulationConfig",
    "describe_scenarios",
    "simulate",
    "write_recording",
]
