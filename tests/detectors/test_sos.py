from __future__ import annotations

from ._support import MIN, T0, S, engine, feed, msg, of_type, registry, summary


def test_button_press_raises_sos_at_once_as_extreme() -> None:
    reg = registry()
    decisions = engine(reg).process_one(msg(reg, "h1-button", T0, event="sos"))
    assert summary(decisions) == [("raise", "sos", "r1", 0)]
    (sos,) = decisions
    assert sos.severity.value == "Extreme"
    assert (sos.household, sos.resident, sos.device_id) == ("h1", "r1", "h1-button")


def test_wearable_sos_of_the_same_person_updates_the_open_alert() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        msg(reg, "h1-button", T0, event="sos"),
        msg(reg, "r1-band", T0 + 30 * S, event="sos"),
    ])
    assert summary(decisions) == [("raise", "sos", "r1", 0), ("update", "sos", "r1", 30)]
    assert decisions[1].evidence["presses"] == 2


def test_repeat_window_boundary() -> None:
    reg = registry()
    at_limit = feed(engine(reg, sos={"repeat_s": 600}), [
        msg(reg, "h1-button", T0, event="sos"),
        msg(reg, "h1-button", T0 + 10 * MIN, event="sos"),
    ])
    past_limit = feed(engine(reg, sos={"repeat_s": 600}), [
        msg(reg, "h1-button", T0, event="sos"),
        msg(reg, "h1-button", T0 + 10 * MIN + 1, event="sos"),
    ])
    assert [d.action.value for d in at_limit] == ["raise", "update"]
    assert [d.action.value for d in past_limit] == ["raise", "raise"]


def test_late_press_is_never_dropped() -> None:
    reg = registry()
    eng = engine(reg)
    feed(eng, [msg(reg, "h1-motion-hall", T0 + h * 60 * MIN, event="motion") for h in range(3)])
    late = eng.process_one(msg(reg, "h1-button", T0 + 5 * MIN, event="sos"))
    assert summary(of_type(late, "sos")) == [("raise", "sos", "r1", 300)]


def test_duplicate_delivery_is_harmless() -> None:
    reg = registry()
    press = msg(reg, "h1-button", T0, event="sos", seq=7)
    decisions = feed(engine(reg), [press, press, press])
    assert summary(decisions) == [("raise", "sos", "r1", 0)]


def test_same_seq_after_a_reboot_is_a_new_press() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        msg(reg, "h1-button", T0, event="sos", seq=1),
        msg(reg, "h1-button", T0 + 3600 * S, event="sos", seq=1),
    ])
    assert [d.action.value for d in of_type(decisions, "sos")] == ["raise", "raise"]


def test_other_events_of_a_wearable_are_not_sos() -> None:
    reg = registry()
    decisions = engine(reg).process_one(msg(reg, "r1-band", T0, event="fall"))
    assert of_type(decisions, "sos") == []


def test_presses_every_few_minutes_are_one_incident_and_one_after_a_gap_a_new_one() -> None:
    from safehood.commands.detect import AlertSink

    reg = registry()
    eng = engine(reg, sos={"repeat_s": 600})
    sink = AlertSink(reg)
    presses = [msg(reg, "h1-button", T0 + i * 5 * MIN, event="sos") for i in range(12)]
    weeks_later = msg(reg, "h1-button", T0 + 21 * 24 * 60 * MIN, event="sos")
    decisions = of_type(feed(eng, [*presses, weeks_later]), "sos")
    sink.apply(decisions)
    assert [d.action.value for d in decisions] == ["raise"] + ["update"] * 11 + ["raise"]
    assert [d.evidence["presses"] for d in decisions][-2:] == [12, 1]
    assert [a.count for a in sink.alerts()] == [12, 1]


def test_a_late_press_of_an_old_incident_leaves_the_current_count_alone() -> None:
    reg = registry()
    decisions = feed(engine(reg), [
        msg(reg, "h1-button", T0 + 60 * MIN, event="sos"),
        msg(reg, "h1-button", T0 + 61 * MIN, event="sos"),
        msg(reg, "h1-button", T0, event="sos"),
        msg(reg, "h1-button", T0 + 62 * MIN, event="sos"),
    ])
    assert [(d.action.value, d.evidence["presses"]) for d in decisions] == [
        ("raise", 1), ("update", 2), ("raise", 1), ("update", 3)]
