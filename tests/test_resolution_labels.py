"""Officers' resolutions as labels for ``safehood evaluate`` (issue 13): a false alarm
counts against precision, a real incident is a detection, tests and device faults are left
out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safehood.cli import main


def _alert(alert_id: str, resolution: str | None, household: str) -> dict[str, object]:
    alert: dict[str, object] = {
        "id": alert_id, "type": "smoke", "severity": "Severe", "status": "resolved",
        "site": "s1", "household": household, "subject": household,
        "started_at": "2026-01-01T10:00:00.000Z", "resolved_at": "2026-01-01T10:20:00.000Z"}
    if resolution is not None:
        alert["resolution"] = resolution
    return alert


def test_false_alarm_marks_score_precision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alerts = tmp_path / "alerts.jsonl"
    rows = [_alert("a1", "real", "h1"), _alert("a2", "false_alarm", "h2"),
            _alert("a3", "false_alarm", "h3"), _alert("a4", "test", "h4"),
            _alert("a5", "device_fault", "h5"), _alert("a6", None, "h6")]
    alerts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = main(["evaluate", "--labels-from-resolutions", "--alerts", str(alerts),
                 "--households", "10", "--days", "1", "--json"])
    assert code == 0
    scores = json.loads(capsys.readouterr().out)["scores"]
    smoke = next(s for s in scores if s["type"] == "smoke")
    assert (smoke["labels"], smoke["detected"], smoke["alerts"], smoke["false_alarms"]) == (1, 1, 3, 2)
    assert smoke["precision"] == pytest.approx(1 / 3)


def test_labels_or_resolutions_not_both(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(json.dumps(_alert("a1", "real", "h1")) + "\n")
    assert main(["evaluate", "--alerts", str(alerts), "--households", "1"]) != 0
    assert main(["evaluate", "--alerts", str(alerts), "--labels", str(alerts),
                 "--labels-from-resolutions", "--households", "1"]) != 0
