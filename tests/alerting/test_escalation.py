"""Escalation chains, reminders, flapping, silences and the policy, on both repositories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from safehood.alerting import (
    AlertManager,
    AlertPolicy,
    AlertRepository,
    EscalationTier,
    InhibitRule,
    InvalidSilence,
    InvalidTransition,
    PolicyError,
    Silence,
    SilenceNotFound,
    TypePolicy,
    build_pipeline,
)
from safehood.protocol import AlertType

from .conftest import MINUTE, T0, decision

HOUR = 60 * MINUTE


def kinds(changes: list) -> list[tuple[str, bool, int | None, tuple[str, ...]]]:
    return [(c.kind, c.notify, c.tier, c.audience) for c in changes]


def test_unacknowledged_fall_walks_the_escalation_chain(manager: AlertManager) -> None:
    # A possible fall tells the officers; with no answer the family is woken with the
    # supervisor.
    [raised] = manager.apply([decision("fall")])
    assert kinds([raised]) == [("raised", True, 0, ("officers",))]
    assert manager.tick(T0 + 4 * MINUTE) == []
    assert kinds(manager.tick(T0 + 5 * MINUTE)) == \
        [("escalated", True, 2, ("supervisor", "family"))]
    # Each tier is notified once, however often time is ticked.
    assert manager.tick(T0 + 5 * MINUTE + 1000) == []
    [emergency] = manager.tick(T0 + 15 * MINUTE)
    assert kinds([emergency]) == [("escalated", True, 3, ("emergency",))]
    assert emergency.alert.tier == 3
    history = [(e.action, e.note) for e in emergency.alert.history]
    assert history == [("raised", "unconfirmed"), ("escalated", "tier 2: supervisor, family"),
                       ("escalated", "tier 3: emergency")]


def test_a_long_lie_wakes_the_family_once(manager: AlertManager) -> None:
    [raised] = manager.apply([decision("fall")])
    assert kinds([raised]) == [("raised", True, 0, ("officers",))]
    # The long lie confirms the fall: the family is told at once...
    confirmed = manager.apply([decision("fall", ts=T0 + 2 * MINUTE, confirmed=True,
                                        severity="Extreme")])
    assert kinds(confirmed) == [("updated", True, None, ("officers",)),
                                ("escalated", True, 1, ("family",))]
    # ...and not again when the no-answer tier comes: only the supervisor is new there.
    assert kinds(manager.tick(T0 + 5 * MINUTE)) == [("escalated", True, 2, ("supervisor",))]
    # A fall confirmed when it is raised (the band's own long-lie report) tells both at once.
    both = manager.apply([decision("fall", subject="r002", household="h002", resident="r002",
                                   device_id="r002-band", confirmed=True)])
    assert kinds(both) == [("raised", True, 0, ("officers",)),
                           ("escalated", True, 1, ("family",))]


def test_acknowledging_stops_the_chain_and_reminders(manager: AlertManager) -> None:
    [raised] = manager.apply([decision("sos")])
    manager.acknowledge(raised.alert.id, "officer-li", at_ms=T0 + 2 * MINUTE)
    assert manager.tick(T0 + 5 * MINUTE) == []
    assert manager.tick(T0 + 2 * HOUR) == []
    alert = manager.get(raised.alert.id)
    assert alert is not None and alert.tier == 0


def test_acknowledged_and_resolved_go_to_everyone_told(manager: AlertManager) -> None:
    [raised] = manager.apply([decision("fall")])
    manager.tick(T0 + 5 * MINUTE)
    told = ("officers", "supervisor", "family")
    acked = _changes_of(manager, lambda: manager.acknowledge(
        raised.alert.id, "officer-li", "calling her", at_ms=T0 + 6 * MINUTE))
    assert kinds(acked) == [("acknowledged", True, None, told)]
    resolved = _changes_of(manager, lambda: manager.resolve(
        raised.alert.id, "officer-li", at_ms=T0 + 9 * MINUTE))
    assert kinds(resolved) == [("resolved", True, None, told)]


def test_reminders_repeat_while_unacknowledged(manager: AlertManager) -> None:
    manager.apply([decision("battery_low", subject="h002-door", household="h002",
                            resident=None, device_id="h002-door", severity="Minor")])
    assert manager.tick(T0 + 5 * HOUR) == []  # battery_low: no reminders by default
    [raised] = manager.apply([decision("tamper", subject="h002-door", household="h002",
                                       resident=None, device_id="h002-door")])
    assert manager.tick(T0 + 29 * MINUTE) == []
    # 30 min: the supervisor tier and the reminder are both due; the escalation wins.
    assert kinds(manager.tick(T0 + 30 * MINUTE)) == [("escalated", True, 1, ("supervisor",))]
    assert manager.tick(T0 + 59 * MINUTE) == []
    [reminder] = manager.tick(T0 + 60 * MINUTE)
    assert kinds([reminder]) == [("reminder", True, None, ("officers",))]
    assert kinds(manager.tick(T0 + 90 * MINUTE)) == [("reminder", True, None, ("officers",))]
    manager.acknowledge(raised.alert.id, "officer-li", at_ms=T0 + 95 * MINUTE)
    assert manager.tick(T0 + 3 * HOUR) == []


def test_a_tick_after_a_jump_takes_its_limit_and_leaves_the_rest_for_the_next(
        repository: AlertRepository, ids: Callable[[], str]) -> None:
    # A week without ticks (a jump of event time) makes every open alert overdue at once:
    # one tick escalates at most ``tick_limit`` of them, those open longest first, so that
    # a new decision is applied before the rest.
    manager = AlertManager(repository, build_pipeline(AlertPolicy(), repository, id_factory=ids),
                           tick_limit=3)
    for i in range(7):
        manager.apply([decision("sos", subject=f"r{i}", ts=T0 + i * 1000)])
    later = T0 + 7 * 24 * HOUR
    escalated: list[set[str]] = []
    backlog = []
    for n in range(4):
        changes = manager.tick(later + n * 1000)
        assert all(c.kind == "escalated" for c in changes)
        escalated.append({c.alert.subject for c in changes})
        backlog.append(manager.tick_backlog)
        if n == 0:
            [raised] = manager.apply([decision("sos", subject="new", ts=later)])
            assert raised.kind == "raised"
    assert escalated == [{"r0", "r1", "r2"}, {"r3", "r4", "r5"}, {"r6"}, set()]
    assert backlog == [4, 1, 0, 0]
    # Each tier told once: supervisor (5 min) and emergency (15 min), nothing more.
    tiers = [a.tier for a in manager.list() if a.subject != "new"]
    assert tiers == [2] * 7
    with pytest.raises(ValueError):
        AlertManager(repository, tick_limit=0)


def test_manual_escalation_goes_to_the_next_tier(manager: AlertManager) -> None:
    [raised] = manager.apply([decision("fall")])
    seen: list = []
    manager.subscribe(seen.append)
    manager.acknowledge(raised.alert.id, "officer-li", at_ms=T0 + MINUTE)
    alert = manager.escalate(raised.alert.id, "officer-li", "needs a second pair of hands",
                             at_ms=T0 + 2 * MINUTE)
    assert alert.status == "acknowledged" and alert.tier == 1
    assert kinds(seen[-1:]) == [("escalated", True, 1, ("family",))]
    assert alert.history[-1].actor == "officer-li"
    assert alert.history[-1].note == "tier 1: family; needs a second pair of hands"
    manager.escalate(raised.alert.id, "officer-li", at_ms=T0 + 3 * MINUTE)
    assert kinds(seen[-1:]) == [("escalated", True, 2, ("supervisor", "family"))]
    manager.escalate(raised.alert.id, "officer-li", at_ms=T0 + 3 * MINUTE)
    with pytest.raises(InvalidTransition, match="no further escalation tier"):
        manager.escalate(raised.alert.id, "officer-li", at_ms=T0 + 4 * MINUTE)
    with pytest.raises(InvalidTransition, match="no escalation tier 7"):
        manager.escalate(raised.alert.id, "officer-li", tier=7)


def test_fire_calls_the_emergency_contact_and_evacuates_once_confirmed(
        manager: AlertManager) -> None:
    unconfirmed = manager.apply([decision("fire", subject="h001", severity="Extreme",
                                          resident=None, device_id="h001-smoke-kitchen",
                                          confirmed=False)])
    assert kinds(unconfirmed) == [("raised", True, 0, ("officers", "family"))]
    assert unconfirmed[0].alert.confirmed is False
    confirmed = manager.apply([decision("fire", subject="h001", severity="Extreme",
                                        resident=None, device_id="h001-smoke-kitchen",
                                        ts=T0 + 20_000)])
    assert kinds(confirmed) == [("updated", True, None, ("officers", "family")),
                                ("escalated", True, 1,
                                 ("emergency", "neighbours", "fire_station"))]


def test_flapping_alerts_are_recorded_and_held_back(repository: AlertRepository,
                                                    ids: Callable[[], str]) -> None:
    policy = AlertPolicy(flap_threshold=3, flap_window_s=600)
    manager = AlertManager(repository, build_pipeline(policy, repository, id_factory=ids))
    door = {"subject": "h002-door", "household": "h002", "resident": None,
            "device_id": "h002-door", "severity": "Minor"}
    notified = []
    for i in range(4):
        at = T0 + i * MINUTE
        raised = manager.apply([decision("door_left_open", ts=at, **door)])
        closed = manager.apply([decision("door_left_open", "clear", ts=at + 20_000, **door)])
        notified.append((raised[0].notify, closed[0].notify, raised[0].alert.flapping))
    # The first two are told (and their clearing); from the third on it is flapping.
    assert notified == [(True, True, False), (True, True, False), (False, False, True),
                        (False, False, True)]
    # A flapping alert that stays firing past the window is notified after all.
    [stuck] = manager.apply([decision("door_left_open", ts=T0 + 5 * MINUTE, **door)])
    assert stuck.alert.flapping and not stuck.notify
    assert manager.tick(T0 + 10 * MINUTE) == []
    [late] = manager.tick(T0 + 15 * MINUTE)
    assert kinds([late]) == [("escalated", True, 0, ("officers",))]
    history = [e.action for e in late.alert.history]
    assert history == ["raised", "flapping", "escalated"]


def test_fall_is_never_held_back_as_flapping(manager: AlertManager) -> None:
    for i in range(6):
        [raised] = manager.apply([decision("fall", ts=T0 + i * MINUTE)])
        manager.resolve(raised.alert.id, "officer-li", at_ms=T0 + i * MINUTE + 1000)
        assert raised.notify and not raised.alert.flapping


def test_silenced_alerts_are_recorded_not_notified(manager: AlertManager) -> None:
    silence = manager.add_silence(Silence(
        starts_ms=T0 - MINUTE, ends_ms=T0 + 30 * MINUTE, created_by="technician-zhao",
        comment="replacing smoke detectors", household="h001"))
    assert silence.id and silence.created_ms == T0
    [smoke] = manager.apply([decision("smoke", subject="h001-smoke-kitchen", resident=None,
                                      device_id="h001-smoke-kitchen", confirmed=False)])
    assert smoke.kind == "raised" and not smoke.notify
    assert smoke.alert.silenced_by == silence.id
    assert smoke.alert.history[-1].note == \
        f"silence {silence.id} by technician-zhao: replacing smoke detectors"
    # Other households are not silenced.
    [other] = manager.apply([decision("sos", subject="r002", household="h002",
                                      resident="r002", device_id=None)])
    assert other.notify
    # A fall in the silenced household: recorded, and no escalation while silenced...
    [fall] = manager.apply([decision("fall", ts=T0 + MINUTE)])
    assert not fall.notify
    silenced = {smoke.alert.id, fall.alert.id}
    assert [c for c in manager.tick(T0 + 20 * MINUTE) if c.alert.id in silenced] == []
    # ...but still firing when the silence ends: the chain starts now, from the first tier,
    # and keeps its spacing (supervisor and family 5 min later, emergency 15 min later).
    def fall_changes(at_ms: int) -> list:
        return kinds([c for c in manager.tick(at_ms)
                      if c.alert.id == fall.alert.id and c.kind == "escalated"])

    assert fall_changes(T0 + 30 * MINUTE) == [("escalated", True, 0, ("officers",))]
    assert fall_changes(T0 + 34 * MINUTE) == []
    assert fall_changes(T0 + 35 * MINUTE) == [("escalated", True, 2, ("supervisor", "family"))]
    assert fall_changes(T0 + 44 * MINUTE) == []
    assert fall_changes(T0 + 45 * MINUTE) == [("escalated", True, 3, ("emergency",))]


def test_silence_by_device_and_type(manager: AlertManager) -> None:
    manager.add_silence(Silence(starts_ms=T0, ends_ms=T0 + HOUR, created_by="officer-li",
                                device_id="h002-door", types=("door_left_open",)))
    door = {"subject": "h002-door", "household": "h002", "resident": None,
            "device_id": "h002-door"}
    [left_open] = manager.apply([decision("door_left_open", **door)])
    [forced] = manager.apply([decision("forced_entry", **door)])
    assert not left_open.notify and forced.notify


def test_a_persons_escalation_is_notified_during_a_silence(manager: AlertManager) -> None:
    manager.add_silence(Silence(starts_ms=T0, ends_ms=T0 + HOUR, created_by="officer-li",
                                site="xianlin-3"))
    [raised] = manager.apply([decision("fall")])
    assert not raised.notify
    seen: list = []
    manager.subscribe(seen.append)
    manager.escalate(raised.alert.id, "officer-li", at_ms=T0 + MINUTE)
    assert kinds(seen) == [("escalated", True, 0, ("officers",))]


def test_an_open_fire_covers_the_smoke_alerts_of_its_household(manager: AlertManager) -> None:
    smoke = {"subject": "h001-smoke-kitchen", "resident": None,
             "device_id": "h001-smoke-kitchen", "severity": "Moderate", "confirmed": False}
    [fire, _emergency] = manager.apply([decision("fire", subject="h001", resident=None,
                                                 device_id="h001-smoke-kitchen",
                                                 severity="Extreme")])
    [covered] = manager.apply([decision("smoke", ts=T0 + 1000, **smoke)])
    assert not covered.notify
    assert covered.alert.inhibited_by == fire.alert.id
    assert covered.alert.history[-1].note == f"covered by fire alert {fire.alert.id}"
    # Smoke in another household is its own alert.
    [elsewhere] = manager.apply([decision("smoke", ts=T0 + 1000, subject="h002-smoke",
                                          household="h002", resident=None, device_id=None)])
    assert elsewhere.notify
    assert [c for c in manager.tick(T0 + 10 * MINUTE) if c.alert.id == covered.alert.id] == []
    # Once the fire is resolved, the smoke alert still firing is notified.
    manager.resolve(fire.alert.id, "officer-li", "false alarm: burnt toast",
                    at_ms=T0 + 11 * MINUTE)
    changes = [c for c in manager.tick(T0 + 12 * MINUTE) if c.alert.id == covered.alert.id]
    assert kinds(changes) == [("escalated", True, 0, ("officers",))]
    assert changes[0].alert.inhibited_by is None


def test_a_site_offline_covers_its_devices_offline(manager: AlertManager) -> None:
    manager.apply([decision("site_offline", subject="xianlin-3", household=None,
                            resident=None, device_id=None)])
    [device] = manager.apply([decision("device_offline", subject="h002-door", household="h002",
                                       resident=None, device_id="h002-door", severity="Minor")])
    [other_site] = manager.apply([decision("device_offline", subject="h900-water",
                                           site="gulou-1", household="h900", resident=None,
                                           device_id="h900-water", severity="Minor")])
    assert not device.notify and other_site.notify


def test_silences_are_listed_and_deleted(manager: AlertManager) -> None:
    a = manager.add_silence(Silence(starts_ms=T0, ends_ms=T0 + HOUR, created_by="li",
                                    site="xianlin-3"))
    b = manager.add_silence(Silence(starts_ms=T0 + 2 * HOUR, ends_ms=T0 + 3 * HOUR,
                                    created_by="li", household="h002", types=("battery_low",)))
    assert [s.id for s in manager.list_silences()] == [a.id, b.id]
    assert [s.id for s in manager.list_silences(active_at_ms=T0 + 150 * MINUTE)] == [b.id]
    assert manager.list_silences()[1].types == (AlertType.BATTERY_LOW,)
    manager.delete_silence(a.id)
    assert [s.id for s in manager.list_silences()] == [b.id]
    with pytest.raises(SilenceNotFound):
        manager.delete_silence(a.id)


def test_bad_silences_are_refused() -> None:
    with pytest.raises(InvalidSilence, match="site, a household or a device"):
        Silence(starts_ms=T0, ends_ms=T0 + 1, created_by="li")
    with pytest.raises(InvalidSilence, match="end after it starts"):
        Silence(starts_ms=T0, ends_ms=T0, created_by="li", site="x")
    with pytest.raises(InvalidSilence, match="not a valid AlertType"):
        Silence(starts_ms=T0, ends_ms=T0 + 1, created_by="li", site="x", types=("meteor",))


def test_policy_file_overrides_defaults(tmp_path: Path, repository: AlertRepository) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "types:\n"
        "  fall:\n"
        "    tiers:\n"
        "      - {audience: officers}\n"
        "      - {audience: [supervisor, family], after_s: 60}\n"
        "    no_reminders: true\n"
        "flap_threshold: 5\n"
        "channels:\n"
        "  xianlin-3: {officers: ['json://127.0.0.1:9/officers']}\n"
        "inhibit: [{source: sos, target: fall, equal: device_id}]\n"
    )
    policy = AlertPolicy.load(path)
    assert policy.for_type(AlertType.FALL) == TypePolicy(
        tiers=(EscalationTier(("officers",)), EscalationTier(("supervisor", "family"), 60.0)),
        reminder_interval_s=None)
    assert policy.for_type(AlertType.SOS) == AlertPolicy().for_type(AlertType.SOS)
    assert policy.flap_threshold == 5
    assert policy.site_channels("xianlin-3", "officers") == ("json://127.0.0.1:9/officers",)
    assert policy.inhibit == (InhibitRule(AlertType.SOS, AlertType.FALL, "device_id"),)
    manager = AlertManager(repository, build_pipeline(policy, repository))
    manager.apply([decision("fall")])
    assert kinds(manager.tick(T0 + MINUTE)) == [("escalated", True, 1, ("supervisor", "family"))]
    assert manager.tick(T0 + HOUR) == []


@pytest.mark.parametrize(("text", "message"), [
    ("types: {fire: {auto_resolve: true}}", "fire: may never auto-resolve"),
    ("types: {fall: {tiers: [{audience: friends}]}}", "unknown audience 'friends'"),
    ("types: {meteor: {}}", "bad alert policy at types.meteor"),
    ("channels: {x: {family: ['json://x']}}", "unknown audience 'family'"),
    ("flap_threshold: 1", "bad alert policy at flap_threshold"),
    ("inhibit: [{source: fire, target: smoke, equal: room}]", "equal must be one of"),
    ("inhibit: [{source: fire, target: fire}]", "cannot inhibit itself"),
    ("types: [", "not valid YAML/JSON"),
])
def test_bad_policy_files_are_refused_in_one_line(tmp_path: Path, text: str,
                                                  message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message):
        AlertPolicy.load(path)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read alert policy"):
        AlertPolicy.load(tmp_path / "nope.yaml")


def _changes_of(manager: AlertManager, action: Callable[[], object]) -> list:
    seen: list = []
    unsubscribe = manager.subscribe(seen.append)
    try:
        action()
    finally:
        unsubscribe()
    return seen
