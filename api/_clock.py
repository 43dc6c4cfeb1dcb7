"""One clock per site: the event time its alerts run on, as the API records people's
actions and as the dashboard counts "5 minutes ago" from."""

from __future__ import annotations

from collections import Counter

from safehood.protocol import Registry

from ._context import Services


def site_now_ms(services: Services, site: str) -> int:
    """The event time now at ``site`` (epoch ms); the wall clock until the site is heard
    from, or when the process runs no detectors."""
    event_clock = services.context.event_clock
    event_ms = event_clock(site) if event_clock is not None else None
    return services.context.clock() if event_ms is None else event_ms


def site_timezone(registry: Registry, site: str) -> str:
    """The IANA time zone of ``site``: that of most of its households (UTC without any)."""
    zones = Counter(h.timezone for h in registry.households.values() if h.site == site)
    return zones.most_common(1)[0][0] if zones else "UTC"


def site_is_simulated(services: Services, site: str) -> bool:
    """Whether the site's traffic is simulated (the demo, or an exercise site), so that its
    clock is shown as simulated time."""
    exercise_sites = services.context.settings.exercise_sites
    return services.context.simulated or site in exercise_sites or "*" in exercise_sites
