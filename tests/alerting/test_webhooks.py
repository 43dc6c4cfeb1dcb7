"""Signed webhooks against a loopback receiver that checks them as an integrator's would:
the HMAC with the shared secret, a fresh timestamp, a delivery id never accepted before."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import httpx
import orjson
import pytest
from pydantic import ValidationError

from safehood.alerting import (
    AlertManager,
    AlertPolicy,
    Notification,
    NotificationDispatcher,
    WebhookEndpoint,
    WebhookNotifier,
    WebhookRouter,
    build_pipeline,
    verify_webhook,
)
from safehood.alerting.const import CAP_NAMESPACE, WEBHOOK
from safehood.config import Settings
from safehood.database import SqlAlertRepository
from safehood.protocol import Registry
from tests._notifications import serving_posts

from .conftest import REGISTRY, T0, decision, sqlite_engine

SECRET = b"a shared secret of the city"
TOLERANCE_S = 300


@dataclass
class Receiver:
    """Accepts a POST only when signed with ``SECRET``, sent within ``TOLERANCE_S`` of now,
    and not a delivery id it accepted before; the first ``fail`` requests get 503."""

    port: int = 0
    fail: int = 0
    accepted: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        timestamp = headers.get("x-safehood-timestamp", "")
        expected = "sha256=" + hmac.new(SECRET, f"{timestamp}.".encode() + body,
                                        hashlib.sha256).hexdigest()
        with self.lock:
            if self.fail:
                self.fail -= 1
                return 503
            if not hmac.compare_digest(expected, headers.get("x-safehood-signature", "")):
                self.refused.append("signature")
                return 401
            if abs(time.time() - int(timestamp)) > TOLERANCE_S:
                self.refused.append("stale")
                return 401
            delivery = headers["x-safehood-delivery"]
            if any(h["x-safehood-delivery"] == delivery for h, _ in self.accepted):
                self.refused.append("replayed")
                return 409
            self.accepted.append((headers, body))
            return 204


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    with serving_posts(lambda _path, body, headers: state.answer(
            {k.lower(): v for k, v in headers.items()}, body)) as state.port:
        yield state


def test_signed_webhooks_retry_log_and_resist_replay(receiver: Receiver, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{receiver.port}/hooks/safehood"
    city = WebhookEndpoint("city", url, SECRET, sites=("xianlin-3",))
    cap = WebhookEndpoint("city-cap", url + "/cap", SECRET, format="cap")
    elsewhere = WebhookEndpoint("gulou", url + "/gulou", SECRET, sites=("gulou-1",))
    endpoints = [city, cap, elsewhere]
    engine = sqlite_engine(tmp_path / "alerts.db")
    repository = SqlAlertRepository(engine)
    manager = AlertManager(repository, build_pipeline(AlertPolicy(), repository),
                           registry=Registry.from_data(REGISTRY))
    dispatcher = NotificationDispatcher(
        WebhookNotifier(endpoints, public_url="https://safe.example"), repository,
        router=WebhookRouter(endpoints), backoff_initial_s=0.01)
    manager.subscribe(dispatcher.submit)
    receiver.fail = 1  # the first delivery meets a busy receiver and is retried
    with dispatcher:
        raised = manager.apply([decision("water_leak", household="h001", resident=None,
                                         device_id="h001-smoke-kitchen", subject="h001")])
        alert_id = raised[0].alert.id
        manager.acknowledge(alert_id, "officer:Li", at_ms=T0 + 1000)
        assert dispatcher.wait_idle(30)
    delivered = [(h["x-safehood-event"], h["content-type"]) for h, _ in receiver.accepted]
    assert sorted(delivered) == [("acknowledged", "application/cap+xml"),
                                 ("acknowledged", "application/json"),
                                 ("raised", "application/cap+xml"),
                                 ("raised", "application/json")]
    assert receiver.refused == []
    headers, body = next((h, b) for h, b in receiver.accepted
                         if h["content-type"] == "application/json"
                         and h["x-safehood-event"] == "raised")
    payload = orjson.loads(body)
    assert payload["alert"]["id"] == alert_id and payload["change"] == "raised"
    assert payload["delivery"] == headers["x-safehood-delivery"]
    assert verify_webhook(SECRET, body, headers["x-safehood-timestamp"],
                          headers["x-safehood-signature"], now_s=time.time())
    assert not verify_webhook(b"another secret!!", body, headers["x-safehood-timestamp"],
                              headers["x-safehood-signature"], now_s=time.time())
    cap_body = next(b for h, b in receiver.accepted if h["content-type"] == "application/cap+xml")
    assert ElementTree.fromstring(cap_body).tag == f"{{{CAP_NAMESPACE}}}alert"

    # The delivery log: the first request met the busy receiver and was retried; nothing
    # went to the other site's endpoint.
    log = sorted((a.target, a.change, a.attempt, a.result)
                 for a in repository.recent_attempts(WEBHOOK, 100))
    assert log == [("webhook:city", "acknowledged", 1, "delivered"),
                   ("webhook:city", "raised", 1, "retrying"),
                   ("webhook:city", "raised", 2, "delivered"),
                   ("webhook:city-cap", "acknowledged", 1, "delivered"),
                   ("webhook:city-cap", "raised", 1, "delivered")]

    # A captured request sent again is refused: its delivery id was accepted already.
    replayed = httpx.post(url, content=body, headers={
        k: v for k, v in headers.items() if k.startswith("x-safehood") or k == "content-type"})
    assert replayed.status_code == 409
    # A request signed an hour ago (a replay made later, or a clock gone wrong) is refused,
    # and a refusal (4xx) is not retried.
    late = WebhookNotifier([city], clock=lambda: time.time() - 3600)
    change = raised[0]
    result = late.send(Notification(
        key=f"{change.key}:late", alert_id=alert_id, change=change.kind, revision=1, tier=None,
        target=city.target, title="", body="", severity=change.alert.severity,
        alert=change.alert))
    late.close()
    assert not result.ok and not result.retryable
    assert receiver.refused == ["replayed", "stale"]
    engine.dispose()


def test_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEHOOD_WEBHOOKS", orjson.dumps([
        {"name": "city", "url": "https://city.example/hook", "secret": "s" * 16,
         "sites": ["xianlin-3"], "format": "cap"}]).decode())
    monkeypatch.setenv("SAFEHOOD_HOME_ASSISTANT_SITES", "xianlin-3,gulou-1")
    settings = Settings(data_dir=tmp_path, topic_prefix="shd")
    assert [(w.name, w.sites, w.format) for w in settings.webhooks] == \
        [("city", ["xianlin-3"], "cap")]
    assert settings.home_assistant_sites == ["xianlin-3", "gulou-1"]
    assert settings.home_assistant_states == "shd-ha"
    monkeypatch.setenv("SAFEHOOD_WEBHOOKS", orjson.dumps([
        {"name": "city", "url": "https://city.example/hook", "secret": "short"}]).decode())
    with pytest.raises(ValidationError, match="at least 16"):
        Settings(data_dir=tmp_path)
    monkeypatch.delenv("SAFEHOOD_WEBHOOKS")
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(data_dir=tmp_path, environment="production", ack_secret="changethis")
