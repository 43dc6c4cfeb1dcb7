"""The README's first command: `safehood demo` brings up everything, alerts appear, and
Ctrl-C stops it cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from safehood._broker import free_port


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "safehood.cli", "demo", "--duration", "120", "--speed", "120",
         "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        token = None
        deadline = time.monotonic() + 60
        while token is None and time.monotonic() < deadline:
            text = "".join(lines)
            match = re.search(r"duty officer token.*?\n\s+(shd_\S+)", text)
            token = match.group(1) if match else None
            time.sleep(0.2)
        assert token, "the demo printed no officer token:\n" + "".join(lines)
        assert f"http://127.0.0.1:{port}/ui/" in "".join(lines)
        assert "falls          learned classifier" in "".join(lines)

        api = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
        alerts: list[dict] = []
        while not alerts and time.monotonic() < deadline:
            alerts = api.get("/api/v1/alerts").json()["data"]
            time.sleep(0.5)
        assert alerts, "no alert within a minute of the demo starting"
        assert all(a["evidence"] for a in alerts)
        # The community's buildings have floors and flats: the building plan shows them.
        plan = api.get(f"/api/v1/sites/{alerts[0]['site']}/plan").json()
        flats = [u for b in plan["buildings"] for f in b["floors"] for u in f["units"]]
        assert flats and all(u["floor"] and u["unit"] for u in flats)
        assert api.get("/ui/").status_code == 200
        process.send_signal(signal.SIGINT)  # Ctrl-C
        assert process.wait(30) == 0, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines)
    assert "[notify ->" in output, "notifications were not delivered to the demo inbox"
    assert "Traceback" not in output
