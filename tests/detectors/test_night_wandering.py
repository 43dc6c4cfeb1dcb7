from __future__ import annotations

import pytest

from ._support import DAY, HOUR, MIN, T0, S, msg, of_type, registry, registry_data, run_until, summary

THREE_AM = T0 + 3 * HOUR


def wander(decisions):
    return summary(of_type(decisions, "night_wandering"))


def test_front_door_at_night_and_not_back_raises() -> None:
    reg = registry()
    decisions = run_until(reg, [
        msg(reg, "h1-door", THREE_AM, event="open"),
        msg(reg, "h1-door", THREE_AM + 8 * S, event="close"),
    ], THREE_AM + HOUR, night_wandering={"return_s": 600})
    assert wander(decisions) == [("raise", "night_wandering", "r1", 3 * 3600 + 600)]
    (alert,) = of_type(decisions, "night_wandering")
    assert (alert.severity.value, alert.household, alert.resident) == ("Severe", "h1", "r1")


@pytest.mark.parametrize(("back_after_s", "raised"), [(599, False), (600, True)])
def test_return_window_boundary(back_after_s: int, raised: bool) -> None:
    reg = registry()
    decisions = run_until(reg, [
        msg(reg, "h1-door", THREE_AM, event="open"),
        msg(reg, "h1-door", THREE_AM + 8 * S, event="close"),
        msg(reg, "h1-door", THREE_AM + back_after_s * S, event="open"),
        msg(reg, "h1-door", THREE_AM + (back_after_s + 8) * S, event="close"),
    ], THREE_AM + HOUR, night_wandering={"return_s": 600})
    actions = [d[0] for d in wander(decisions)]
    assert actions == (["raise", "clear"] if raised else [])


@pytest.mark.parametrize(("motion_after_close_s", "back"), [(29, False), (30, True)])
def test_movement_inside_after_the_door_shut_means_they_never_left(
    motion_after_close_s: int, back: bool
) -> None:
    reg = registry()
    decisions = run_until(reg, [
        msg(reg, "h1-door", THREE_AM, event="open"),
        msg(reg, "h1-door", THREE_AM + 5 * S, event="close"),
        msg(reg, "h1-motion-living", THREE_AM + (5 + motion_after_close_s) * S, event="motion"),
    ], THREE_AM + HOUR, night_wandering={"return_s": 600, "inside_after_close_s": 30})
    assert bool(wander(decisions)) is not back


def test_door_by_day_is_not_wandering() -> None:
    reg = registry()
    noon = T0 + 12 * HOUR
    decisions = run_until(reg, [msg(reg, "h1-door", noon, event="open"),
                           msg(reg, "h1-door", noon + 5 * S, event="close")], noon + 2 * HOUR)
    assert wander(decisions) == []


def test_night_starts_at_night_start_and_ends_at_night_end() -> None:
    reg = registry()
    at_start = run_until(reg, [msg(reg, "h1-door", T0 + 22 * HOUR, event="open")],
                         T0 + 24 * HOUR)
    at_end = run_until(reg, [msg(reg, "h1-door", T0 + 6 * HOUR, event="open")], T0 + 8 * HOUR)
    just_before_end = run_until(reg, [msg(reg, "h1-door", T0 + 6 * HOUR - 1, event="open")],
                                T0 + 8 * HOUR)
    assert len(wander(at_start)) == 1
    assert wander(at_end) == []
    assert len(wander(just_before_end)) == 1


def test_household_without_a_resident_with_dementia_is_not_watched() -> None:
    reg = registry()
    decisions = run_until(reg, [msg(reg, "h2-door", THREE_AM, event="open")], THREE_AM + HOUR)
    assert wander(decisions) == []


def test_balcony_door_is_not_a_way_out() -> None:
    reg = registry()
    decisions = run_until(reg, [msg(reg, "h1-balcony", THREE_AM, event="open")], THREE_AM + HOUR)
    assert wander(decisions) == []


def test_out_of_order_close_and_duplicate_open_are_harmless() -> None:
    reg = registry()
    opened = msg(reg, "h1-door", THREE_AM, event="open", seq=9)
    decisions = run_until(reg, [
        msg(reg, "h1-door", THREE_AM + 8 * S, event="close"),
        opened, opened,
    ], THREE_AM + HOUR, night_wandering={"return_s": 600})
    assert wander(decisions) == [("raise", "night_wandering", "r1", 3 * 3600 + 600)]


def test_time_zone_of_the_household_decides_what_night_is() -> None:
    from safehood.protocol import Registry

    from ._support import registry_data

    data = registry_data()
    data["households"][0]["timezone"] = "Asia/Shanghai"  # UTC+8: 19:00 UTC is 03:00 there
    reg = Registry.from_data(data)
    local_three_am = T0 + 19 * HOUR
    decisions = run_until(reg, [msg(reg, "h1-door", local_three_am, event="open")],
                          local_three_am + HOUR)
    assert len(wander(decisions)) == 1
    noon_utc = run_until(reg, [msg(reg, "h1-door", T0 + 12 * HOUR, event="open")], T0 + 14 * HOUR)
    # 12:00 UTC is 20:00 in Shanghai: not night yet.
    assert wander(noon_utc) == []


def test_alert_clears_when_they_come_back() -> None:
    reg = registry()
    decisions = run_until(reg, [
        msg(reg, "h1-door", THREE_AM, event="open"),
        msg(reg, "h1-door", THREE_AM + 5 * S, event="close"),
        msg(reg, "h1-door", THREE_AM + 40 * MIN, event="open"),
    ], THREE_AM + HOUR, night_wandering={"return_s": 600})
    assert [d[0] for d in wander(decisions)] == ["raise", "clear"]


@pytest.mark.parametrize(("up_min", "raised"), [(50, True), (70, False)])
def test_an_early_riser_up_and_about_starts_the_day(up_min: int, raised: bool) -> None:
    reg = registry()  # h1: night hours 22:00-06:00
    leaves = T0 + 5 * HOUR + 40 * MIN
    up = [msg(reg, "h1-motion-living", leaves - m * MIN, event="motion")
          for m in range(up_min, 0, -10)]
    decisions = run_until(reg, [*up, msg(reg, "h1-door", leaves, event="open"),
                           msg(reg, "h1-door", leaves + 8 * S, event="close")],
                          leaves + HOUR)
    assert bool(wander(decisions)) is raised


def test_leaving_at_an_hour_the_community_goes_out_is_routine() -> None:
    data = registry_data()
    data["residents"][1]["dementia"] = True  # h2 is watched too
    reg = registry(residents=data["residents"])

    def outing(door: str, day: int, away_min: int) -> list:
        opened = T0 + day * DAY + 23 * HOUR + 15 * MIN
        return [msg(reg, door, opened, event="open"), msg(reg, door, opened + 8 * S, event="close"),
                msg(reg, door, opened + away_min * MIN, event="open"),
                msg(reg, door, opened + away_min * MIN + 8 * S, event="close")]

    # h2 goes out for five minutes at 23:15 every night.
    h2_nights = [m for day in range(5) for m in outing("h2-door", day, 5)]
    # h1's first night: out from 23:15 for half an hour.
    for history, raised in ((h2_nights, False), ([], True)):
        decisions = run_until(reg, [*history, *outing("h1-door", 5, 30)], T0 + 7 * DAY)
        assert bool([d for d in of_type(decisions, "night_wandering")
                     if d.household == "h1"]) is raised
