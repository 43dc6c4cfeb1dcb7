"""When the readings stream is judged to have stopped sourcing from NATS's MQTT stream,
from a crafted sequence of looks at both streams."""

from __future__ import annotations

from safehood.scaleout._source_watchdog import SourceStall


def looks(stall: SourceStall, seen: list[tuple[float, int, int, int]]) -> list[float]:
    """The times of ``(time, waiting, MQTT first sequence, readings last sequence)`` looks
    at which the sourcing counts as stalled."""
    return [now for now, waiting, first, last in seen
            if stall.stalled_one(waiting, first, last, now)]


def test_readings_waiting_that_nothing_takes_are_a_stall_once_per_cooldown() -> None:
    stall = SourceStall(stall_s=6.0, cooldown_s=20.0)
    # The source takes readings until t=2, then 3,000 wait in the MQTT stream untaken.
    seen = [(0.0, 50, 100, 400), (1.0, 40, 110, 410), (2.0, 3000, 120, 420)]
    seen += [(float(t), 3000, 120, 420) for t in range(3, 40)]
    assert looks(stall, seen) == [8.0, 28.0]


def test_sourcing_that_moves_or_has_nothing_to_take_is_no_stall() -> None:
    stall = SourceStall(stall_s=6.0, cooldown_s=20.0)
    # Readings keep reaching the readings stream, then the MQTT stream is empty (quiet).
    seen = [(float(t), 100, 1000 + t, 5000 + t) for t in range(20)]
    seen += [(float(t), 0, 1020, 5020) for t in range(20, 40)]
    assert looks(stall, seen) == []
