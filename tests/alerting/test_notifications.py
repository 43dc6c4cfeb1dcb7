"""Notification routing, retries and the notification log; real Apprise delivery over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import apprise
import pytest
from prometheus_client import REGISTRY as METRICS

from safehood._broker import free_port
from safehood.alerting import (
    AlertChange,
    AlertManager,
    AlertPolicy,
    AlertRepository,
    AppriseNotifier,
    ContactDirectory,
    DeliveryResult,
    InMemoryAlertRepository,
    Notification,
    NotificationDispatcher,
    RecordingNotifier,
    Target,
    build_pipeline,
    mask_url,
)
from safehood.database import SqlAlertRepository
from safehood.protocol import Registry, Severity
from tests._notifications import NotificationReceiver, serve_notifications

from .conftest import REGISTRY, T0, decision, sqlite_engine

PUBLIC_URL = "https://safe.example"
OFFICERS = "json://127.0.0.1:9/officers"


def policy_with(channels: dict[str, dict[str, tuple[str, ...]]]) -> AlertPolicy:
    return AlertPolicy(channels=MappingProxyType(channels))


def dispatcher_for(notifier: RecordingNotifier | AppriseNotifier, repository: AlertRepository,
                   policy: AlertPolicy, registry: Registry, **options: object
                   ) -> NotificationDispatcher:
    return NotificationDispatcher(
        notifier, repository, directory=ContactDirectory(registry, policy),
        public_url=PUBLIC_URL, backoff_initial_s=0.01, **options)  # type: ignore[arg-type]


@pytest.fixture
def policy() -> AlertPolicy:
    return policy_with({"xianlin-3": {"officers": (OFFICERS,)}})


def results(alert_id: str, manager: AlertManager) -> list[tuple[str, int, str]]:
    alert = manager.get(alert_id)
    assert alert is not None
    return [(n.audience, n.attempt, n.result) for n in alert.notifications]


def raise_sos(registry: Registry,
              policy: AlertPolicy) -> tuple[InMemoryAlertRepository, AlertManager, AlertChange]:
    """An SOS raised in a manager of its own: the repository, the manager and the change."""
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    [raised] = manager.apply([decision("sos")])
    return repository, manager, raised


def test_a_fall_reaches_the_officers_and_the_family(registry: Registry,
                                                    policy: AlertPolicy) -> None:
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    notifier = RecordingNotifier()
    with dispatcher_for(notifier, repository, policy, registry) as dispatcher:
        manager.subscribe(dispatcher.submit)
        # A fall confirmed by a long lie: the officers and the family are told.
        [raised, _family] = manager.apply([decision("fall", confirmed=True)])
        assert dispatcher.wait_idle(10)
    assert sorted(n.target.audience for n in notifier.sent) == ["family", "officers"]
    family = next(n for n in notifier.sent if n.target.audience == "family")
    assert family.target.url == "json://127.0.0.1:9/family-r001"
    assert family.title == "[Severe] Fall - Wang Fang (r001)"
    assert family.body.splitlines() == [
        "What: Fall, Severe",
        "Who: Wang Fang (r001)",
        "Where: household h001, site xianlin-3",
        "When: 2026-01-01 08:00:00 CST (Asia/Shanghai) / 2026-01-01 00:00:00 UTC",
        "Status: firing",
        "The duty officers have been told.",
        f"Open: {PUBLIC_URL}/ui/#/alerts/{raised.alert.id}",
    ]
    officers = next(n for n in notifier.sent if n.target.audience == "officers")
    assert "Please acknowledge in the dashboard when someone is on it." in officers.body
    alert = manager.get(raised.alert.id)
    assert alert is not None
    assert sorted(results(alert.id, manager)) == [("family", 1, "delivered"),
                                                   ("officers", 1, "delivered")]
    notified = [e for e in alert.history if e.action == "notified"]
    assert len(notified) == 2 and all(e.actor == "notifier" for e in notified)


def test_a_change_is_never_delivered_twice(registry: Registry, policy: AlertPolicy) -> None:
    repository, _, raised = raise_sos(registry, policy)
    notifier = RecordingNotifier()
    with dispatcher_for(notifier, repository, policy, registry) as dispatcher:
        assert dispatcher.submit(raised)
        assert dispatcher.wait_idle(10)
        # The same change again (a replayed stream, a second dispatcher after a restart).
        assert dispatcher.submit(raised)
        assert dispatcher.wait_idle(10)
        stats = dispatcher.stats
    assert len(notifier.sent) == 2
    assert (stats.delivered, stats.skipped) == (2, 2)


def metric(name: str, **labels: str) -> float:
    return METRICS.get_sample_value(name, labels) or 0.0


def test_retryable_failures_are_retried_until_delivered(registry: Registry,
                                                        policy: AlertPolicy) -> None:
    repository, manager, raised = raise_sos(registry, policy)
    notifier = RecordingNotifier()
    officers = ContactDirectory(registry, policy).targets(raised.alert, "officers")[0]
    notifier.fail(officers.id, 2, error="HTTP 503")
    failures_before = metric("safehood_notification_failures_total", audience="officers")
    with dispatcher_for(notifier, repository, policy, registry) as dispatcher:
        dispatcher.submit(raised)
        assert dispatcher.wait_idle(10)
    assert [n.target.audience for n in notifier.attempts].count("officers") == 3
    # /metrics counts them (the API exposes the default registry)
    assert metric("safehood_notification_failures_total", audience="officers") == failures_before + 2
    officer_results = [r for r in results(raised.alert.id, manager) if r[0] == "officers"]
    assert officer_results == [("officers", 1, "retrying"), ("officers", 2, "retrying"),
                               ("officers", 3, "delivered")]


def test_permanent_failures_and_exhausted_retries_are_recorded(registry: Registry,
                                                               policy: AlertPolicy) -> None:
    repository, manager, raised = raise_sos(registry, policy)
    notifier = RecordingNotifier()
    directory = ContactDirectory(registry, policy)
    notifier.fail(directory.targets(raised.alert, "officers")[0].id, 10)
    notifier.fail(directory.targets(raised.alert, "family")[0].id, 1, retryable=False,
                  error="HTTP 404")
    with dispatcher_for(notifier, repository, policy, registry, max_attempts=3) as dispatcher:
        dispatcher.submit(raised)
        assert dispatcher.wait_idle(10)
        assert dispatcher.stats.failed == 2
    assert sorted(results(raised.alert.id, manager)) == [
        ("family", 1, "failed"), ("officers", 1, "retrying"), ("officers", 2, "retrying"),
        ("officers", 3, "gave_up")]
    alert = manager.get(raised.alert.id)
    assert alert is not None
    failed = sorted(e.note or "" for e in alert.history if e.action == "notify-failed")
    assert len(failed) == 2
    assert failed[0].startswith("family:r001:")
    assert failed[0].endswith("(raised, tier 0, attempt 1): HTTP 404")
    assert all("://" not in note for note in failed)


def test_an_audience_without_contacts_is_recorded(registry: Registry) -> None:
    repository = InMemoryAlertRepository()
    policy = AlertPolicy()  # no officer channels configured
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    notifier = RecordingNotifier()
    [raised] = manager.apply([decision("sos", subject="r002", household="h002",
                                       resident="r002", device_id=None)])
    with dispatcher_for(notifier, repository, policy, registry) as dispatcher:
        dispatcher.submit(raised)
        assert dispatcher.wait_idle(10)
    assert notifier.attempts == []
    assert sorted(results(raised.alert.id, manager)) == [("family", 0, "no_target"),
                                                          ("officers", 0, "no_target")]


def test_changes_nobody_is_told_of_are_not_queued(registry: Registry,
                                                  policy: AlertPolicy) -> None:
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    manager.apply([decision("sos")])
    [repeat] = manager.apply([decision("sos", ts=T0 + 1)])
    with dispatcher_for(RecordingNotifier(), repository, policy, registry) as dispatcher:
        assert not repeat.notify
        assert not dispatcher.submit(repeat)
        assert dispatcher.stats.queued == 0


class BlockingNotifier(RecordingNotifier):
    """Holds every send until released: a notification service that hangs."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, notification: Notification) -> DeliveryResult:
        self.entered.set()
        self.release.wait(30)
        return super().send(notification)


def test_a_full_queue_drops_loudly_and_never_blocks(registry: Registry, policy: AlertPolicy,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    notifier = BlockingNotifier()
    raised = [manager.apply([decision("sos", subject=f"s{i}")])[0] for i in range(4)]
    dispatcher = dispatcher_for(notifier, repository, policy, registry, queue_size=2)
    try:
        assert dispatcher.submit(raised[0])
        assert notifier.entered.wait(10)  # the worker is stuck in the first send
        assert dispatcher.submit(raised[1]) and dispatcher.submit(raised[2])
        assert not dispatcher.submit(raised[3])  # returns at once although nothing moves
        assert dispatcher.stats.dropped == 1
        assert "notification queue full" in caplog.text
    finally:
        notifier.release.set()
        dispatcher.close()
    assert results(raised[3].alert.id, manager) == [("officers,family", 0, "dropped")]
    alert = manager.get(raised[3].alert.id)
    assert alert is not None and alert.history[-1].action == "notify-failed"
    assert len(notifier.sent) == 6


def test_a_new_alert_is_delivered_before_escalations_queued_ahead_of_it(
        registry: Registry) -> None:
    policy = policy_with({"xianlin-3": {"officers": (OFFICERS,),
                                        "supervisor": ("json://127.0.0.1:9/supervisor",),
                                        "emergency": ("json://127.0.0.1:9/emergency",)}})
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    notifier = BlockingNotifier()
    first, old = (manager.apply([decision("sos", subject=s)])[0] for s in ("first", "old"))
    escalations = manager.tick(T0 + 20 * 60_000)  # old's supervisor and emergency tiers
    [new] = manager.apply([decision("sos", subject="new", ts=T0 + 20 * 60_000)])
    dispatcher = dispatcher_for(notifier, repository, policy, registry)
    try:
        assert dispatcher.submit(first)
        assert notifier.entered.wait(10)  # the worker is busy while the others queue
        queued = [c for c in escalations if c.alert.id == old.alert.id]
        assert [c.kind for c in queued] == ["escalated", "escalated"]
        for change in (*queued, new):
            assert dispatcher.submit(change)
    finally:
        notifier.release.set()
        dispatcher.close()
    order = [(n.alert_id, n.change, n.tier) for n in notifier.sent]
    assert order == [(first.alert.id, "raised", 0)] * 2 + [(new.alert.id, "raised", 0)] * 2 + [
        (old.alert.id, "escalated", c.tier) for c in queued]


def test_close_delivers_what_is_queued(registry: Registry, policy: AlertPolicy) -> None:
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    notifier = RecordingNotifier()
    dispatcher = dispatcher_for(notifier, repository, policy, registry)
    manager.subscribe(dispatcher.submit)
    manager.apply([decision("sos", subject=f"s{i}") for i in range(5)])
    dispatcher.close(timeout_s=30)
    assert len(notifier.sent) == 10
    [late] = manager.apply([decision("sos", subject="late")])
    assert not dispatcher.submit(late)


def test_secrets_of_urls_stay_out_of_reprs_and_labels(registry: Registry) -> None:
    policy = policy_with({"*": {"officers": ("json://duty:s3cret@127.0.0.1:9/officers",)}})
    [raised] = AlertManager(InMemoryAlertRepository(), registry=registry).apply(
        [decision("sos")])
    [target] = ContactDirectory(registry, policy).targets(raised.alert, "officers")
    assert target.url == "json://duty:s3cret@127.0.0.1:9/officers"
    assert "s3cret" not in repr(target) and "s3cret" not in target.id
    assert target.label == "json://****@127.0.0.1:9/****"


@pytest.mark.parametrize(("url", "masked"), [
    ("mailto://family@example.org", "mailto://****@example.org"),
    ("mailtos://user:pw@smtp.example.org?to=son@example.org", "mailtos://****@smtp.example.org?****"),
    ("https://hooks.example.org/s3cret-path?token=s3cret", "https://hooks.example.org/****?****"),
    ("tgram://123456:AAbbCC/98765", "tgram://****/****"),
    ("ntfy://family-wang-topic", "ntfy://****"),
    ("not a url", "****"),
])
def test_masking_hides_addresses_and_secrets_in_paths_and_queries(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_url(masked) == masked


def test_close_records_what_it_could_not_deliver(registry: Registry,
                                                 policy: AlertPolicy) -> None:
    repository, manager, raised = raise_sos(registry, policy)
    notifier = RecordingNotifier()
    officers = ContactDirectory(registry, policy).targets(raised.alert, "officers")[0]
    notifier.fail(officers.id, 5)
    dispatcher = NotificationDispatcher(
        notifier, repository, directory=ContactDirectory(registry, policy),
        backoff_initial_s=600)
    dispatcher.submit(raised)
    dispatcher.close(timeout_s=0.5)
    officer_results = [r for r in results(raised.alert.id, manager) if r[0] == "officers"]
    assert officer_results == [("officers", 1, "retrying"), ("officers", 2, "abandoned")]


# -- real Apprise delivery --------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    yield from serve_notifications()




def test_a_send_matches_the_tags_of_its_own_target_only(
        receiver: NotificationReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    # With one Apprise for every target, each send matched the tags of all of them: the
    # notification worker slowed down with every resident who had ever been notified.
    notifier = AppriseNotifier()

    def notification(n: int) -> Notification:
        target = Target(id=f"family:r{n}:x", audience="family", url=receiver.url(f"r{n}"))
        return Notification(key=f"k{n}", alert_id=f"a{n}", change="raised", revision=1,
                            tier=0, target=target, title="SOS", body="pressed",
                            severity=Severity.EXTREME, link=None, ack_url=None, alert=None,
                            site="xianlin-3")

    for n in range(20):
        assert notifier.send(notification(n)).ok
    matched = []
    original = apprise.apprise.is_exclusive_match
    monkeypatch.setattr(apprise.apprise, "is_exclusive_match",
                        lambda *args, **kwargs: matched.append(1) or original(*args, **kwargs))
    assert notifier.send(notification(20)).ok
    assert notifier.send(notification(3)).ok
    assert 0 < len(matched) <= 4  # one service a send (Apprise looks at it twice)
    assert len(receiver.received) == 22


def test_apprise_delivers_retries_and_records(receiver: NotificationReceiver, tmp_path: Path) -> None:
    data = json.loads(json.dumps(REGISTRY))
    data["residents"][0]["contacts"] = [receiver.url("family-r001")]
    registry = Registry.from_data(data)
    policy = policy_with({"xianlin-3": {
        "officers": (receiver.url("officers"),),
        "supervisor": (receiver.url("supervisor"),),
        "emergency": (f"json://127.0.0.1:{free_port()}/emergency",),
    }})
    receiver.fail["/officers"] = 2                      # 500 twice, then fine
    receiver.fail["/supervisor"] = 1                    # 403: permanent, never retried
    receiver.status["/supervisor"] = 403
    engine = sqlite_engine(tmp_path / "alerts.db")
    repository = SqlAlertRepository(engine)
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    dispatcher = NotificationDispatcher(
        AppriseNotifier(), repository, directory=ContactDirectory(registry, policy),
        public_url=PUBLIC_URL, backoff_initial_s=0.05, max_attempts=3)
    manager.subscribe(dispatcher.submit)
    try:
        [raised] = manager.apply([decision("fall", evidence={"peak_g": 3.4})])
        alert_id = raised.alert.id
        # No answer at the door: the officer wakes the supervisor and the family, then calls
        # the emergency contact.
        manager.escalate(alert_id, "officer-li", "no answer at the door", at_ms=T0 + 60_000,
                         tier=2)
        manager.escalate(alert_id, "officer-li", at_ms=T0 + 120_000, tier=3)
        assert dispatcher.wait_idle(60)
    finally:
        dispatcher.close()

    [family] = receiver.bodies("family-r001")
    assert family["title"] == "[Severe] Fall - Wang Fang (r001)"
    assert "When: 2026-01-01 08:00:00 CST (Asia/Shanghai) / 2026-01-01 00:00:00 UTC" \
        in family["message"]
    assert f"Open: {PUBLIC_URL}/ui/#/alerts/{alert_id}" in family["message"]
    # Officers: two failed posts, then exactly one delivery.
    assert len(receiver.bodies("officers", ok_only=False)) == 3
    [officers] = receiver.bodies("officers")
    assert officers["title"] == "[Severe] Fall - Wang Fang (r001)"
    assert receiver.bodies("supervisor") == []
    assert len(receiver.bodies("supervisor", ok_only=False)) == 1
    supervisor = receiver.bodies("supervisor", ok_only=False)[0]
    assert supervisor["title"] == "[Severe] Escalated: Fall - Wang Fang (r001)"

    alert = manager.get(alert_id)
    assert alert is not None
    attempts = [(n.audience, n.attempt, n.result, n.ok) for n in alert.notifications]
    assert sorted(attempts) == [
        ("emergency", 1, "retrying", False), ("emergency", 2, "retrying", False),
        ("emergency", 3, "gave_up", False),
        ("family", 1, "delivered", True),
        ("officers", 1, "retrying", False), ("officers", 2, "retrying", False),
        ("officers", 3, "delivered", True),
        ("supervisor", 1, "failed", False),
    ]
    officer_errors = [n.error for n in alert.notifications
                      if n.audience == "officers" and not n.ok]
    assert all(e and "500" in e for e in officer_errors)
    # Secrets never reach the log: targets are ids, URLs are masked.
    assert all(n.target.startswith(f"{n.audience}:") for n in alert.notifications)
    actions = [e.action for e in alert.history]
    assert actions.count("notified") == 2 and actions.count("notify-failed") == 2
    engine.dispose()


def test_subscribed_dispatcher_with_unreachable_service_never_breaks_apply(
        registry: Registry) -> None:
    policy = policy_with({"*": {"officers": (f"json://127.0.0.1:{free_port()}/x",)}})
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    dispatcher = NotificationDispatcher(
        AppriseNotifier(), repository, directory=ContactDirectory(registry, policy),
        backoff_initial_s=0.01, max_attempts=2)
    manager.subscribe(dispatcher.submit)
    changes: list[AlertChange] = []
    try:
        for i in range(20):
            changes += manager.apply([decision("sos", subject=f"s{i}", resident=None,
                                               household=None, device_id=None)])
        assert dispatcher.wait_idle(60)
    finally:
        dispatcher.close()
    assert [c.kind for c in changes] == ["raised"] * 20
    assert dispatcher.stats.failed == 20

