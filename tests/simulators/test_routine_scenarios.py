"""The routine-change scenarios (label ``abnormal_routine``), and the routine detector finding
them end to end: ``safehood simulate`` -> ``detect`` -> ``evaluate``."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from safehood.cli import main
from safehood.protocol import Label, read_labels

DAYS = 26  # a week and a half of ordinary life, then the longest change (two weeks)


def _run(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exit:
        return int(exit.code or 0)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three elderly people living alone for 26 days, each routine change once."""
    out = tmp_path_factory.mktemp("routine")
    assert _run(["simulate", "--households", "3", "--days", str(DAYS), "--seed", "5",
                 "--scenarios", "routine", "--rate", "0", "--elderly-alone-share", "1",
                 "--no-progress", "--workers", "1", "--out", str(out)]) == 0
    return out


def _traffic(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in (path / "traffic.jsonl").read_bytes().splitlines()]


def _label(path: Path, scenario: str) -> Label:
    return next(label for label in read_labels(path / "labels.jsonl")
                if getattr(label, "scenario", None) == scenario)


def _motion(records: list[dict[str, object]], device_id: str, start: int, end: int) -> list[int]:
    out = []
    for record in records:
        payload = record["payload"]
        assert isinstance(payload, dict)
        topic = str(record["topic"])
        if topic.endswith(f"/{device_id}/event") and start <= payload["ts"] < end:
            out.append(int(payload["ts"]))
    return out


def test_each_routine_change_is_labelled_after_a_routine_to_change(recording: Path) -> None:
    labels = read_labels(recording / "labels.jsonl")
    summary = orjson.loads((recording / "summary.json").read_bytes())
    assert sorted(getattr(label, "scenario", "") for label in labels) == [
        "night_trips", "not_getting_up", "withdrawal"]
    assert {label.type for label in labels} == {"abnormal_routine"}
    assert len({label.household for label in labels}) == 3  # one change per household
    for label in labels:
        assert label.resident is not None
        assert summary["start"] + 9 * 86_400_000 <= label.start < label.end <= summary["end"]
    withdrawal = _label(recording, "withdrawal")
    assert withdrawal.end - withdrawal.start > 13 * 86_400_000


def test_not_getting_up_is_a_morning_in_bed(recording: Path) -> None:
    label = _label(recording, "not_getting_up")
    records = _traffic(recording)
    home = label.household
    assert _motion(records, f"{home}-motion-kitchen", label.start, label.end) == []
    assert _motion(records, f"{home}-motion-bathroom", label.start, label.end) == []
    # Alive, turning over in bed: not a collapse.
    assert _motion(records, f"{home}-motion-bedroom", label.start, label.end)


def test_night_trips_at_least_double(recording: Path) -> None:
    label = _label(recording, "night_trips")
    records = _traffic(recording)
    sensor = f"{label.household}-motion-bathroom"
    day = 86_400_000

    def night_visits(start: int, end: int) -> int:
        # Bathroom visits between 00:00 and 05:00 local (UTC+8): the middle of the night.
        times = [t for t in _motion(records, sensor, start, end)
                 if (t // 3_600_000 + 8) % 24 < 5]
        visits = [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] > 20 * 60_000]
        return len(visits)

    before = night_visits(label.start - 8 * day, label.start)
    after = night_visits(label.end - 6 * day, label.end)
    assert after / 6 >= 2 * before / 8 and after > before * 6 / 8 + 3


def test_simulate_detect_evaluate_finds_them(recording: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    alerts = recording / "alerts.jsonl"
    assert _run(["detect", "--registry", str(recording / "registry.json"),
                 "--input", str(recording / "traffic.jsonl"), "--output", str(alerts)]) == 0
    capsys.readouterr()
    assert _run(["evaluate", "--labels", str(recording / "labels.jsonl"), "--alerts",
                 str(alerts), "--summary", str(recording / "summary.json"), "--json"]) == 0
    scores = {s["type"]: s for s in orjson.loads(capsys.readouterr().out)["scores"]}
    routine = scores["abnormal_routine"]
    assert routine["labels"] == 3
    assert routine["recall"] == 1.0
    assert routine["false_alarms"] == 0
    assert set(scores) == {"abnormal_routine"}  # nothing else in ordinary days
