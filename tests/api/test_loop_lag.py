"""The API's event-loop lag probe: every pause of the loop shows on /metrics."""

from __future__ import annotations

import asyncio
import time

from safehood.api._loop_lag import LoopLagMonitor

from .conftest import Api


def test_a_blocked_loop_shows_as_lag() -> None:
    monitor = LoopLagMonitor(interval_s=0.02)

    async def block_once() -> None:
        probe = asyncio.create_task(monitor.run())
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # sync work on the loop: the probe wakes at least this late
        await asyncio.sleep(0.05)
        probe.cancel()

    asyncio.run(block_once())
    assert monitor.worst_s >= 0.25
    assert monitor.total_s >= monitor.worst_s


def test_the_worst_lag_is_that_of_the_last_window() -> None:
    monitor = LoopLagMonitor(interval_s=0.1, window_s=0.3)  # three wake-ups
    assert monitor.worst_s == 0.0
    for lag_s in (0.5, 0.01, 0.02, -0.001):  # early by a hair: no lag
        monitor.record(lag_s)
    assert monitor.worst_s == 0.02
    assert monitor.total_s == 0.53


def test_metrics_show_the_loop_lag(api: Api) -> None:
    lines = api.client.get("/metrics").text.splitlines()
    assert any(line.startswith("safehood_api_event_loop_lag_max_seconds ") for line in lines)
    assert any(line.startswith("safehood_api_event_loop_lag_seconds_total ") for line in lines)
