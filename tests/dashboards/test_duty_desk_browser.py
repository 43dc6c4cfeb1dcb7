"""The duty desk in headless Chromium, as an officer, against the live pipeline: a fire in a
home of a resident with a care record, from traffic two days in the past (a replay), so that
the site's event clock and the browser's wall clock differ by days.

One page session walks the acceptance path (care record and responders, a call and a
dispatch logged, resolved with a cause, people's entries above the folded machine entries,
times on the event clock); screenshots in English and Chinese, desktop and phone, are saved
to ``test-artifacts/dashboards/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from safehood._broker import MosquittoBroker
from safehood.protocol import Registry, parse_ts_ms
from tests._mqtt import publish_all, wait_until

from ._desk import LiveDesk, live_desk
from .conftest import DESKTOP, PHONE, OpenPage

pytestmark = pytest.mark.browser

SITE = "xianlin-9"
DAY_MS = 86_400_000
REGISTRY = Registry.from_data({
    "households": [{
        "id": "h301", "site": SITE, "lives_alone": True, "timezone": "Asia/Shanghai",
        "building": "b3", "floor": 3, "unit": "302",
        "responders": [
            {"name": "王军 (Wang Jun)", "relation": "family", "phone": "+86 139 0000 0001",
             "note": "son, 20 min away / 儿子 开车20分钟"},
            {"name": "刘娜 (Liu Na)", "relation": "neighbour", "phone": "+86 139 0000 0002",
             "note": "unit 301"},
            {"name": "周敏 (Zhou Min)", "relation": "grid_worker", "phone": "+86 139 0000 0003"},
        ],
        "key_holders": [{"name": "刘娜 (Liu Na)", "phone": "+86 139 0000 0002",
                         "access_note": "spare key in 301 / 备用钥匙在301室"}],
    }],
    "residents": [{"id": "r301", "household": "h301", "name": "Wang Fang", "elderly": True,
                   "dementia": True, "birth_year": 1941,
                   "conditions": ["dementia / 认知障碍", "hypertension / 高血压"],
                   "mobility": "walker / 助行器", "language": "zh"}],
    "devices": [
        {"device_id": "h301-smoke-kitchen", "site": SITE, "kind": "smoke", "household": "h301",
         "room": "kitchen"},
        {"device_id": "h301-smoke-hall", "site": SITE, "kind": "smoke", "household": "h301",
         "room": "hall"},
    ],
})


@dataclass
class Desk(LiveDesk):
    fire_id: str = ""
    event_ms: int = 0  # when the fire started, two days before the wall clock


@pytest.fixture(scope="module")
def desk(mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with live_desk(mosquitto, tmp_path_factory.mktemp("desk"), REGISTRY, SITE,
                   exercise=True) as live:
        event_ms = int(time.time() * 1000) - 2 * DAY_MS
        publish_all(mosquitto.host, mosquitto.port, [
            (f"{live.topic}/h301-smoke-kitchen/event",
             orjson.dumps({"ts": event_ms, "kind": "smoke", "event": "alarm"})),
            (f"{live.topic}/h301-smoke-hall/event",
             orjson.dumps({"ts": event_ms + 20_000, "kind": "smoke", "event": "alarm"})),
        ])

        def fires() -> list[dict[str, Any]]:
            return [a for a in live.get("alerts")["data"] if a["type"] == "fire"]

        wait_until(lambda: bool(fires()), timeout_s=60, what="the fire to be raised")
        yield Desk(live.pipeline, live.url, live.officer, live.topic, fires()[0]["id"], event_ms)


def open_fire(p: OpenPage, desk: Desk) -> Any:
    page = p.page
    page.goto(f"{desk.url}/ui/index.html#/alerts/{desk.fire_id}")
    page.fill("#token", desk.officer)
    page.press("#token", "Enter")
    page.wait_for_selector("#care-responders")
    return page


def test_officer_works_a_fire_from_the_care_record(desk: Desk, open_page: Any) -> None:
    p = open_page(DESKTOP)
    page = open_fire(p, desk)

    # Who is in danger, and whom to call, in order, beside the alert.
    care = page.locator("#care")
    assert "Wang Fang" in care.inner_text()
    assert "85 years (born 1941)" in care.inner_text()  # by the site clock's year
    assert "dementia / 认知障碍" in care.inner_text()
    assert "walker" in care.inner_text()
    assert "floor 3 · unit 302" in page.locator("#care-place").inner_text()
    relations = page.locator("#care-responders li").evaluate_all(
        "els => els.map(e => e.dataset.relation)")
    assert relations == ["family", "neighbour", "grid_worker"]
    assert page.locator("#care-responders a.phone").first.get_attribute("href") == \
        "tel:+8613900000001"
    assert "spare key in 301" in page.locator("#care-key-holders").inner_text()

    # One clock: the demo's simulated clock, two days behind the wall clock, shown as such;
    # the fire started "seconds" ago on it, not "2 days ago".
    badge = page.locator("#site-clock .badge.clock")
    assert "Simulated time" in badge.inner_text()
    assert "Asia/Shanghai" in badge.inner_text()
    shown_now = int(badge.get_attribute("data-now-ms") or 0)
    assert desk.event_ms <= shown_now < desk.event_ms + DAY_MS
    started = page.locator(".started-at").inner_text()
    assert "day" not in started, started
    p.shot("duty-desk-fire-desktop-en")

    # Log a call and a dispatch: the form offers the care record's people.
    page.select_option("#log-action", "called")
    page.fill("#log-whom", "王军 (Wang Jun)")
    page.select_option("#log-outcome", "reached")
    page.fill("#log-note", "on his way")
    page.click("#log-submit")
    page.wait_for_selector('#history-entries li[data-action="called"]')
    page.select_option("#log-action", "dispatched")
    assert page.locator("#log-outcome").is_hidden()
    page.fill("#log-whom", "周敏 (Zhou Min)")
    page.click("#log-submit")
    page.wait_for_selector('#history-entries li[data-action="dispatched"]')

    # Resolve with a cause.
    page.locator("#detail .action-resolve").click()
    page.fill("#note-text", "pan fire in the kitchen, put out by the neighbour")
    page.select_option("#note-cause", "real")
    page.click("#note-confirm")
    page.wait_for_selector('#history-entries li[data-action="resolved"]')
    assert "Real incident" in page.locator("#detail").inner_text()
    assert page.locator("#log-form").count() == 0, "a resolved alert's log is closed"

    # The history: people's entries, then the machine's folded below them.
    entries = page.locator("#history-entries li")
    actions = entries.evaluate_all("els => els.map(e => e.dataset.action)")
    assert actions[-3:] == ["called", "dispatched", "resolved"]
    assert "notified" not in actions and "reminder" not in actions
    assert "Called 王军 (Wang Jun): reached" in entries.all_inner_texts()[-3]
    machine = page.locator("#history-machine")
    assert machine.count() == 1 and "Tier 0" in machine.inner_text()
    assert page.evaluate("""() => {
        const people = document.getElementById('history-entries');
        const folded = document.getElementById('history-machine');
        return Boolean(people.compareDocumentPosition(folded) & Node.DOCUMENT_POSITION_FOLLOWING);
    }""")
    # Every time shown agrees with the event time: on the site's clock, not the browser's.
    times = [parse_ts_ms(t) for t in entries.evaluate_all(
        "els => els.map(e => e.dataset.at)")]
    assert all(desk.event_ms <= t < desk.event_ms + DAY_MS for t in times), times
    stored = desk.get(f"alerts/{desk.fire_id}")
    assert stored["resolution"] == "real"
    assert all(desk.event_ms <= parse_ts_ms(n["at"]) < desk.event_ms + DAY_MS
               for n in stored["notifications"])
    p.shot("duty-desk-resolved-desktop-en")

    # The same screen in Chinese and on a phone, in the same page session.
    page.click("#lang")
    page.locator("#history-entries", has_text="致电").wait_for(state="attached")
    assert "模拟时间" in page.locator("#site-clock").inner_text()
    # The care card is drawn again in Chinese once its record is fetched.
    page.locator("#care", has_text="85 岁").wait_for(state="attached")
    p.shot("duty-desk-desktop-zh")
    page.set_viewport_size(PHONE)
    fits_the_phone(p, "phone-zh")
    page.click("#lang")
    page.locator("#history-entries", has_text="Called").wait_for(state="attached")
    fits_the_phone(p, "phone-en")


def fits_the_phone(p: OpenPage, name: str) -> None:
    p.shot(f"duty-desk-{name}")
    wide = p.page.evaluate("""(limit) => [...document.querySelectorAll('.topbar *, .duty-desk *')]
        .filter(e => e.getBoundingClientRect().right > limit + 1)
        .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)""", PHONE["width"])
    assert wide == [], f"{name}: wider than the screen"
