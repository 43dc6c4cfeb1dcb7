"""The runnable examples in the detectors' docstrings."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

from safehood import detectors

MODULES = sorted(m.name for m in pkgutil.iter_modules(detectors.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(f"safehood.detectors.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_main_detectors_have_examples() -> None:
    for name in ("smoke", "sos", "fall", "water", "door", "night_wandering", "inactivity",
                 "device_health", "engine", "clock", "config"):
        module = importlib.import_module(f"safehood.detectors.{name}")
        assert doctest.DocTestFinder().find(module), name
