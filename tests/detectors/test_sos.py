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
