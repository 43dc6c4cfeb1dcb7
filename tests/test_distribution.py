"""The distribution installs one importable name, ``safehood``, whose subpackages are the
stages kept in the repository's top-level folders (as httpx and river each install one)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("protocol", "config", "mqtt", "database", "dialects", "ingest", "store", "detectors",
          "alerting", "api", "dashboards", "simulators", "wellbeing", "learning", "scaleout")


def test_the_wheel_installs_only_the_safehood_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("safehood-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"safehood"}
    for stage in STAGES:
        assert f"safehood/{stage}/__init__.py" in names, stage
    assert "safehood/dashboards/web/index.html" in names
    assert "safehood/learning/models/fall-v2.joblib" in names
    assert "safehood/dialects/mappings/zigbee2mqtt.yaml" in names
    assert any(n.startswith("safehood/database/migrations/") and n.endswith(".py") for n in names)
