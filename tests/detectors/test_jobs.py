"""``safehood detect --jobs N``: sites dealt out to worker processes, the same output as one."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from safehood._offline_jobs import partition_sites
from safehood.cli import main
from safehood.protocol import Registry
from safehood.simulators import Community, SimulationConfig, write_recording

SITES = 3


@pytest.fixture(scope="module")
def sites_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a day of 9 households over 3 sites, many incidents, and lines no site owns."""
    out = tmp_path_factory.mktemp("sites")
    community = Community.generate(9, seed=11, sites=SITES)
    write_recording(out, community, SimulationConfig(seed=11, days=0.5, rate=800.0),
                    progress=False)
    with open(out / "traffic.jsonl", "ab") as handle:
        handle.write(b"this is not json\n")
        handle.write(b'{"no_topic": 1}\n')
        handle.write(b'{"topic": "safehood/v1/BAD SITE/x/event", "payload": {}}\n')
        handle.write(b'{"topic": "safehood/v1/elsewhere/nobody/event", '
                     b'"payload": {"ts": 1772409600000, "kind": "button", "event": "sos"}}\n')
    return out


def run_detect(directory: Path, out: Path, jobs: int,
               capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["detect", "--registry", str(directory / "registry.json"),
                 "--input", str(directory / "traffic.jsonl"), "--output", str(out),
                 "--jobs", str(jobs)]) == 0
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_detect_in_several_processes_writes_what_one_process_writes(
        sites_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = run_detect(sites_dir, tmp_path / "one.jsonl", 1, capsys)
    several = run_detect(sites_dir, tmp_path / "several.jsonl", SITES, capsys)
    alerts = (tmp_path / "one.jsonl").read_bytes()
    assert (tmp_path / "several.jsonl").read_bytes() == alerts
    assert several == one
    # Each site raised alerts of its own, so the numbering had to interleave the workers'.
    assert len({orjson.loads(line)["site"] for line in alerts.splitlines()}) == SITES
    for reason in ("bad_line 1", "bad_record 1", "bad_topic 1", "unknown_device 1"):
        assert reason in several


def test_a_worker_that_cannot_start_stops_the_run_with_its_reason(
        sites_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "model.joblib").write_bytes(b"not a model")
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(f"fall:\n  method: learned\n  model: {tmp_path / 'model.joblib'}\n")
    code = main(["detect", "--registry", str(sites_dir / "registry.json"),
                 "--input", str(sites_dir / "traffic.jsonl"), "--output",
                 str(tmp_path / "a.jsonl"), "--thresholds", str(thresholds), "--jobs", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "model" in err and "\n" not in err


def test_sites_are_dealt_out_by_devices_and_a_resident_keeps_hers_together() -> None:
    def home(household: str, site: str) -> dict[str, object]:
        return {"id": household, "site": site}

    def device(device_id: str, site: str, **more: str) -> dict[str, str]:
        return {"device_id": device_id, "site": site, "kind": "motion", **more}

    registry = Registry.from_data({
        "households": [home("h1", "a"), home("h2", "b"), home("h3", "c"), home("h4", "d")],
        "residents": [{"id": "r1", "household": "h1", "name": "Wang Fang"}],
        "devices": [device("a1", "a", household="h1"), device("a2", "a", household="h1"),
                    device("a3", "a", household="h1"), device("b1", "b", household="h2"),
                    device("c1", "c", household="h3"), device("d1", "d", household="h4"),
                    # worn by r1 of site a, registered at the shared space of site d
                    {"device_id": "d2", "site": "d", "kind": "button", "resident": "r1"}],
    })
    assert partition_sites(registry, 2) == [frozenset({"a", "d"}), frozenset({"b", "c"})]
    assert partition_sites(registry, 9) == [frozenset({"a", "d"}), frozenset({"b"}),
                                            frozenset({"c"})]
    assert partition_sites(registry, 1) == [frozenset({"a", "b", "c", "d"})]
