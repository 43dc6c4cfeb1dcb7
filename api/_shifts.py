"""Shifts of a site (settings' shift starts in the site's time zone) and the alerts that
response metrics and the handover report are computed from."""

from __future__ import annotations

from collections import Counter

from safehood.alerting import AlertManager, AlertQuery, ShiftSchedule
from safehood.config import Settings
from safehood.protocol import Alert, Registry

from ._alert_list import OPEN


def site_timezone(registry: Registry, site: str) -> str:
    """The time zone most of a site's households are in (UTC for a site with none)."""
    zones = Counter(h.timezone for h in registry.households.values() if h.site == site)
    return zones.most_common(1)[0][0] if zones else "UTC"


def site_schedule(settings: Settings, registry: Registry, site: str) -> ShiftSchedule:
    return ShiftSchedule(tuple(settings.shift_starts), site_timezone(registry, site))


def alerts_between(manager: AlertManager, sites: tuple[str, ...], since_ms: int,
                   until_ms: int, *, with_open: bool = False) -> list[Alert]:
    """Alerts of ``sites`` started in ``[since_ms, until_ms)``, and with ``with_open`` every
    alert open now as well (once each)."""
    alerts = manager.list(AlertQuery(sites=sites, since_ms=since_ms, until_ms=until_ms,
                                     limit=None))
    if with_open:
        seen = {a.id for a in alerts}
        alerts += [a for a in manager.list(AlertQuery(sites=sites, statuses=OPEN, limit=None))
                   if a.id not in seen]
    return alerts
