"""Push with acknowledge: a real Apprise ntfy delivery carries an "Acknowledge" button whose
link acknowledges its alert, for that alert only and only until it expires; and the
webhook delivery log is the admins'."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import MappingProxyType
from urllib.parse import urlsplit

import pytest

from safehood.alerting import (
    AckLinks,
    AckTokens,
    AlertPolicy,
    AppriseNotifier,
    ContactDirectory,
    DeliveryAttempt,
    InvalidAckToken,
    NotificationDispatcher,
)
from safehood.alerting.const import WEBHOOK
from safehood.database import load_registry
from safehood.protocol import AlertStatus
from safehood.protocol import AlertType as T
from tests._notifications import NotificationReceiver, serve_notifications

from .conftest import NOW_MS, ApiBuilder

TTL_S = 600
PUBLIC_URL = "http://testserver"


@pytest.fixture(scope="module")
def ntfy() -> Iterator[NotificationReceiver]:
    yield from serve_notifications()


def test_a_token_is_scoped_to_one_alert_and_expires() -> None:
    tokens = AckTokens(b"k" * 32, ttl_s=TTL_S)
    token = tokens.mint("a1", "officers:xianlin-3:abc", NOW_MS)
    assert tokens.verify(token, "a1", NOW_MS + TTL_S * 1000 - 1).recipient == \
        "officers:xianlin-3:abc"
    for alert_id, now_ms in (("a2", NOW_MS), ("a1", NOW_MS + TTL_S * 1000)):
        with pytest.raises(InvalidAckToken):
            tokens.verify(token, alert_id, now_ms)
    with pytest.raises(InvalidAckToken):
        AckTokens(b"x" * 32, ttl_s=TTL_S).verify(token, "a1", NOW_MS)
    payload, _, signature = token.partition(".")
    with pytest.raises(InvalidAckToken):
        tokens.verify(f"{payload}x.{signature}", "a1", NOW_MS)


def test_push_acknowledge_button_acknowledges_its_alert_only_until_it_expires(
        build_api: ApiBuilder, ntfy: NotificationReceiver) -> None:
    now = [NOW_MS]
    tokens = AckTokens(b"s" * 32, ttl_s=TTL_S)
    api = build_api(ack_tokens=tokens, clock=lambda: now[0])
    channel = f"ntfy://127.0.0.1:{ntfy.port}/officers-xianlin"
    policy = AlertPolicy(channels=MappingProxyType({"xianlin-3": {"officers": (channel,)}}))
    dispatcher = NotificationDispatcher(
        AppriseNotifier(), api.manager.repository,
        directory=ContactDirectory(load_registry(api.engine), policy), public_url=PUBLIC_URL,
        ack_links=AckLinks(tokens, PUBLIC_URL), clock=lambda: now[0] / 1000)
    api.manager.subscribe(dispatcher.submit)
    with dispatcher:
        alert_id = api.raise_alert(T.SOS, "r002", "xianlin-3", household="h001",
                                   resident="r002", device_id="r002-band")
        assert dispatcher.wait_idle(30)
    other_id = api.seed.alert_id

    # Apprise posts ntfy's JSON form: the topic in the body, the actions in a header.
    posts = [(headers, body) for (_path, _code, body), headers
             in zip(ntfy.received, ntfy.headers, strict=True)
             if body.get("topic") == "officers-xianlin"]
    assert len(posts) == 1, ntfy.received
    headers, body = posts[0]
    actions = json.loads({k.lower(): v for k, v in headers.items()}["x-actions"])
    assert [(a["action"], a["label"], a["method"]) for a in actions] == \
        [("http", "Acknowledge", "POST")]
    link = urlsplit(actions[0]["url"])
    assert f"{link.scheme}://{link.netloc}" == PUBLIC_URL
    assert f"Acknowledge: {actions[0]['url']}" in body["message"]
    url = f"{link.path}?{link.query}"

    # Opening the link in a browser asks first: a GET never acknowledges.
    page = api.client.get(url)
    assert page.status_code == 200 and "<form method='post'" in page.text
    assert api.manager.get(alert_id).status == AlertStatus.FIRING  # type: ignore[union-attr]

    # The same token for another alert, and after it expired, is refused.
    assert api.client.post(url.replace(alert_id, other_id)).status_code == 403
    now[0] = NOW_MS + TTL_S * 1000
    assert api.client.post(url).status_code == 403
    assert api.manager.get(alert_id).status == AlertStatus.FIRING  # type: ignore[union-attr]

    now[0] = NOW_MS + 1000
    answer = api.client.post(url)
    assert answer.status_code == 200, answer.text
    recipient = answer.json()["acknowledged_by"]
    assert recipient.startswith("officers:xianlin-3:")
    alert = api.manager.get(alert_id)
    assert alert is not None and alert.status == AlertStatus.ACKNOWLEDGED
    assert [(e.action, e.actor) for e in alert.history if e.action == "acknowledged"] == \
        [("acknowledged", recipient)]
    other = api.manager.get(other_id)
    assert other is not None and other.status == AlertStatus.FIRING
    assert api.client.post(url).status_code == 409  # acknowledged already


def test_webhook_delivery_log_is_for_admins(build_api: ApiBuilder) -> None:
    api = build_api()
    api.manager.repository.record_attempt(DeliveryAttempt(
        alert_id=api.seed.alert_id, key=f"{api.seed.alert_id}:raised@1:-:webhook:city",
        change="raised", revision=1, tier=None, audience=WEBHOOK, target="webhook:city",
        url="https://****/****", attempt=1, at_ms=NOW_MS, ok=False, result="retrying",
        error="https://****/**** answered 503"))
    answer = api.client.get("/api/v1/webhooks/deliveries", headers=api.headers("admin"))
    assert answer.status_code == 200
    rows = answer.json()["data"]
    assert [(r["alert_id"], r["target"], r["result"]) for r in rows] == \
        [(api.seed.alert_id, "webhook:city", "retrying")]
    for role in ("officer", "family", "integrator"):
        assert api.client.get("/api/v1/webhooks/deliveries",
                              headers=api.headers(role)).status_code == 403


def test_a_familys_button_says_on_my_way_and_leaves_the_alert_to_the_officers(
        build_api: ApiBuilder) -> None:
    """A relative far away may not reach a fall in time: their acknowledge is written to the
    incident log for the officers, and the officers' chain goes on."""
    tokens = AckTokens(b"s" * 32, ttl_s=TTL_S)
    api = build_api(ack_tokens=tokens, clock=lambda: NOW_MS)
    alert_id = api.raise_alert(T.FALL, "r002", "xianlin-3", household="h001", resident="r002",
                               device_id="r002-band")
    family = "family:r002:0123456789"
    answer = api.client.post(f"/ack/{alert_id}?token={tokens.mint(alert_id, family, NOW_MS)}")
    assert answer.status_code == 200, answer.text
    alert = api.manager.get(alert_id)
    assert alert is not None and alert.status == AlertStatus.FIRING
    assert [(e.action, e.actor) for e in alert.history if e.actor == family] == \
        [("responding", family)]
    officer = "officers:xianlin-3:0123456789"
    answer = api.client.post(f"/ack/{alert_id}?token={tokens.mint(alert_id, officer, NOW_MS)}")
    assert answer.status_code == 200 and answer.json()["acknowledged_by"] == officer
