"""``safehood train``: a small run writes a usable model and the report; bad arguments get
one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from safehood.cli import main
from safehood.learning import FallClassifier


def run_main(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exit:
        return int(exit.code or 0)


def test_a_small_simulated_run_writes_the_model_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, report = tmp_path / "fall.joblib", tmp_path / "report"
    code = run_main(["train", "--train-seeds", "6", "--held-out-seeds", "4", "--falls", "6",
                     "--ordinary", "30", "--seed", "500", "--model", str(model),
                     "--report", str(report), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "chosen:" in out and "rules:" in out
    classifier = FallClassifier.load(model)
    assert classifier.metadata["source"]["train_seeds"] == [500, 505]
    assert classifier.metadata["source"]["held_out_seeds"] == [506, 509]
    assert {p.name for p in report.iterdir()} >= {"report.md", "metrics.json", "roc.png",
                                                  "precision_recall.png", "confusion.png"}


@pytest.mark.parametrize("args", [
    ["train", "--labels", "/nonexistent.jsonl"],
    ["train", "--train-seeds", "0"],
    ["train", "--falls", "many"],
])
def test_bad_arguments_get_one_line_and_nonzero(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(args) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


def test_labels_without_a_recording_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text("")
    assert run_main(["train", "--labels", str(labels)]) == 2
    assert capsys.readouterr().err.strip() == "safehood train: --labels and --held-out-* go with --input"


def test_a_recording_without_falls_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic, labels = tmp_path / "traffic.jsonl", tmp_path / "labels.jsonl"
    traffic.write_text('{"topic": "safehood/v1/s1/b1/telemetry", "payload": {"ts": 1772409600000, '
                       '"kind": "wearable", "accel": [[0, 0, 1], [0, 0, 1]], "hz": 25}}\n'
                       '{"topic": "safehood/v1/s1/b2/telemetry", "payload": {"ts": 1772409600000, '
                       '"kind": "wearable", "accel": [[0, 0, 1], [0, 0, 1]], "hz": 25}}\n')
    labels.write_text("")
    assert run_main(["train", "--input", str(traffic), "--labels", str(labels),
                     "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("safehood train: the training windows need both falls and non-falls")
    assert len(err.splitlines()) == 1
