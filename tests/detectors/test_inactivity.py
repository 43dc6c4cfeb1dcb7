from __future__ import annotations

import copy
import pickle
from collections import deque
from datetime import date

import numpy as np
import pytest

from safehood.detectors import DetectorConfig
from safehood.detectors.base import HouseholdScope
from safehood.detectors.config import InactivityConfig
from safehood.detectors.inactivity import InactivityDetector

from ._support import (
    DAY,
    HOUR,
    MIN,
    T0,
    S,
    engine,
    feed,
    msg,
    of_type,
    registry,
    registry_data,
    run_until,
    summary,
)

CONFIG = DetectorConfig().inactivity
NOON = T0 + 12 * HOUR


def quiet(decisions):
    return summary(of_type(decisions, "inactivity"))


@pytest.mark.parametrize(("gap_ms", "raised"), [(int(CONFIG.warmup_day_s * S) - 1, False),
                                                (int(CONFIG.warmup_day_s * S), True)])
def test_warm_up_threshold_by_day(gap_ms: int, raised: bool) -> None:
    reg = registry()
    decisions = run_until(reg, [
        msg(reg, "h3-motion-living", NOON, event="motion"),
        msg(reg, "h3-motion-living", NOON + gap_ms, event="motion"),
    ], NOON + gap_ms)
    expected = [("raise", "inactivity", "h3", 12 * 3600 + int(CONFIG.warmup_day_s)),
                ("clear", "inactivity", "h3", (12 * HOUR + gap_ms) // S)] if raised else []
    assert quiet(decisions) == expected


def test_alert_names_the_elderly_resident_and_is_severe() -> None:
    reg = registry()
    decisions = run_until(reg, [msg(reg, "h3-motion-living", NOON, event="motion")],
                          NOON + 12 * HOUR)
    (alert,) = of_type(decisions, "inactivity")
    assert (alert.severity.value, alert.household, alert.resident) == ("Severe", "h3", "r4")
    assert alert.evidence["quiet_s"] == CONFIG.warmup_day_s


def test_warm_up_threshold_at_night_is_longer() -> None:
    reg = registry()
    eleven_pm = T0 + 23 * HOUR
    decisions = run_until(reg, [msg(reg, "h1-motion-living", eleven_pm, event="motion")],
                          eleven_pm + 24 * HOUR)
    assert quiet(decisions)[0] == ("raise", "inactivity", "h1",
                                   23 * 3600 + int(CONFIG.warmup_night_s))


def test_household_not_living_alone_is_not_watched() -> None:
    reg = registry()
    decisions = run_until(reg, [msg(reg, "h2-door", NOON, event="open")], NOON + DAY)
    assert [d for d in of_type(decisions, "inactivity") if d.household == "h2"] == []


def test_repeated_door_telemetry_is_not_a_sign_of_life_but_a_change_is() -> None:
    reg = registry()
    eng = engine(reg)
    feed(eng, [msg(reg, "h1-door", NOON, open=False)])
    start = eng.process_one(msg(reg, "h1-motion-hall", NOON + MIN, event="motion"))
    assert start == []
    heartbeat = feed(eng, [msg(reg, "h1-door", NOON + MIN + h * HOUR, open=False)
                           for h in range(1, 6)])
    assert len(of_type(heartbeat, "inactivity")) == 1  # raised despite the door heartbeats
    change = eng.process_one(msg(reg, "h1-door", NOON + 6 * HOUR, open=True))
    assert [d.action.value for d in of_type(change, "inactivity")] == ["clear"]


def test_wearable_counts_only_when_it_moves() -> None:
    reg = registry()
    rng = np.random.default_rng(0)
    lying = [(0.95, -0.05, -0.3)] * 50
    walking = [(0.1, 1.0 + 0.2 * np.sin(t / 2), 0.2) for t in range(50)]
    eng = engine(reg)
    feed(eng, [msg(reg, "h1-motion-hall", NOON, event="motion")])
    still = feed(eng, [msg(reg, "r1-band", NOON + h * HOUR, accel=lying, hz=25, hr_bpm=60)
                       for h in range(1, 5)])
    assert [d.action.value for d in of_type(still, "inactivity")] == ["raise"]
    moving = eng.process_one(msg(reg, "r1-band", NOON + 5 * HOUR, accel=walking, hz=25))
    assert [d.action.value for d in of_type(moving, "inactivity")] == ["clear"]
    del rng


@pytest.mark.parametrize(("flow", "counts"), [(CONFIG.flow_lpm - 0.01, False),
                                               (CONFIG.flow_lpm, True)])
def test_water_drawn_is_a_sign_of_life(flow: float, counts: bool) -> None:
    reg = registry()
    decisions = run_until(reg, [
        msg(reg, "h1-motion-hall", NOON, event="motion"),
        msg(reg, "h1-meter", NOON + 3 * HOUR, flow_lpm=flow),
    ], NOON + int(CONFIG.warmup_day_s * S) + 30 * MIN)
    assert bool(quiet(decisions)) is not counts


def test_late_old_sign_of_life_does_not_move_the_deadline_back() -> None:
    reg = registry()
    eng = engine(reg)
    feed(eng, [msg(reg, "h3-motion-living", NOON, event="motion"),
               msg(reg, "h3-motion-living", NOON - HOUR, event="motion")])
    decisions = eng.advance(NOON + int(CONFIG.warmup_day_s * S) - 1 + eng.allowed_lateness_ms)
    assert quiet(decisions) == []


def routine_days(reg, days: int, nap_hours: float, until_ms: int | None = None) -> list:
    """h3's days: motion every 30 min from 07:00 to 21:00 except a nap from 14:00, and once
    an hour through the night; up to and including ``until_ms``."""
    messages = []
    for day in range(days):
        base = T0 + day * DAY
        minute = 0
        while minute < 24 * 60:
            awake = 7 * 60 <= minute < 21 * 60
            napping = 14 * 60 < minute < 14 * 60 + nap_hours * 60
            if not napping and (until_ms is None or base + minute * MIN <= until_ms):
                messages.append(msg(reg, "h3-motion-living", base + minute * MIN,
                                    event="motion"))
            minute += 30 if awake else 60
    return messages


def test_learned_threshold_follows_the_households_own_quiet_hours() -> None:
    reg = registry()
    eng = engine(reg)
    day6 = T0 + 5 * DAY
    history = routine_days(reg, 6, nap_hours=3, until_ms=day6 + 10 * HOUR)
    # A 3 h nap by day is under the 4 h warm-up default.
    decisions = feed(eng, history)
    assert quiet(decisions) == []
    # Silence from 10:00: at that hour the home is never quiet for long, so the floor applies.
    decisions += eng.advance(day6 + 10 * HOUR + int(CONFIG.floor_s * S) + eng.allowed_lateness_ms)
    assert quiet(decisions) == [("raise", "inactivity", "h3",
                                 (5 * DAY + 10 * HOUR) // S + int(CONFIG.floor_s))]
    assert decisions[-1].evidence["threshold_s"] == CONFIG.floor_s


def test_learned_threshold_allows_the_usual_afternoon_nap() -> None:
    reg = registry()
    eng = engine(reg)
    day6 = T0 + 5 * DAY
    decisions = feed(eng, routine_days(reg, 6, nap_hours=3, until_ms=day6 + 14 * HOUR))
    decisions += eng.advance(day6 + 22 * HOUR)
    (alert,) = of_type(decisions, "inactivity")
    # The daily longest quiet spell from 14:00 was 3 h; margin 1.5 gives 4.5 h.
    assert alert.evidence["threshold_s"] == pytest.approx(3 * 3600 * CONFIG.margin)


def test_thresholds_kept_between_spells_are_those_worked_out_afresh() -> None:
    # Naps that grow day by day move the quantile of the afternoon's spells; thresholds
    # asked every hour along the way must follow each recorded spell.
    reg = registry()
    detector = InactivityDetector(HouseholdScope.from_registry(reg.households["h3"], reg))
    history = [m for day in range(6)
               for m in routine_days(reg, day + 1, nap_hours=1 + day / 2)[-40:]
               if T0 + day * DAY <= m.ts_ms < T0 + (day + 1) * DAY]
    compared = 0
    for message in history:
        detector.process_one(message)
        if message.ts_ms % (3 * HOUR):
            continue
        afresh = copy.deepcopy(detector)
        afresh._forget_own()
        for hour in range(0, 24, 3):
            at = message.ts_ms - message.ts_ms % DAY + hour * HOUR
            assert detector.threshold_ms(at) == afresh.threshold_ms(at), (message.ts_ms, hour)
            compared += 1
    assert compared > 50


@pytest.mark.parametrize("smallest", ["floor_s", "night_floor_s", "warmup_day_s",
                                      "warmup_night_s"])
def test_what_is_learned_is_the_same_without_working_out_each_gaps_threshold(
        smallest: str) -> None:
    # A gap under twice the least threshold any state can give is learned without working
    # out its threshold: each figure of the configuration in turn the smallest (the ceiling
    # is never below the floors). The nap is too long to learn.
    bounds = {"floor_s": 2 * HOUR / S, "night_floor_s": 3 * HOUR / S,
              "warmup_day_s": 3 * HOUR / S, "warmup_night_s": 4 * HOUR / S,
              "ceiling_s": 5 * HOUR / S, smallest: 0.75 * HOUR / S}
    config = InactivityConfig(**bounds, warmup_days=1, prior_days=0.5)
    reg = registry()
    home = HouseholdScope.from_registry(reg.households["h3"], reg)
    shortcut = InactivityDetector(home, config=config)
    plain = InactivityDetector(home, config=config)
    plain._least_threshold_ms = lambda: 0  # type: ignore[method-assign]
    for message in routine_days(reg, 4, nap_hours=3):
        shortcut.process_one(message)
        plain.process_one(message)
        if message.ts_ms % (2 * HOUR) == 0:
            for asleep in (False, True):
                threshold = shortcut.threshold_ms(message.ts_ms, asleep)
                assert threshold >= shortcut._least_threshold_ms()
                assert threshold == plain.threshold_ms(message.ts_ms, asleep)
    assert shortcut._gaps == plain._gaps
    assert len(shortcut._gaps) > 12


def test_learned_threshold_never_exceeds_the_ceiling() -> None:
    reg = registry()
    eng = engine(reg, inactivity={"ceiling_s": 5 * 3600})
    day6 = T0 + 5 * DAY
    decisions = feed(eng, routine_days(reg, 6, nap_hours=3.5, until_ms=day6 + 14 * HOUR))
    decisions += eng.advance(day6 + 23 * HOUR)
    (alert,) = of_type(decisions, "inactivity")
    assert alert.evidence["threshold_s"] == 5 * 3600


def through_front_door(reg, credential: str, *meanwhile) -> list:
    """A passage through h1's front door: unlocked with ``credential`` 8 s before NOON, open
    at NOON, ``meanwhile`` (messages while it stands open), shut 6 s after NOON."""
    return [
        msg(reg, "h1-door", NOON - 8 * S, event="unlock", credential=credential),
        msg(reg, "h1-door", NOON, event="open"),
        *meanwhile,
        msg(reg, "h1-door", NOON + 6 * S, event="close"),
    ]


def test_home_left_by_the_front_door_is_not_watched_until_someone_is_back() -> None:
    reg = registry()
    leaving = [msg(reg, "h1-motion-hall", NOON - 20 * S, event="motion"),
               *through_front_door(reg, "inside")]
    decisions = run_until(reg, leaving, NOON + 2 * DAY)
    assert [d for d in quiet(decisions) if d[2] == "h1"] == []


@pytest.mark.parametrize(("after_close_s", "watched"), [(10, False), (5 * 60, True)])
def test_movement_just_after_an_exit_is_the_leavers(after_close_s: int, watched: bool) -> None:
    """The hall sensor sees the resident go, and its clock may run a little behind the
    door's: movement within exit_grace_s of the door shutting is the leaver's; movement
    minutes later is someone at home."""
    reg = registry()
    leaving = [*through_front_door(reg, "inside"),
               msg(reg, "h1-motion-hall", NOON + (6 + after_close_s) * S, event="motion")]
    decisions = run_until(reg, leaving, NOON + DAY)
    assert bool([d for d in quiet(decisions) if d[2] == "h1"]) is watched


def test_coming_home_and_collapsing_at_once_is_still_watched() -> None:
    reg = registry()
    # the door shuts after the last movement
    arriving = through_front_door(reg, "fingerprint:r1",
                                  msg(reg, "h1-motion-hall", NOON + 3 * S, event="motion"))
    decisions = run_until(reg, arriving, NOON + DAY)
    assert [d[0] for d in quiet(decisions) if d[2] == "h1"] == ["raise"]


def test_an_arrival_is_known_when_the_locks_clock_runs_behind_the_doors() -> None:
    """The unlock from outside is stamped after the opening it led to (the lock's clock runs
    behind): still someone coming home, who is watched, not an exit."""
    reg = registry()
    noon = NOON
    arriving = [
        msg(reg, "h1-door", noon, event="open"),
        msg(reg, "h1-door", noon + 10 * S, event="unlock", credential="fingerprint:r1"),
        msg(reg, "h1-motion-hall", noon + 12 * S, event="motion"),
        msg(reg, "h1-door", noon + 15 * S, event="close"),
    ]
    decisions = run_until(reg, arriving, noon + DAY)
    assert [d[0] for d in quiet(decisions) if d[2] == "h1"] == ["raise"]


def test_away_can_be_switched_off() -> None:
    reg = registry()
    leaving = [
        msg(reg, "h1-motion-hall", NOON - 20 * S, event="motion"),
        msg(reg, "h1-door", NOON, event="open"),
        msg(reg, "h1-door", NOON + 6 * S, event="close"),
    ]
    decisions = run_until(reg, leaving, NOON + DAY, inactivity={"away_after_exit": False})
    assert [d[0] for d in quiet(decisions) if d[2] == "h1"] == ["raise"]


def early_sleeper_registry():
    """h3 with a bedroom sensor and the registered night 22:00-06:00."""
    data = registry_data()
    data["households"][2]["night"] = ["22:00", "06:00"]
    data["devices"].append({"device_id": "h3-motion-bedroom", "site": "s1", "kind": "motion",
                            "household": "h3", "room": "bedroom", "building": "b2"})
    return registry(**{key: data[key] for key in ("households", "devices")})


def early_sleeper_day(reg, day: int, until_ms: int | None = None) -> list:
    """Up at 06:45, about the living room every 20 min, to bed at 20:30 (before the
    registered night), not a movement until the morning."""
    base = T0 + day * DAY
    times = [(base + 6 * HOUR + 45 * MIN, "h3-motion-bedroom")]
    times += [(base + 7 * HOUR + m * MIN, "h3-motion-living") for m in range(0, 13 * 60 + 21, 20)]
    times.append((base + 20 * HOUR + 30 * MIN, "h3-motion-bedroom"))
    return [msg(reg, device, ts, event="motion") for ts, device in times
            if until_ms is None or ts <= until_ms]


def test_early_bedtime_raises_nothing_in_the_first_three_nights() -> None:
    reg = early_sleeper_registry()
    eng = engine(reg)
    decisions = feed(eng, [m for day in range(3) for m in early_sleeper_day(reg, day)])
    decisions += feed(eng, early_sleeper_day(reg, 3, until_ms=T0 + 3 * DAY + 7 * HOUR))
    assert quiet(decisions) == []
    # Without knowing sleep, the day threshold would have woken the family at 00:30.
    assert 20.5 * HOUR + CONFIG.warmup_day_s * S < DAY + 6.75 * HOUR


def test_true_inactivity_on_the_first_day_still_raises() -> None:
    reg = early_sleeper_registry()
    eng = engine(reg)
    collapse = T0 + 10 * HOUR
    decisions = feed(eng, early_sleeper_day(reg, 0, until_ms=collapse))
    decisions += eng.advance(T0 + 20 * HOUR)  # found at 20:00, had it not raised
    assert quiet(decisions) == [("raise", "inactivity", "h3",
                                 (collapse - T0) // S + int(CONFIG.warmup_day_s))]


def test_sleep_is_bounded_by_the_ceiling() -> None:
    reg = early_sleeper_registry()
    eng = engine(reg)
    decisions = feed(eng, early_sleeper_day(reg, 0))  # to bed at 20:30, never gets up
    decisions += eng.advance(T0 + 2 * DAY)
    (alert,) = of_type(decisions, "inactivity")
    assert alert.evidence["asleep"] is True
    # Allowed until 08:00 (night end 06:00 plus the grace), within the 12 h ceiling.
    assert (alert.ts_ms - T0) // S == (DAY + 6 * HOUR) // S + int(CONFIG.wake_grace_s)


def napping_days(reg, device: str, first_day: int, days: int) -> list:
    """Motion every 30 min from 07:00 to 21:00 but for a 5 h nap from 13:00."""
    return [msg(reg, device, T0 + day * DAY + minute * MIN, event="motion")
            for day in range(first_day, first_day + days)
            for minute in range(7 * 60, 21 * 60, 30) if not 13 * 60 < minute < 18 * 60]


@pytest.mark.parametrize(("neighbour_days", "raised"), [(0, True), (6, False)])
def test_new_household_borrows_the_communitys_usual_quiet(neighbour_days: int,
                                                          raised: bool) -> None:
    reg = registry()
    eng = engine(reg)
    # h3 has napped 5 h every afternoon for days; h1's first day has the same nap.
    decisions = feed(eng, napping_days(reg, "h3-motion-living", 0, neighbour_days))
    decisions += feed(eng, napping_days(reg, "h1-motion-living", neighbour_days, 1))
    h1 = [d for d in of_type(decisions, "inactivity") if d.household == "h1"]
    assert bool(h1) is raised


def test_a_checkpoint_with_each_hours_spells_in_a_deque_still_loads() -> None:
    # Scale-out workers restore detectors pickled by older code, whose spells were
    # (day, gap) tuples in a deque per hour.
    config = InactivityConfig(warmup_days=1, prior_days=0.5)
    reg = registry()
    home = HouseholdScope.from_registry(reg.households["h3"], reg)
    learned = InactivityDetector(home, config=config)
    for message in routine_days(reg, 3, nap_hours=1):
        learned.process_one(message)
    old = copy.copy(learned)
    old.__dict__["_gaps"] = {
        hour: deque((date.fromordinal(day), gap)
                    for day, gap in zip(days, learned._gaps[hour], strict=True))
        for hour, days in learned._gap_days.items()}
    del old.__dict__["_gap_days"]
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded._gaps == learned._gaps and len(loaded._gaps) > 12
    assert loaded._gap_days == learned._gap_days
    since = learned.last_activity_ms
    assert since is not None
    assert loaded.threshold_ms(since) == learned.threshold_ms(since)
