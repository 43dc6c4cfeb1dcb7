"""The building plan and the response page in real headless Chromium against the live
pipeline: two smoke alarms in one flat are published to the broker, the fire is confirmed,
the plan marks the flat and those on its floor and above; the response page shows the
shift's figures and the handover. Chinese follows the browser, English is a click away and
remembered. Screenshots zh/en, desktop/phone, under ``test-artifacts/dashboards/``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from safehood._broker import MosquittoBroker
from safehood.protocol import Registry
from tests._mqtt import publish_all, wait_until

from ._desk import LiveDesk, live_desk
from .conftest import DESKTOP, PHONE, OpenPage

pytestmark = pytest.mark.browser

SITE = "xianlin-3"
FLATS = [("h101", 1, "101"), ("h102", 1, "102"), ("h201", 2, "201"), ("h202", 2, "202"),
         ("h301", 3, "301"), ("h302", 3, "302")]
REGISTRY = Registry.from_data({
    "households": [
        *({"id": h, "site": SITE, "building": "b1", "floor": f, "unit": u, "lives_alone": True,
           "timezone": "Asia/Shanghai"} for h, f, u in FLATS),
        {"id": "h501", "site": SITE, "building": "b2", "floor": 5, "unit": "501",
         "timezone": "Asia/Shanghai"},
    ],
    "residents": [{"id": f"r{h[1:]}", "household": h, "name": name}
                  for h, name in zip([h for h, _, _ in FLATS] + ["h501"],
                                     ["王芳", "Zhao Min", "李秀英", "Chen Jie", "刘洋", "Sun Li",
                                      "Wu Hao"], strict=True)],
    "devices": [{"device_id": f"h201-smoke-{room}", "site": SITE, "kind": "smoke",
                 "household": "h201", "room": room, "building": "b1"}
                for room in ("kitchen", "hall")],
})


@pytest.fixture(scope="module")
def desk(mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDesk]:
    with live_desk(mosquitto, tmp_path_factory.mktemp("duty"), REGISTRY, SITE) as run:
        now_ms = int(time.time() * 1000)
        # Two alarms in one flat: the second detector confirms the fire.
        publish_all(mosquitto.host, mosquitto.port, [
            (f"{run.topic}/h201-smoke-{room}/event",
             orjson.dumps({"ts": now_ms - ago_s * 1000, "kind": "smoke", "event": "alarm"}))
            for room, ago_s in (("kitchen", 20), ("hall", 10))])
        wait_until(lambda: run.get(f"sites/{SITE}/plan")["buildings"][0]["fire"],
                   timeout_s=60, what="the fire to be confirmed")
        smoke = next(a for a in run.get("alerts")["data"] if a["type"] == "smoke")
        httpx.post(f"{run.url}/api/v1/alerts/{smoke['id']}/acknowledge", timeout=10,
                   headers={"Authorization": f"Bearer {run.officer}"}, json={}).raise_for_status()
        yield run


def sign_in(p: OpenPage, desk: LiveDesk, page: str) -> None:
    p.page.goto(f"{desk.url}/ui/{page}")
    p.page.fill("#token", desk.officer)
    p.page.press("#token", "Enter")


def units(p: OpenPage) -> dict[str, str]:
    return dict(p.page.locator(".unit[data-household]").evaluate_all(
        "els => els.map(e => [e.dataset.household, e.className])"))


def test_the_building_plan_marks_the_fire_and_the_flats_to_evacuate(
        desk: LiveDesk, open_page: Any) -> None:
    # The browser asks for Chinese: the page opens in Chinese.
    p = open_page(DESKTOP, locale="zh-CN")
    sign_in(p, desk, "building.html")
    page = p.page
    page.wait_for_selector(".building-fire[data-building='b1']")
    assert "火警：请疏散标出的住户" in page.locator(".building-alarm").inner_text()
    classes = units(p)
    assert "unit-fire" in classes["h201"] and "unit-extreme" in classes["h201"]
    # Beside and above the fire: at risk; below it and in the other building: not.
    for home in ("h202", "h301", "h302"):
        assert "unit-at-risk" in classes[home], home
    for home in ("h101", "h102", "h501"):
        assert "unit-at-risk" not in classes[home] and "unit-fire" not in classes[home], home
    floors = page.locator(".building[data-building='b1'] .floor").evaluate_all(
        "els => els.map(e => e.dataset.floor)")
    assert floors == ["3", "2", "1"]
    p.shot("building-desktop-zh")
    page.set_viewport_size(PHONE)
    p.shot("building-phone-zh")

    # English one click away, and remembered on the next visit.
    page.click("#lang")
    page.wait_for_selector("text=FIRE: evacuate the marked flats")
    page.reload()
    page.wait_for_selector("text=FIRE: evacuate the marked flats")
    assert page.locator("html").get_attribute("lang") == "en"
    p.shot("building-phone-en")
    page.set_viewport_size(DESKTOP)
    p.shot("building-desktop-en")
    # Each flat links to its alerts on the desk.
    page.locator(".unit[data-household='h201'] a.unit-name").click()
    page.wait_for_url("**/index.html#/alerts?household=h201*")


def test_the_response_page_shows_the_shift_and_its_handover(desk: LiveDesk, open_page: Any) -> None:
    p = open_page(DESKTOP)
    sign_in(p, desk, "metrics.html")
    page = p.page
    every = page.locator("table.response tr[data-type='*']")
    every.wait_for()
    assert every.locator("td").nth(1).inner_text() == "2"  # the smoke and the fire alert
    smoke = page.locator("table.response tr[data-type='smoke'] td[data-col='within']").first
    assert smoke.inner_text() == "100%"  # acknowledged within seconds
    assert "Asia/Shanghai" in page.locator("#metrics-zone").inner_text()
    handover = page.locator("#handover-open")
    assert "Open alerts (2)" in handover.inner_text() and "Fire" in handover.inner_text()
    p.shot("metrics-desktop-en")
    with page.expect_download() as download:
        page.click("#handover-csv")
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert text.startswith("section,id,type")
    # Quiet hours on weekday nights, shown with who set them up; then ended.
    page.uncheck(".quiet-day input[value='5']")
    page.uncheck(".quiet-day input[value='6']")
    page.fill("#quiet-comment", "night shift is short-staffed")
    page.click("#quiet-add")
    quiet = page.locator(".silence", has_text="night shift is short-staffed")
    quiet.wait_for()
    assert "weekly: Mon Tue Wed Thu Fri 22:00–07:00 (Asia/Shanghai)" in quiet.inner_text()
    assert "by officer:Li Wei" in quiet.inner_text()
    page.set_viewport_size(PHONE)
    p.shot("metrics-phone-en")
    page.click("#lang")
    page.wait_for_selector("text=交接班报告")
    p.shot("metrics-phone-zh")
    page.set_viewport_size(DESKTOP)
    p.shot("metrics-desktop-zh")
    quiet.locator("button").click()
    page.wait_for_selector("text=没有静默。")
