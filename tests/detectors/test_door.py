from __future__ import annotations

from datetime import time

import pytest

from ._support import HOUR, MIN, T0, S, engine, feed, msg, of_type, registry, summary

NOON = T0 + 12 * HOUR  # households of the test registry are in UTC


def test_forced_event_raises_forced_entry_at_once() -> None:
    reg = registry()
    decisions = engine(reg).process_one(msg(reg, "h1-door", NOON, event="forced"))
    assert summary(of_type(decisions, "forced_entry")) == [
        ("raise", "forced_entry", "h1-door", 12 * 3600)]
    assert decisions[0].severity.value == "Severe"


@pytest.mark.parametrize(("open_s", "raised"), [(599, False), (600, True)])
def test_door_left_open_boundary(open_s: int, raised: bool) -> None:
    reg = registry()
    eng = engine(reg, door={"left_open_s": 600})
    decisions = feed(eng, [
        msg(reg, "h1-door", NOON, event="open"),
        msg(reg, "h1-door", NOON + open_s * S, event="close"),
    ])
    decisions += eng.advance(NOON + HOUR)
    left = summary(of_type(decisions, "door_left_open"))
    if raised:
        assert left == [("raise", "door_left_open", "h1-door", 12 * 3600 + 600),
                        ("clear", "door_left_open", "h1-door", 12 * 3600 + open_s)]
    else:
        assert left == []


def test_door_left_open_goes_to_moderate_when_open_long() -> None:
    reg = registry()
    eng = engine(reg, door={"left_open_s": 600, "left_open_long_s": 1800})
    decisions = eng.process_one(msg(reg, "h1-door", NOON, open=True))
    decisions += eng.advance(NOON + 1800 * S + eng.allowed_lateness_ms - 1)
    assert [d.severity.value for d in of_type(decisions, "door_left_open")] == ["Minor"]
    decisions += eng.advance(NOON + 1800 * S + eng.allowed_lateness_ms)
    assert [(d.action.value, d.severity.value) for d in of_type(decisions, "door_left_open")] == [
        ("raise", "Minor"), ("update", "Moderate")]


def test_door_left_open_at_night_is_moderate_at_once() -> None:
    reg = registry()
    eng = engine(reg, door={"left_open_s": 600})
    night = T0 + 23 * HOUR
    decisions = eng.process_one(msg(reg, "h2-door", night, event="open"))
    decisions += eng.advance(night + 20 * MIN)
    (left,) = of_type(decisions, "door_left_open")
    assert left.severity.value == "Moderate" and left.evidence["night"] is True


def test_stale_open_reading_does_not_reopen_a_shut_door() -> None:
    reg = registry()
    eng = engine(reg, door={"left_open_s": 600})
    decisions = feed(eng, [
        msg(reg, "h1-door", NOON, event="open"),
        msg(reg, "h1-door", NOON + 10 * S, event="close"),
        msg(reg, "h1-door", NOON + 5 * S, open=True),  # late telemetry of the opening
    ])
    decisions += eng.advance(NOON + HOUR)
    assert of_type(decisions, "door_left_open") == []


def test_night_hours_boundaries_use_local_time() -> None:
    from safehood.detectors.base import in_window

    assert in_window(time(22, 0), time(22, 0), time(6, 0))
    assert not in_window(time(6, 0), time(22, 0), time(6, 0))
    assert in_window(time(5, 59), time(22, 0), time(6, 0))
    assert not in_window(time(21, 59), time(22, 0), time(6, 0))
