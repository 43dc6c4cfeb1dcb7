"""A confirmed fire evacuates its building: every other household and the micro fire
station are told once, in their language, through Apprise, and recorded like any
notification."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest

from safehood.alerting import (
    AlertManager,
    AlertPolicy,
    AppriseNotifier,
    ContactDirectory,
    NotificationDispatcher,
    build_pipeline,
)
from safehood.database import SqlAlertRepository
from safehood.protocol import Registry
from tests._notifications import NotificationReceiver, serve_notifications

from .conftest import T0, decision, sqlite_engine

SITE = "xianlin-3"


@pytest.fixture(scope="module")
def receiver() -> Iterator[NotificationReceiver]:
    yield from serve_notifications()


def building_registry(receiver: NotificationReceiver) -> Registry:
    """Building b1: h101 (on fire), h102 and h201 (Chinese readers), h202 (English, two
    residents sharing one family address); h900 is in another building."""
    homes = [("h101", 1, "101", "zh"), ("h102", 1, "102", "zh"), ("h201", 2, "201", "zh"),
             ("h202", 2, "202", "en"), ("h900", 1, "101", "zh")]
    return Registry.from_data({
        "households": [{"id": h, "site": SITE, "building": "b9" if h == "h900" else "b1",
                        "floor": floor, "unit": unit} for h, floor, unit, _ in homes],
        "residents": [
            *({"id": f"r-{h}", "household": h, "name": f"Resident {h}", "language": lang,
               "contacts": [receiver.url(f"home-{h}")]} for h, _, _, lang in homes),
            {"id": "r-h202b", "household": "h202", "name": "Second resident", "language": "en",
             "contacts": [receiver.url("home-h202")]},
        ],
        "devices": [{"device_id": "h101-smoke-kitchen", "site": SITE, "kind": "smoke",
                     "household": "h101", "room": "kitchen", "building": "b1"}],
    })


def test_a_confirmed_fire_tells_the_building_and_the_fire_station_once(
        receiver: NotificationReceiver, tmp_path: Path) -> None:
    registry = building_registry(receiver)
    policy = AlertPolicy(channels=MappingProxyType({SITE: MappingProxyType({
        "officers": (receiver.url("officers"),),
        "fire_station": (receiver.url("station"),),
    })}))
    repository = SqlAlertRepository(sqlite_engine(tmp_path / "alerts.db"))
    manager = AlertManager(repository, build_pipeline(policy, repository), registry=registry)
    dispatcher = NotificationDispatcher(
        AppriseNotifier(), repository, directory=ContactDirectory(registry, policy),
        backoff_initial_s=0.05)
    manager.subscribe(dispatcher.submit)
    fire = {"household": "h101", "resident": None, "device_id": "h101-smoke-kitchen"}
    try:
        [raised, *_] = manager.apply([decision("fire", severity="Extreme", subject="b1",
                                               confirmed=True, **fire)])
        # The fire goes on (a second detector, a reminder): nobody is evacuated twice.
        manager.apply([decision("fire", severity="Extreme", subject="b1", confirmed=True,
                                ts=T0 + 30_000, **fire)])
        manager.tick(T0 + 5 * 60_000)
        assert dispatcher.wait_idle(60)
    finally:
        dispatcher.close()

    for home in ("h102", "h201"):
        [message] = receiver.bodies(f"home-{home}")
        assert message["title"] == "【火警】请立即疏散：b1栋"
        assert "b1栋1层101室（xianlin-3）确认发生火灾" in message["message"]
    [english] = receiver.bodies("home-h202")
    assert english["title"] == "[Fire] Evacuate now: building b1"
    assert english["message"].startswith(
        "A fire is confirmed at building b1, floor 1, unit 101 (xianlin-3).")
    [station] = receiver.bodies("station")
    # The station's language is not known: both, Chinese first.
    assert station["title"] == ("【火警】微型消防站请出动：b1栋1层101室（xianlin-3） / "
                                "[Fire] Micro fire station, turn out: building b1, floor 1, "
                                "unit 101 (xianlin-3)")
    assert receiver.bodies("home-h900") == []
    # The household on fire hears as the family does, not as a neighbour: in Chinese.
    [family] = receiver.bodies("home-h101")
    assert family["title"] == "[特别严重] 火警 - 住户 h101，房间 kitchen，b1栋，社区 xianlin-3"
    assert family["message"].splitlines()[0] == "事件：火警，特别严重"
    assert "已通知社区值班人员。" in family["message"]

    alert = manager.get(raised.alert.id)
    assert alert is not None
    told = sorted((n.audience, n.target.split(":")[1], n.result) for n in alert.notifications
                  if n.audience in ("neighbours", "fire_station"))
    assert told == [("fire_station", SITE, "delivered"), ("neighbours", "h102", "delivered"),
                    ("neighbours", "h201", "delivered"), ("neighbours", "h202", "delivered")]
