"""The API on a real uvicorn on a loopback port: requests over TCP and the live stream."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from safehood._broker import free_port
from safehood.alerting import DeliveryAttempt, HistoryEntry
from safehood.api import AlertBroadcaster, ApiServer, RedactTokens, Role, TokenStore
from safehood.database import SqlAlertRepository
from safehood.protocol import Alert, AlertStatus, Severity
from safehood.protocol import AlertType as T
from tests._mqtt import wait_until

from .conftest import NOW_MS, Api, ApiBuilder


@pytest.fixture
def live(build_api: ApiBuilder) -> Iterator[tuple[Api, ApiServer]]:
    api = build_api(test_client=False)
    server = ApiServer(api.app, host="127.0.0.1", port=free_port())
    server.start()
    yield api, server
    server.stop()


@dataclass
class StreamReader:
    """Reads an SSE stream in a thread, collecting events and comments."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    error: Exception | None = None
    ended: threading.Event = field(default_factory=threading.Event)

    def start(self) -> StreamReader:
        threading.Thread(target=self._run, daemon=True).start()
        wait_until(lambda: self.comments or self.ended.is_set(), 15, "the stream to open")
        return self

    def _run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, params=self.params,
                              timeout=httpx.Timeout(5, read=60)) as response:
                self.status = response.status_code
                event = None
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    elif line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event:
                        self.events.append((event, json.loads(line[6:])))
                        event = None
        except httpx.HTTPError as exc:
            self.error = exc
        finally:
            self.ended.set()


def test_rest_over_a_real_server(live: tuple[Api, ApiServer]) -> None:
    api, server = live
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200
        assert client.get("/api/v1/alerts").status_code == 401
        alerts = client.get("/api/v1/alerts", headers=api.headers("officer")).json()
        assert [a["id"] for a in alerts["data"]] == [api.seed.alert_id]
        ack = client.post(f"/api/v1/alerts/{api.seed.alert_id}/acknowledge",
                          headers=api.headers("officer"), json={"note": "coming"})
        assert ack.json()["status"] == "acknowledged"
        schema = client.get("/openapi.json").json()
        assert "/api/v1/alerts/{alert_id}/resolve" in schema["paths"]


def test_live_stream_is_scoped_and_shutdown_does_not_hang(live: tuple[Api, ApiServer]) -> None:
    api, server = live
    url = f"{server.url}/api/v1/stream"
    officer = StreamReader(url, headers=api.headers("officer")).start()
    # EventSource cannot send headers: the family view passes the token in the query.
    family = StreamReader(url, params={"token": api.tokens.family}).start()
    gulou = StreamReader(url, headers=api.headers("officer_gulou")).start()
    integrator = StreamReader(url, headers=api.headers("integrator")).start()
    assert integrator.ended.wait(15) and integrator.status == 403
    assert officer.status == family.status == gulou.status == 200
    assert "connected" in officer.comments

    other = api.raise_alert(T.FALL, "r002-band", "xianlin-3", household="h001", resident="r002",
                            device_id="r002-band", severity=Severity.SEVERE, confirmed=False)
    api.manager.acknowledge(api.seed.alert_id, "officer:Li Wei", "on my way")
    api.manager.resolve(api.seed.alert_id, "officer:Li Wei", "all fine")

    wait_until(lambda: len(officer.events) >= 3, 15, "three changes on the officer's stream")
    wait_until(lambda: len(family.events) >= 2, 15, "two changes on the family's stream")
    assert [(e, d["kind"], d["alert"]["id"]) for e, d in officer.events] == [
        ("alert", "raised", other), ("alert", "acknowledged", api.seed.alert_id),
        ("alert", "resolved", api.seed.alert_id)]
    # The family of r001 sees r001's alert change, not r002's new fall.
    assert [(d["kind"], d["alert"]["id"]) for _, d in family.events] == [
        ("acknowledged", api.seed.alert_id), ("resolved", api.seed.alert_id)]
    resolved = Alert.model_validate(family.events[-1][1]["alert"])
    assert resolved.status is AlertStatus.RESOLVED
    assert gulou.events == []

    # Shutting down ends the open streams cleanly (uvicorn alone would wait for them, then
    # cut them off after its graceful timeout: an incomplete chunked response).
    assert server.stop() is True
    for reader in (officer, family, gulou):
        assert reader.ended.wait(15), "a stream stayed open after shutdown"
        assert reader.error is None


def test_slow_clients_are_dropped() -> None:
    async def scenario() -> list[str]:
        broadcaster = AlertBroadcaster(queue_size=2, keepalive_s=0.05)
        broadcaster.attach(asyncio.get_running_loop())
        client = broadcaster.connect("slow", "t1", Role.OFFICER, lambda _a: True)
        alert = Alert(id="a1", type=T.SOS, severity=Severity.EXTREME, status=AlertStatus.FIRING,
                      site="s", subject="d", started_at="2026-01-01T00:00:00.000Z")
        for _ in range(3):
            broadcaster.publish("updated", alert)
        await asyncio.sleep(0.05)  # let call_soon_threadsafe deliver
        chunks = [chunk async for chunk in broadcaster.events(client)]
        assert broadcaster.clients == 0
        assert broadcaster.dropped_clients == 1
        return chunks

    chunks = asyncio.run(scenario())
    assert chunks[0].startswith("retry:")
    assert chunks[-1].startswith("event: dropped")
    assert not any(c.startswith("id:") for c in chunks)  # its backlog was discarded


def test_keepalive_comments() -> None:
    async def scenario() -> list[str]:
        broadcaster = AlertBroadcaster(keepalive_s=0.01)
        broadcaster.attach(asyncio.get_running_loop())
        client = broadcaster.connect("idle", "t1", Role.OFFICER, lambda _a: True)
        chunks: list[str] = []
        async for chunk in broadcaster.events(client):
            chunks.append(chunk)
            if len(chunks) == 3:
                broadcaster.close()
        return chunks

    chunks = asyncio.run(scenario())
    assert chunks[1:3] == [": keepalive\n\n", ": keepalive\n\n"]


def notify_everyone(api: Api, alert_id: str) -> None:
    """Record what the notifier would have: the family, the officers and the supervisor told."""
    repository = SqlAlertRepository(api.engine)
    for audience, target, url in (
            ("family", "family:r001:1a2b", "mailto://family@example.org"),
            ("family", "family:r001:3c4d", "mailtos://son:pw@smtp.example.org"),
            ("officers", "officers:xianlin-3:5e6f", "json://duty:s3cret@hooks.example.org/duty"),
            ("supervisor", "supervisor:xianlin-3:7a8b", "https://sup.example.org/s3cret?k=v")):
        repository.record_attempt(
            DeliveryAttempt(alert_id=alert_id, key=f"{alert_id}:raised@1:0:{target}",
                            change="raised", revision=1, tier=0, audience=audience,
                            target=target, url=url, attempt=1, at_ms=NOW_MS, ok=True,
                            result="delivered"),
            HistoryEntry(NOW_MS, "notified", "notifier", f"{audience} {url} (raised)"))


def test_a_family_receives_only_the_family_view_on_every_path(
        live: tuple[Api, ApiServer]) -> None:
    api, server = live
    notify_everyone(api, api.seed.alert_id)
    family = StreamReader(f"{server.url}/api/v1/stream",
                          params={"token": api.tokens.family}).start()
    officer = StreamReader(f"{server.url}/api/v1/stream", headers=api.headers("officer")).start()
    api.manager.acknowledge(api.seed.alert_id, "officer:Li Wei", "on my way")
    wait_until(lambda: family.events and officer.events, 15, "the change on both streams")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        headers = api.headers("family")
        representations = [
            family.events[0][1]["alert"],
            client.get(f"/api/v1/alerts/{api.seed.alert_id}", headers=headers).json(),
            client.get("/api/v1/alerts", headers=headers).json()["data"][0],
            client.get("/api/v1/residents/r001/status", headers=headers).json()["open_alerts"][0],
        ]
    for alert in representations:
        assert alert["id"] == api.seed.alert_id
        assert alert["notifications"] == []
        actors = [e["actor"] for e in alert["history"]]
        assert "officer:Li Wei" in actors and "notifier" not in actors
        text = json.dumps(alert)
        for secret in ("family@", "son", "s3cret", "hooks.example.org", "sup.example.org"):
            assert secret not in text
    # Officers see that the family was told, not where; the staff's channels masked.
    seen = {n["target"]: n["url"] for n in officer.events[0][1]["alert"]["notifications"]}
    assert seen == {"family:r001:1a2b": None, "family:r001:3c4d": None,
                    "officers:xianlin-3:5e6f": "json://****@hooks.example.org/****",
                    "supervisor:xianlin-3:7a8b": "https://sup.example.org/****?****"}


def test_revoking_a_token_ends_its_open_stream(live: tuple[Api, ApiServer]) -> None:
    api, server = live
    issued = TokenStore(api.engine).create(name="Wang Jun", role=Role.FAMILY, residents=["r001"])
    stream = StreamReader(f"{server.url}/api/v1/stream",
                          params={"token": issued.token}).start()
    assert stream.status == 200
    with httpx.Client(base_url=server.url, timeout=10) as client:
        revoked = client.delete(f"/api/v1/tokens/{issued.record.id}", headers=api.headers("admin"))
        assert revoked.status_code == 204
        assert stream.ended.wait(15), "the stream stayed open after its token was revoked"
        assert stream.error is None
        assert [e for e, _ in stream.events] == ["revoked"]
        api.manager.acknowledge(api.seed.alert_id, "officer:Li Wei", "on my way")
        again = client.get("/api/v1/stream", params={"token": issued.token})
        assert again.status_code == 401
    assert [e for e, _ in stream.events] == ["revoked"]


def test_a_token_revoked_elsewhere_ends_its_stream_at_the_next_keepalive() -> None:
    async def scenario() -> list[str]:
        broadcaster = AlertBroadcaster(keepalive_s=0.01)
        broadcaster.attach(asyncio.get_running_loop())
        checks = iter([True, False])
        client = broadcaster.connect("cli-revoked", "t1", Role.FAMILY, lambda _a: True,
                                     authorized=lambda: next(checks))
        return [chunk async for chunk in broadcaster.events(client)]

    chunks = asyncio.run(scenario())
    assert chunks[1] == ": keepalive\n\n"
    assert chunks[-1].startswith("event: revoked")
    assert len(chunks) == 3


def test_tokens_in_the_query_are_not_logged() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/api/v1/stream?token=shd_abc_secret&x=1",
                                "1.1", 200), None)
    assert RedactTokens().filter(record)
    assert "secret" not in record.getMessage()
    assert "/api/v1/stream?token=***&x=1" in record.getMessage()
