from __future__ import annotations

import dataclasses
import random

from safehood.detectors import DetectorConfig, DetectorEngine
from safehood.protocol import AlertDecision, Registry

from ._support import DAY, HOUR, MIN, T0, S, engine, feed, msg, of_type, registry, registry_data
from .conftest import Recording


def key(d: AlertDecision) -> tuple:
    return (d.action.value, d.type.value, d.subject, d.ts_ms, d.severity.value, d.confirmed,
            d.nuisance, tuple(sorted((k, str(v)) for k, v in d.evidence.items())))


def run(recording: Recording, cadence: str = "end") -> list[AlertDecision]:
    eng = DetectorEngine(recording.registry)
    out: list[AlertDecision] = []
    next_tick = None
    for message in recording.messages:
        out += eng.process_one(message)
        if cadence == "every_message":
            out += eng.advance(message.ts_ms)
        elif cadence == "wall_clock":
            # A tick a simulated minute, for every site, like the live pipeline's timer.
            next_tick = next_tick or message.ts_ms
            while next_tick <= message.ts_ms:
                out += eng.advance(next_tick)
                next_tick += MIN
    last = max(m.ts_ms for m in recording.messages)
    out += eng.advance(last + eng.allowed_lateness_ms)
    return out


def test_same_decisions_whatever_the_advance_cadence(recording: Recording) -> None:
    at_end = sorted(map(key, run(recording, "end")))
    assert len(at_end) > 50
    assert sorted(map(key, run(recording, "every_message"))) == at_end
    assert sorted(map(key, run(recording, "wall_clock"))) == at_end


def test_every_message_delivered_twice_changes_nothing(recording: Recording) -> None:
    once = run(recording)
    twice = Recording(recording.registry, recording.lines, recording.labels,
                      [m for m in recording.messages for _ in range(2)])
    assert sorted(map(key, run(twice))) == sorted(map(key, once))


def test_an_engine_behind_ingest_leaves_duplicates_to_it() -> None:
    # The live pipeline's ingest drops repeats before the engine (one check a message):
    # an engine built with drop_duplicates=False takes a repeat as a new message.
    reg = registry()
    press = msg(reg, "h1-button", T0, event="sos", seq=1)
    for drop, sos_raised in ((True, 1), (False, 2)):
        eng = DetectorEngine(reg, drop_duplicates=drop)
        decisions = eng.process_one(press) + eng.process_one(press)
        assert len(of_type(decisions, "sos")) == sos_raised
        assert eng.stats.duplicates == (1 if drop else 0)


def test_messages_shuffled_within_seconds_raise_the_same_alerts(recording: Recording) -> None:
    rng = random.Random(1)
    # Reorder by event time jittered by up to 5 s: well within the allowed lateness.
    shuffled = sorted(recording.messages, key=lambda m: m.ts_ms + rng.uniform(-5000, 5000))
    reordered = Recording(recording.registry, recording.lines, recording.labels, shuffled)

    def raised(decisions):
        return {(d.type.value, d.subject) for d in decisions if d.action.value == "raise"}

    assert raised(run(reordered)) == raised(run(recording))


def test_timers_fire_when_the_watermark_passes_them() -> None:
    reg = registry()
    eng = engine(reg, door={"left_open_s": 600})
    lateness = eng.allowed_lateness_ms
    eng.process_one(msg(reg, "h1-door", T0, event="open"))
    deadline = T0 + 600 * S
    assert of_type(eng.advance(deadline + lateness - 1), "door_left_open") == []
    assert eng.watermark_ms("s1") == deadline - 1
    (left,) = of_type(eng.advance(deadline + lateness), "door_left_open")
    assert left.ts_ms == deadline  # the deadline, not the moment the watermark got there


def test_a_site_advances_on_its_own() -> None:
    data = registry_data()
    data["households"].append({"id": "h9", "site": "s2", "lives_alone": False})
    data["devices"].append({"device_id": "h9-door", "site": "s2", "kind": "door",
                            "household": "h9"})
    reg = Registry.from_data(data)
    eng = engine(reg, door={"left_open_s": 600})
    eng.process_one(msg(reg, "h9-door", T0, event="open"))
    # Time passing at s1 says nothing about s2.
    assert of_type(eng.advance(T0 + HOUR, site="s1"), "door_left_open") == []
    assert len(of_type(eng.advance(T0 + HOUR, site="s2"), "door_left_open")) == 1


def test_late_messages_are_counted_and_used() -> None:
    reg = registry()
    eng = engine(reg)
    eng.process_one(msg(reg, "h1-door", T0 + HOUR, event="open"))
    decisions = eng.process_one(msg(reg, "h1-button", T0, event="sos"))
    assert eng.stats.late == 1
    assert [d.type.value for d in decisions] == ["sos"]


def test_messages_of_an_unregistered_device_do_not_break_the_engine() -> None:
    reg = registry()
    eng = engine(reg)
    stray = dataclasses.replace(msg(reg, "h1-button", T0, event="sos"), device_id="ghost",
                                household=None, resident=None)
    assert [d.subject for d in eng.process_one(stray)] == ["ghost"]


def test_update_registry_adds_and_drops_detectors() -> None:
    reg = registry()
    eng = engine(reg, door={"left_open_s": 600})
    eng.process_one(msg(reg, "h2-door", T0, event="open"))
    data = registry_data()
    data["devices"] = [d for d in data["devices"] if d["device_id"] != "h2-door"]
    data["devices"].append({"device_id": "h2-button", "site": "s1", "kind": "button",
                            "household": "h2"})
    smaller = Registry.from_data(data)
    eng.update_registry(smaller)
    # The removed door's timer is gone; the new button works.
    assert of_type(eng.advance(T0 + HOUR), "door_left_open") == []
    press = eng.process_one(msg(smaller, "h2-button", T0 + HOUR, event="sos"))
    assert [(d.type.value, d.household) for d in of_type(press, "sos")] == [("sos", "h2")]


def test_update_registry_keeps_what_inactivity_learned() -> None:
    reg = registry()
    eng = engine(reg)
    feed(eng, [msg(reg, "h3-motion-living", T0 + h * HOUR, event="motion")
               for h in range(4 * 24 + 10)])
    eng.update_registry(registry())
    decisions = eng.process_one(msg(reg, "h3-motion-living", T0 + 4 * DAY + 10 * HOUR,
                                    event="motion"))
    decisions += eng.advance(T0 + 4 * DAY + 20 * HOUR)
    (alert,) = of_type(decisions, "inactivity")
    assert alert.evidence["threshold_s"] == DetectorConfig().inactivity.floor_s


def test_learn_one_warms_up_inactivity_without_deciding() -> None:
    reg = registry()
    eng = engine(reg)
    for h in range(4 * 24 + 10):
        eng.learn_one(msg(reg, "h3-motion-living", T0 + h * HOUR, event="motion"))
    decisions = eng.process_one(msg(reg, "h3-motion-living", T0 + 4 * DAY + 10 * HOUR,
                                    event="motion"))
    decisions += eng.advance(T0 + 4 * DAY + 20 * HOUR)
    (alert,) = of_type(decisions, "inactivity")
    assert alert.evidence["threshold_s"] < DetectorConfig().inactivity.warmup_day_s
