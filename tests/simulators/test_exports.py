"""The simulator's front door stays small."""

from __future__ import annotations

from safehood import simulators


def test_the_package_exports_only_its_public_interface() -> None:
    public = {name for name in dir(simulators) if not name.startswith("_")}
    public -= {"const"}  # the constants module is public by convention
    assert public == set(simulators.__all__)
    assert set(simulators.__all__) == {
        "POPULATIONS", "Population", "SCENARIOS", "BrokerUnreachable", "Community",
        "LiveSimulator", "LiveStats", "Radio",
        "RecordingSummary", "ReplayStats", "Replayer", "ScenarioRequest", "SimMessage",
        "Simulation", "SimulationConfig", "describe_scenarios", "parse_broker_url",
        "parse_scenario_names", "simulate", "write_recording",
    }
