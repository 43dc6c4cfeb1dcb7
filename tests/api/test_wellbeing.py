"""The wellbeing digest over the real app and embedded store: ranking, CSV, bad weeks, roles."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from safehood.api.routes.wellbeing import DigestCache
from safehood.protocol import Message, MotionReading, Placement
from safehood.wellbeing import HouseholdDigest, IsoWeek

from .conftest import Api

MINUTE_MS = 60_000
LAST_WEEK = IsoWeek(2025, 52)  # the last complete week before the tests' clock (2026-01-01)
MOTION = Placement("h002-motion", "xianlin-3", "motion", household="h002")


def _moving(day: datetime, start_h: int, end_h: int) -> list[Message]:
    """h002's motion sensor sees someone every 10 minutes from ``start_h`` to ``end_h``."""
    first = int(day.replace(hour=start_h).timestamp() * 1000)
    return [Message.from_reading(MotionReading(ts=t, occupancy=True), MOTION, received_ms=t)
            for t in range(first, first + (end_h - start_h) * 60 * MINUTE_MS, 10 * MINUTE_MS)]


@pytest.fixture(scope="module")
def digest_api(shared_api: Api) -> Api:
    """Four ordinary weeks of h002 (up 07:00-21:00), then a week up only 07:00-12:00."""
    for week in range(4, 0, -1):
        for day in LAST_WEEK.shifted(-week).days():
            shared_api.store.write(_moving(datetime(day.year, day.month, day.day, tzinfo=UTC), 7, 21))
    for day in LAST_WEEK.days():
        shared_api.store.write(_moving(datetime(day.year, day.month, day.day, tzinfo=UTC), 7, 12))
    return shared_api


def test_the_household_that_drifted_ranks_first_against_its_own_weeks(digest_api: Api) -> None:
    response = digest_api.client.get("/api/v1/sites/xianlin-3/wellbeing",
                                     headers=digest_api.headers("officer"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["week"] == str(LAST_WEEK)
    assert body["weeks"][-1] == str(LAST_WEEK) and len(body["weeks"]) == 6
    first, *rest = body["households"]
    assert (first["rank"], first["household"], first["status"]) == (1, "h002", "visit")
    assert first["residents"] == [{"id": "r003", "name": "Zhao Min"}]
    activity = next(m for m in first["metrics"] if m["name"] == "activity_hours")
    assert activity["value"] == 5.0 and activity["baseline"] == 14.0
    assert activity["concerning"] == "less" and activity["z"] < 0 < activity["score"]
    assert activity["series"] == [None, 14.0, 14.0, 14.0, 14.0, 5.0]
    assert activity["trend_per_week"] < 0
    # h001 has no motion, door or water device: nothing to compare, still learning.
    assert [(h["household"], h["status"]) for h in rest] == [("h001", "learning")]


def test_a_week_of_its_own_baseline_is_steady(digest_api: Api) -> None:
    week = LAST_WEEK.shifted(-1)
    body = digest_api.client.get(f"/api/v1/sites/xianlin-3/wellbeing?week={week}&weeks=4",
                                 headers=digest_api.headers("admin")).json()
    home = body["households"][0]
    assert (home["household"], home["status"], home["score"]) == ("h002", "steady", 0.0)
    assert home["baseline_weeks"] == 3


def test_csv_holds_the_same_ranking(digest_api: Api) -> None:
    response = digest_api.client.get(f"/api/v1/sites/xianlin-3/wellbeing.csv?week={LAST_WEEK}",
                                     headers=digest_api.headers("officer"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "wellbeing-xianlin-3-2025-W52.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["rank"], r["household"], r["status"]) for r in rows] == [
        ("1", "h002", "visit"), ("2", "h001", "learning")]
    assert float(rows[0]["activity_hours_value"]) == 5.0
    assert float(rows[0]["activity_hours_baseline"]) == 14.0
    assert rows[1]["activity_hours_value"] == ""


@pytest.mark.parametrize(("query", "why"), [
    ("week=2025-52", "not an ISO week"),
    ("week=2025-W53", "2025 has no week 53"),
    ("week=2026-W05", "has not begun"),
    ("weeks=2", "weeks"),
    ("weeks=27", "weeks"),
])
def test_a_bad_week_is_refused_with_a_reason(shared_api: Api, query: str, why: str) -> None:
    for path in ("wellbeing", "wellbeing.csv"):
        response = shared_api.client.get(f"/api/v1/sites/xianlin-3/{path}?{query}",
                                         headers=shared_api.headers("officer"))
        assert response.status_code == 422, response.text
        assert why in response.json()["detail"]


@pytest.mark.parametrize(("role", "status"), [
    ("family", 403), ("integrator", 403), ("officer_gulou", 404), ("admin", 200)])
def test_only_officers_of_the_site_and_admins_see_it(shared_api: Api, role: str, status: int) -> None:
    for path in ("wellbeing", "wellbeing.csv"):
        response = shared_api.client.get(f"/api/v1/sites/xianlin-3/{path}",
                                         headers=shared_api.headers(role))
        assert response.status_code == status, (path, response.text)


def test_unknown_site_is_404(shared_api: Api) -> None:
    response = shared_api.client.get("/api/v1/sites/nowhere/wellbeing",
                                     headers=shared_api.headers("admin"))
    assert response.status_code == 404



def test_a_digest_is_computed_once_per_ttl() -> None:
    cache = DigestCache(ttl_ms=1000)
    key = ("xianlin-3", LAST_WEEK, 6)
    computed: list[int] = []

    def compute() -> list[HouseholdDigest]:
        computed.append(1)
        return []

    for now_ms in (0, 500, 999):
        cache.get(key, now_ms, compute)
    assert len(computed) == 1
    cache.get(("xianlin-3", LAST_WEEK, 5), 999, compute)  # another question
    cache.get(key, 1000, compute)  # expired: a late reading shows
    assert len(computed) == 3
