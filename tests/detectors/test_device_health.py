from __future__ import annotations

import random

import pytest

from safehood.detectors.config import DeviceHealthConfig
from safehood.detectors.device_health import DeviceOfflineDetector

from ._support import DAY, HOUR, MIN, T0, S, engine, feed, msg, of_type, registry, summary

BUDGET_S = 3600  # motion budget in these tests
PENDING_S = 300


def health(decisions, *types):
    return summary(of_type(decisions, *(types or ("device_offline", "site_offline"))))


def chatter(reg, devices, start, end, step=5 * MIN, skip=()):
    """Status heartbeats from ``devices`` every ``step`` in [start, end)."""
    out = []
    t = start
    while t < end:
        out += [msg(reg, d, t, online=True) for d in devices if (d, t) not in skip]
        t += step
    return out


ALL_H1 = ["h1-smoke-kitchen", "h1-smoke-hall", "h1-leak", "h1-meter", "h1-door",
          "h1-balcony", "h1-motion-hall", "h1-motion-living", "h1-button", "r1-band"]
OTHERS = ["h2-smoke-kitchen", "h2-door", "h3-motion-living", "b1-smoke-stair"]
# Short silences and a smoke budget that make the site, gateway and device cases quick to reach.
QUICK_SILENCE = {"site_silence_s": 600, "gateway_silence_s": 1200,
                 "heartbeat_budget_s": {"smoke": 1800}, "pending_s": 300}


def test_last_will_counts_at_once_and_fires_after_the_pending_period() -> None:
    reg = registry()
    decisions = feed(engine(reg, device_health={"pending_s": 300}), [
        msg(reg, "h1-motion-hall", T0, online=True),
        msg(reg, "h1-motion-hall", T0 + MIN, online=False),
        msg(reg, "h1-motion-hall", T0 + 2 * HOUR, event="motion"),
    ])
    assert health(decisions, "device_offline") == [
        ("raise", "device_offline", "h1-motion-hall", 60 + 300),
        ("clear", "device_offline", "h1-motion-hall", 7200)]
    assert of_type(decisions, "device_offline")[0].evidence["reason"] == "last_will"
    assert of_type(decisions, "device_offline")[0].severity.value == "Minor"


def test_device_back_within_the_pending_period_raises_nothing() -> None:
    reg = registry()
    eng = engine(reg, device_health={"pending_s": 300})
    decisions = feed(eng, [
        msg(reg, "h1-motion-hall", T0, online=True),
        msg(reg, "h1-motion-hall", T0 + MIN, online=False),
        msg(reg, "h1-motion-hall", T0 + MIN + 300 * S, online=True),  # reconnected in time
    ])
    decisions += eng.advance(T0 + 2 * MIN + 300 * S)
    assert health(decisions, "device_offline") == []


def test_last_will_without_a_time_takes_the_sites_event_time() -> None:
    reg = registry()
    eng = engine(reg, device_health={"pending_s": 300})
    feed(eng, [msg(reg, "h1-door", T0 + 10 * MIN, event="open")])
    will = msg(reg, "h1-motion-hall", 0, online=False, ts_from_receipt=True)
    decisions = eng.process_one(will) + eng.advance(T0 + 30 * MIN)
    assert health(decisions, "device_offline") == [
        ("raise", "device_offline", "h1-motion-hall", 600 + 300)]


@pytest.mark.parametrize(("gap_ms", "raised"), [(PENDING_S * S + BUDGET_S * S, False),
                                                 (PENDING_S * S + BUDGET_S * S + 1, True)])
def test_only_silence_longer_than_budget_and_pending_raises(gap_ms: int, raised: bool) -> None:
    reg = registry()
    eng = engine(reg, device_health={"heartbeat_budget_s": {"motion": BUDGET_S},
                                     "default_budget_s": 10 * BUDGET_S, "pending_s": PENDING_S})
    # Everyone else keeps talking: only the motion sensor is silent.
    others = [d for d in ALL_H1 + OTHERS if d != "h1-motion-living"]
    messages = [msg(reg, "h1-motion-living", T0, event="motion")]
    messages += chatter(reg, others, T0, T0 + gap_ms)
    messages += [msg(reg, "h1-motion-living", T0 + gap_ms, event="motion")]
    decisions = of_type(feed(eng, sorted(messages, key=lambda m: m.ts_ms)), "device_offline")
    if raised:
        raise_, clear = decisions
        assert (raise_.action.value, raise_.subject) == ("raise", "h1-motion-living")
        assert raise_.ts_ms == T0 + (BUDGET_S + PENDING_S) * S
        assert clear.action.value == "clear" and clear.ts_ms > raise_.ts_ms
    else:
        assert decisions == []


def test_device_reporting_exactly_at_its_kinds_budget_raises_nothing() -> None:
    """The storm of issue 16: heartbeats every budget, each one arriving at the deadline."""
    reg = registry()
    eng = engine(reg, device_health={"heartbeat_budget_s": {"motion": BUDGET_S}})
    others = [d for d in ALL_H1 + OTHERS if d != "h1-motion-living"]
    messages = chatter(reg, others, T0, T0 + 3 * DAY, step=10 * MIN)
    messages += chatter(reg, ["h1-motion-living"], T0, T0 + 3 * DAY, step=BUDGET_S * S)
    decisions = feed(eng, sorted(messages, key=lambda m: m.ts_ms))
    assert health(decisions) == []


def rhythm(reg, device, start, end, period_ms, rng, *, lost=()):
    """Status messages of ``device`` every ``period_ms`` +-20 % in [start, end), minus the
    ``lost`` ones (their indices)."""
    out, t, index = [], start, 0
    while t < end:
        if index not in lost:
            out.append(msg(reg, device, t, online=True))
        t += int(period_ms * rng.uniform(0.8, 1.2))
        index += 1
    return out


def test_each_device_is_judged_on_its_own_reporting_interval() -> None:
    """A device every 30 min and one every 6 h: jitter and a lost message raise nothing;
    when each stops, one alert each, a few of its own intervals later."""
    rng = random.Random(16)
    reg = registry()
    eng = engine(reg, device_health={"pending_s": 300})
    fast, slow = "h1-motion-hall", "h1-leak"
    others = [d for d in ALL_H1 + OTHERS if d not in (fast, slow)]
    history_end, stop = T0 + 2 * DAY, T0 + 5 * DAY
    # What the store holds from before start-up is learned, never decided on.
    for message in sorted(rhythm(reg, fast, T0, history_end, 30 * MIN, rng)
                          + rhythm(reg, slow, T0, history_end, 6 * HOUR, rng),
                          key=lambda m: m.ts_ms):
        eng.learn_one(message)
    live = (rhythm(reg, fast, history_end, stop, 30 * MIN, rng, lost={20, 70})
            + rhythm(reg, slow, history_end, stop, 6 * HOUR, rng, lost={5})
            + chatter(reg, others, history_end, T0 + 7 * DAY, step=10 * MIN))
    decisions = feed(eng, sorted(live, key=lambda m: m.ts_ms))
    decisions += eng.advance(T0 + 7 * DAY)
    raised = of_type(decisions, "device_offline")
    assert sorted((d.action.value, d.subject) for d in raised) == [("raise", slow),
                                                                   ("raise", fast)]
    last_heard = {d: max(m.ts_ms for m in live if m.device_id == d) for d in (fast, slow)}
    for alert in raised:
        silent_h = (alert.ts_ms - last_heard[alert.subject]) / HOUR
        assert alert.evidence["reason"] == "silent" and alert.evidence["period_s"] is not None
        # Three of its own intervals (learned to within a bin, 19 %) plus the pending period.
        low, high = (1.5, 2.5) if alert.subject == fast else (18, 30)
        assert low <= silent_h <= high, (alert.subject, silent_h)


def test_whole_site_silent_raises_one_site_offline() -> None:
    reg = registry()
    eng = engine(reg, device_health=QUICK_SILENCE)
    everyone = ALL_H1 + OTHERS
    decisions = feed(eng, chatter(reg, everyone, T0, T0 + 30 * MIN))
    decisions += eng.advance(T0 + 6 * HOUR)
    assert health(decisions) == [("raise", "site_offline", "s1", 25 * 60 + 600 + 300)]
    assert of_type(decisions, "site_offline")[0].severity.value == "Moderate"
    back = feed(eng, chatter(reg, everyone, T0 + 6 * HOUR, T0 + 7 * HOUR))
    assert health(back) == [("clear", "site_offline", "s1", 6 * 3600)]


def test_silent_household_gateway_raises_one_alert_for_the_household() -> None:
    reg = registry()
    eng = engine(reg, device_health=QUICK_SILENCE)
    messages = chatter(reg, ALL_H1 + OTHERS, T0, T0 + 30 * MIN)
    messages += chatter(reg, OTHERS, T0 + 30 * MIN, T0 + 6 * HOUR)
    decisions = feed(eng, messages) + eng.advance(T0 + 6 * HOUR)
    assert health(decisions) == [("raise", "device_offline", "h1", 25 * 60 + 1200 + 300)]
    (gateway,) = of_type(decisions, "device_offline")
    assert gateway.evidence["scope"] == "gateway" and gateway.device_id is None


def test_building_whose_gateway_goes_silent_raises_one_alert_and_clears_it() -> None:
    reg = registry()  # building b1: households h1 and h2 and a stairwell alarm, 13 devices
    eng = engine(reg)
    b1 = [*ALL_H1, "h2-smoke-kitchen", "h2-door", "b1-smoke-stair"]
    messages = chatter(reg, [*b1, "h3-motion-living"], T0, T0 + 30 * MIN)
    # The rest of the site (building b2) keeps talking.
    messages += chatter(reg, ["h3-motion-living"], T0 + 30 * MIN, T0 + 12 * HOUR)
    decisions = feed(eng, messages)
    assert health(decisions) == [("raise", "device_offline", "b1", 25 * 60 + 30 * 60 + 5 * 60)]
    (building,) = decisions
    assert building.evidence["scope"] == "building" and building.household is None
    back = feed(eng, chatter(reg, b1, T0 + 12 * HOUR, T0 + 13 * HOUR))
    assert health(back) == [("clear", "device_offline", "b1", 12 * 3600)]


def test_device_still_silent_after_its_site_came_back_is_reported() -> None:
    reg = registry()
    eng = engine(reg, device_health=QUICK_SILENCE)
    everyone = ALL_H1 + OTHERS
    feed(eng, chatter(reg, everyone, T0, T0 + 30 * MIN))
    eng.advance(T0 + 3 * HOUR)
    quiet = [d for d in everyone if d != "h2-smoke-kitchen"]
    decisions = feed(eng, chatter(reg, quiet, T0 + 3 * HOUR, T0 + 5 * HOUR))
    assert ("raise", "device_offline", "h2-smoke-kitchen", 3 * 3600 + 1800 + 300) in health(
        decisions)


@pytest.mark.parametrize(("battery", "raised"), [(15.0, False), (14.9, True)])
def test_battery_low_boundary(battery: float, raised: bool) -> None:
    reg = registry()
    decisions = engine(reg).process_one(msg(reg, "h1-leak", T0, online=True, battery=battery))
    assert bool(of_type(decisions, "battery_low")) is raised


def test_battery_clears_when_replaced_and_stale_reports_are_ignored() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        msg(reg, "h1-leak", T0, online=True, battery=10.0),
        msg(reg, "h1-leak", T0 + HOUR, online=True, battery=29.9),
        msg(reg, "h1-leak", T0 + 2 * HOUR, online=True, battery=95.0),
        msg(reg, "h1-leak", T0 + 90 * MIN, online=True, battery=9.0),  # late, older
    ])
    assert health(decisions, "battery_low") == [("raise", "battery_low", "h1-leak", 0),
                                                ("clear", "battery_low", "h1-leak", 7200)]


def test_tamper_event_raises_tamper() -> None:
    reg = registry()
    decisions = engine(reg).process_one(msg(reg, "h1-smoke-hall", T0, event="tamper"))
    assert health(decisions, "tamper") == [("raise", "tamper", "h1-smoke-hall", 0)]
    assert of_type(decisions, "tamper")[0].severity.value == "Minor"


def learned_limit_h(gaps_ms, **settings) -> float:
    """Silence limit, in hours, of a device whose messages came ``gaps_ms`` apart."""
    detector = DeviceOfflineDetector("h1-motion-hall", site="s1", household="h1", kind="motion",
                                     config=DeviceHealthConfig(**settings))
    t = T0
    detector.learn_one(msg(REG, "h1-motion-hall", t, online=True))
    for gap in gaps_ms:
        t += gap
        detector.learn_one(msg(REG, "h1-motion-hall", t, online=True))
    return detector.silence_limit_ms / HOUR


REG = registry()


def test_chatty_bursts_do_not_shorten_a_devices_interval() -> None:
    # Hourly heartbeats, and a burst of events every 5 s for 10 min of each hour.
    hour = [5 * S] * 120 + [HOUR - 10 * MIN]
    assert 2.5 <= learned_limit_h(hour * 48) <= 3.6  # three of its ~hourly intervals


@pytest.mark.parametrize(("period_ms", "limit_h"), [(MIN, 10 / 60), (DAY, 48)])
def test_learned_limit_is_kept_between_floor_and_ceiling(period_ms: int, limit_h: float) -> None:
    gaps = [period_ms] * max(8, DAY * 2 // period_ms)
    assert learned_limit_h(gaps, floor_s=600, ceiling_s=48 * 3600) == pytest.approx(limit_h)


@pytest.mark.parametrize("periods", [3, 5])
def test_silent_periods(periods: float) -> None:
    gaps = [HOUR] * 48
    assert learned_limit_h(gaps, silent_periods=periods, tail_periods=1) == pytest.approx(
        periods * learned_limit_h(gaps, silent_periods=1, tail_periods=1))


def test_a_lossy_radio_earns_a_longer_limit_than_a_clean_one() -> None:
    """One message in eight lost, in runs of up to three: three periods of silence is this
    device's normal now and then, so it gets more than the clean device's three periods."""
    clean = [10 * MIN] * 300
    lossy = [10 * MIN * (1 + (i % 8 == 0) + (i % 40 == 0) + (i % 200 == 0)) for i in range(300)]
    clean_h, lossy_h = learned_limit_h(clean), learned_limit_h(lossy)
    assert clean_h < 0.6
    assert lossy_h > clean_h
    assert lossy_h * 60 >= 2 * 40  # twice the longest usual gap (4 periods)


def test_a_device_slower_than_its_budget_is_learned_not_alarmed_every_cycle() -> None:
    """A button that checks in every 3.4 h (slower than a short budget) goes silent past
    its first-day budget once, comes back by itself, and from then on is judged on its own
    interval: no alarm while it keeps that rhythm."""
    budgets = {"heartbeat_budget_s": {"button": 3600.0}, "default_budget_s": 3600.0}
    button = engine(REG, device_health=budgets)
    period = 205 * MIN
    decisions = feed(button, (msg(REG, "h1-button", T0 + i * period, online=True)
                              for i in range(40)))
    raised = [d for d in of_type(decisions, "device_offline")
              if d.device_id == "h1-button" and d.action.value == "raise"]
    assert len(raised) <= 1
