"""The digest on simulator output kept in the embedded store: weeks of a community in which
one elderly resident living alone withdraws over the last two weeks, and another resident
living alone, who gets up about once every three nights, gets up twice every night in the
last week."""

from __future__ import annotations

from pathlib import Path

from safehood._history import WEEK_MS, backfill_history
from safehood.protocol import parse_ts_ms
from safehood.simulators import Community
from safehood.store import SqliteReadingStore
from safehood.wellbeing import DigestStatus, IsoWeek, site_digest

START_MS = parse_ts_ms("2026-01-05T00:00:00+08:00")  # Monday of 2026-W02, the community's zone


def test_the_withdrawing_household_ranks_first_and_the_others_are_steady(tmp_path: Path) -> None:
    community = Community.generate(6, seed=3)
    withdrawing = next(h.id for h in community.households if h.elderly_alone)
    up_at_night = next(h.id for h in community.households
                       if h.lives_alone and not h.residents[0].elderly)
    with SqliteReadingStore(tmp_path / "readings.db") as store:
        written = backfill_history(store, community, START_MS, START_MS + 5 * WEEK_MS, seed=3,
                                   withdrawing={withdrawing}, up_at_night={up_at_night})
        assert written > 0
        (site,) = community.sites
        digests = site_digest(store, community.registry, site, IsoWeek(2026, 6), weeks=5)

    first, second, *others = digests
    assert (first.household, first.status) == (withdrawing, DigestStatus.VISIT)
    assert (second.household, second.status) == (up_at_night, DigestStatus.VISIT)
    night = {m.metric.name: m for m in second.metrics}["night_bouts"]
    assert night.score >= 3 and second.score < 5, night  # the night figure alone
    assert all(d.status is DigestStatus.STEADY for d in others), [(d.household, d.score) for d in others]
    assert first.baseline_weeks == 4 and first.days_observed == 7
    drift = {m.metric.name: m for m in first.metrics}
    assert drift["outings"].value == 0 and drift["outings"].trend_per_week < 0  # type: ignore[operator]
    assert drift["days_home"].value == 7
