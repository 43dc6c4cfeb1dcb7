"""``safehood run`` with ``SAFEHOOD_EXERCISE_SITES``: alerts raised from a drill site's
(simulated or replayed) traffic are exercises, everyone else's are actual."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehood._pipeline import build_pipeline
from safehood.alerting import render_cap
from safehood.config import Settings
from safehood.protocol import AlertDecision, DecisionAction, RegistryFile, Severity
from safehood.protocol import AlertType as T

REGISTRY = RegistryFile.model_validate({
    "households": [{"id": "h001", "site": "drill-1"}, {"id": "h101", "site": "gulou-1"}],
    "residents": [],
    "devices": [{"device_id": "h001-water", "site": "drill-1", "kind": "water",
                 "household": "h001"},
                {"device_id": "h101-water", "site": "gulou-1", "kind": "water",
                 "household": "h101"}],
})


def _leak(site: str, household: str) -> AlertDecision:
    return AlertDecision(action=DecisionAction.RAISE, type=T.WATER_LEAK,
                         severity=Severity.MODERATE, subject=f"{household}-water", site=site,
                         ts_ms=1_767_225_600_000, household=household,
                         device_id=f"{household}-water")


@pytest.mark.parametrize(("sites", "expected"), [
    ("drill-1", (True, False)), ("*", (True, True)), ("", (False, False))])
def test_alerts_of_exercise_sites_are_exercises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                sites: str, expected: tuple[bool, bool]) -> None:
    monkeypatch.setenv("SAFEHOOD_EXERCISE_SITES", sites)
    settings = Settings(data_dir=tmp_path)
    pipeline = build_pipeline(settings, registry_file=REGISTRY, serve_api=False)
    try:
        changes = pipeline.alerts.apply([_leak("drill-1", "h001"), _leak("gulou-1", "h101")])
        assert tuple(c.alert.exercise for c in changes) == expected
        status = "Exercise" if expected[0] else "Actual"
        assert f"<status>{status}</status>" in render_cap(changes[0].alert)
    finally:
        pipeline.stop()
