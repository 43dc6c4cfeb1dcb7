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


def _ctrl_c_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "safehood.cli", "demo", "--duration", "120", "--speed", "120",
         "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # A shell's background job ignores SIGINT, and Python then never turns Ctrl-C into
        # KeyboardInterrupt: give the demo the terminal's Ctrl-C whoever ran the tests.
        preexec_fn=_ctrl_c_as_in_a_terminal,
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
        while "[webhook ->" not in "".join(lines) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(a["evidence"] for a in alerts)
        # Devices that speak Zigbee2MQTT arrive as ordinary readings; the first leak is theirs.
        assert "h0001-leak-kitchen" in "".join(lines) and "speak Zigbee2MQTT" in "".join(lines)
        leaks: list[dict] = []
        while not leaks and time.monotonic() < deadline + 30:
            readings = api.get("/api/v1/devices/h0001-leak-kitchen/readings",
                               params={"start": "946684800000"}).json()["data"]
            leaks = [r for r in readings if r["fields"].get("leak") is True]
            time.sleep(0.5)
        assert leaks, "the Zigbee leak sensor's leak never reached the store"
        # A household's devices in one request: the leak sensor's readings among them.
        assert "/api/v1/households/h0001/readings" in "".join(lines)
        home = api.get("/api/v1/households/h0001/readings",
                       params={"start": "946684800000"}).json()
        sensor = next(d for d in home["devices"] if d["device_id"] == "h0001-leak-kitchen")
        assert any(r["fields"].get("leak") is True for r in sensor["data"])
        # The community's buildings have floors and flats: the building plan shows them.
        plan = api.get(f"/api/v1/sites/{alerts[0]['site']}/plan").json()
        flats = [u for b in plan["buildings"] for f in b["floors"] for u in f["units"]]
        assert flats and all(u["floor"] and u["unit"] for u in flats)
        assert api.get("/ui/").status_code == 200
        process.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = process.wait(90)
        except subprocess.TimeoutExpired:
            process.kill()
            reader.join(5)
            raise AssertionError("the demo did not stop on Ctrl-C:\n" + "".join(lines)) from None
        assert code == 0, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines)
    assert "[notify ->" in output, "notifications were not delivered to the demo inbox"
    assert "(signature ok)" in output and "REFUSED" not in output, "no genuine webhook"
    assert "home assistant MQTT discovery on mqtt://" in output
    assert "Traceback" not in output
