"""The command line: every subcommand documents itself, and refuses bad arguments or an
unreachable server with a one-line reason and a non-zero exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from safehood._broker import free_port
from safehood.cli import build_parser, main

SUBCOMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def safehood(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safehood.cli", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_the_design_subcommands_exist() -> None:
    for name in ("demo", "run", "simulate", "replay", "detect", "evaluate", "train", "token",
                 "registry", "provision"):
        assert name in SUBCOMMANDS


def run_main(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exit:
        return int(exit.code or 0)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"safehood {name}" in out
    assert len(out.splitlines()) > 3


@pytest.mark.parametrize("args", [
    ["replay", "/nonexistent/traffic.jsonl", "--broker", "mqtt://127.0.0.1:1"],
    ["detect", "--registry", "/nonexistent.json", "--input", "/nonexistent.jsonl", "--output", "-"],
    ["evaluate", "--labels", "/nonexistent.jsonl", "--alerts", "/nonexistent.jsonl"],
    ["simulate", "--households", "0", "--out", "/tmp/x"],
    ["demo", "--speed", "-3"],
    ["train", "--input", "/nonexistent.jsonl", "--labels", "/nonexistent.jsonl"],
])
def test_bad_arguments_get_one_line_and_nonzero(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(args) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip(), "no reason given"


def test_run_with_no_broker_says_so(tmp_path: Path) -> None:
    port = free_port()
    result = safehood("run", "--mqtt-url", f"mqtt://127.0.0.1:{port}", "--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("safehood run:")]
    assert lines and f"127.0.0.1:{port}" in lines[0]


def test_replay_with_no_broker_says_so(tmp_path: Path) -> None:
    traffic = tmp_path / "traffic.jsonl"
    traffic.write_text('{"topic": "safehood/v1/s/d/event", "payload": {"ts": 1772410500000}}\n')
    result = safehood("replay", str(traffic), "--broker", f"mqtt://127.0.0.1:{free_port()}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stderr.strip()


@pytest.mark.parametrize("argv", [["--help"], ["detect", "--help"]])
def test_help_loads_no_heavy_module(argv: list[str]) -> None:
    # What the help needs is argparse: every library below adds tenths of a second.
    heavy = ("numpy", "sklearn", "fastapi", "sqlalchemy", "pydantic", "apprise", "paho",
             "influxdb_client", "tqdm", "safehood.detectors", "safehood.protocol",
             "safehood.alerting")
    code = (
        "import sys\n"
        "from safehood.cli import build_parser\n"
        f"build_parser({argv!r}).format_help()\n"
        f"print(sorted(name for name in {heavy!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"
