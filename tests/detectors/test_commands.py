"""``safehood detect`` and ``safehood evaluate`` end to end on a simulated recording."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from safehood.cli import main
from safehood.protocol import Alert

from .conftest import DAYS


@pytest.fixture(scope="module")
def alerts_file(recording_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("detect") / "alerts.jsonl"
    code = main(["detect", "--registry", str(recording_dir / "registry.json"),
                 "--input", str(recording_dir / "traffic.jsonl"), "--output", str(out)])
    assert code == 0
    return out


def read_alerts(path: Path) -> list[Alert]:
    return [Alert.model_validate(orjson.loads(line)) for line in path.read_bytes().splitlines()]


def test_detect_writes_one_alert_per_line(alerts_file: Path) -> None:
    alerts = read_alerts(alerts_file)
    assert len(alerts) > 20
    types = {a.type.value for a in alerts}
    assert {"fire", "smoke", "sos", "fall", "water_leak", "forced_entry"} <= types
    first = alerts[0]
    assert first.id and first.started_at.endswith("Z") and first.history


def test_detect_writes_each_alert_once_in_its_final_state(alerts_file: Path) -> None:
    alerts = read_alerts(alerts_file)
    assert len({a.id for a in alerts}) == len(alerts)
    for alert in alerts:
        assert alert.history[0].action == "raised"
        assert alert.updated_at == max(e.at for e in alert.history)
        assert alert.count >= 1
        if alert.status.value == "resolved":
            assert alert.history[-1].at == alert.resolved_at


def test_detect_never_raises_and_resolves_an_alert_at_the_same_instant(alerts_file: Path) -> None:
    alerts = read_alerts(alerts_file)
    instant = [(a.type.value, a.subject, a.started_at) for a in alerts
               if a.resolved_at == a.started_at]
    assert instant == []
    assert any(a.resolved_at is not None for a in alerts)


def test_detect_makes_one_alert_per_incident_of_a_person(recording_dir: Path,
                                                          alerts_file: Path) -> None:
    labels = [orjson.loads(line) for line in
              (recording_dir / "labels.jsonl").read_bytes().splitlines()]
    for kind in ("fall", "sos"):
        incidents = [label for label in labels if label["type"] == kind]
        raised = [a for a in read_alerts(alerts_file) if a.type.value == kind]
        assert incidents and len(raised) <= len(incidents), kind


def test_detect_is_reproducible(recording_dir: Path, alerts_file: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.jsonl"
    assert main(["detect", "--registry", str(recording_dir / "registry.json"),
                 "--input", str(recording_dir / "traffic.jsonl"), "--output", str(again)]) == 0
    assert again.read_bytes() == alerts_file.read_bytes()


def test_detect_counts_bad_lines_and_carries_on(recording_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    traffic = tmp_path / "traffic.jsonl"
    shutil.copy(recording_dir / "traffic.jsonl", traffic)
    with open(traffic, "ab") as handle:
        handle.write(b"this is not json\n")
        handle.write(b'{"no_topic": 1}\n')
        handle.write(b'{"topic": "safehood/v1/BAD SITE/x/event", "payload": {}}\n')
        handle.write(b'{"topic": "safehood/v1/xianlin-1/nobody/event", '
                     b'"payload": {"ts": 1772409600000, "kind": "button", "event": "sos"}}\n')
    out = tmp_path / "alerts.jsonl"
    assert main(["detect", "--registry", str(recording_dir / "registry.json"),
                 "--input", str(traffic), "--output", str(out)]) == 0
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert summary.startswith("safehood detect: ")
    for reason in ("bad_line 1", "bad_record 1", "bad_topic 1", "unknown_device 1"):
        assert reason in summary
    assert out.stat().st_size > 0


def test_detect_refuses_a_broken_registry_in_one_line(recording_dir: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    registry = tmp_path / "registry.json"
    registry.write_text('{"households": [{"id": "h1"}]}')
    code = main(["detect", "--registry", str(registry),
                 "--input", str(recording_dir / "traffic.jsonl"),
                 "--output", str(tmp_path / "a.jsonl")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("safehood detect: cannot load registry") and "\n" not in err


def test_detect_refuses_bad_thresholds(recording_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text("smoke:\n  verify_window_s: 300\n")
    code = main(["detect", "--registry", str(recording_dir / "registry.json"),
                 "--input", str(recording_dir / "traffic.jsonl"),
                 "--output", str(tmp_path / "a.jsonl"), "--thresholds", str(thresholds)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "smoke.verify_window_s" in err and "\n" not in err


def test_detect_without_required_arguments_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["detect", "--registry", "/nonexistent.json"])
    assert exit_info.value.code == 2


def test_evaluate_prints_the_table_and_draws_the_plot(
    recording_dir: Path, alerts_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "scores.png"
    code = main(["evaluate", "--labels", str(recording_dir / "labels.jsonl"),
                 "--alerts", str(alerts_file), "--registry", str(recording_dir / "registry.json"),
                 "--days", str(DAYS), "--plot", str(png)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].split()[:4] == ["type", "labels", "detected", "recall"]
    assert "household-days: 40.0" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_json(recording_dir: Path, alerts_file: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", "--labels", str(recording_dir / "labels.jsonl"),
                 "--alerts", str(alerts_file), "--households", "20", "--json"])
    data = orjson.loads(capsys.readouterr().out)
    assert code == 0
    assert {s["type"] for s in data["scores"]} >= {"fire", "sos", "fall"}


def test_evaluate_needs_the_number_of_households(recording_dir: Path, alerts_file: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", "--labels", str(recording_dir / "labels.jsonl"),
                 "--alerts", str(alerts_file)])
    assert code == 2 and "--registry, --households or --summary" in capsys.readouterr().err


def test_evaluate_reads_households_and_days_from_the_simulator_summary(
    recording_dir: Path, alerts_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["evaluate", "--labels", str(recording_dir / "labels.jsonl"),
                 "--alerts", str(alerts_file), "--summary", str(recording_dir / "summary.json")])
    assert code == 0 and "household-days: 40.0" in capsys.readouterr().out


def test_detect_can_keep_alerts_open(recording_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "open.jsonl"
    assert main(["detect", "--registry", str(recording_dir / "registry.json"),
                 "--input", str(recording_dir / "traffic.jsonl"), "--output", str(out),
                 "--resolve-after", "0"]) == 0
    statuses = {a.status.value for a in read_alerts(out) if a.type.value == "sos"}
    assert statuses == {"firing"}


def test_evaluate_rejects_a_bad_max_delay(recording_dir: Path, alerts_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", "--labels", str(recording_dir / "labels.jsonl"),
                 "--alerts", str(alerts_file), "--households", "20", "--max-delay", "fall"])
    assert code == 2 and "TYPE=SECONDS" in capsys.readouterr().err
