"""The weekly wellbeing digest: who needs a visit.

Each household's week (activity, night activity, outings, days without leaving home, water
use) against its own previous weeks, and households ranked by how far they drifted the
concerning way. :func:`daily_activity` and :func:`household_digest` are pure;
:func:`site_digest` reads what they need from a reading store.
"""

from ._digest import (
    METRICS,
    DigestStatus,
    Drift,
    HouseholdDigest,
    Metric,
    MetricDrift,
    household_digest,
    rank,
)
from ._features import DailyActivity, daily_activity
from ._store_reading import household_readings, site_digest
from ._weeks import IsoWeek, week_span
from .const import DEFAULT_WEEKS

__all__ = [
    "DEFAULT_WEEKS",
    "METRICS",
    "DailyActivity",
    "DigestStatus",
    "Drift",
    "HouseholdDigest",
    "IsoWeek",
    "Metric",
    "MetricDrift",
    "daily_activity",
    "household_digest",
    "household_readings",
    "rank",
    "site_digest",
    "week_span",
]
