"""Each package's front door is its ``__all__``: nothing public leaks out beside it (as in
httpx's test of the same name), and everything it names exists."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ["protocol", "config", "mqtt", "database", "ingest", "store", "detectors", "alerting", "api",
            "dashboards", "simulators"]


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_are_exactly_all(name: str) -> None:
    package = importlib.import_module(f"safehood.{name}")
    exported = set(package.__all__)
    assert len(exported) == len(package.__all__), "a name is listed twice"
    missing = {n for n in exported if not hasattr(package, n)}
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"
    public = {n for n, value in vars(package).items()
              if not n.startswith("_") and not isinstance(value, types.ModuleType)
              and n != "annotations"}
    assert public - exported == set(), f"{name} exposes names outside __all__"
