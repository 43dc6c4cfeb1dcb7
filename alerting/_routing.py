"""Routing: who is told of a change and what they read.

:class:`ContactDirectory` turns an audience of a change into concrete targets: the family
contacts of the alert's resident (or of everyone in its household) from the registry, and
the officer, supervisor and emergency channels of the site from the policy;
:func:`render_message` writes the title and body for one audience.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from safehood.protocol import Alert, AlertStatus, Registry, parse_ts_ms

from . import const
from ._cap import alert_link
from ._evacuation import fire_building, render_evacuation
from ._models import AlertChange
from ._notify import Target, mask_url
from ._policy import AlertPolicy


class ContactDirectory:
    """Resolves the audiences of a change to targets.

    ``family``: the contacts of the alert's resident, or of every resident of its household
    when the alert names no resident (a shared space has no family). ``neighbours``: the
    contacts of the other households of the alert's building. ``officers``, ``supervisor``,
    ``emergency``, ``fire_station``: the site's channels in ``policy.channels`` (and those
    of ``"*"``). Thread safe; :meth:`set_registry` swaps the registry.
    """

    def __init__(self, registry: Registry | None = None, policy: AlertPolicy | None = None) -> None:
        self._registry = registry
        self._policy = policy or AlertPolicy()

    @property
    def registry(self) -> Registry | None:
        return self._registry

    def set_registry(self, registry: Registry | None) -> None:
        self._registry = registry

    def targets(self, alert: Alert, audience: str) -> list[Target]:
        if audience == const.FAMILY:
            owners = self._family(alert)
        elif audience == const.NEIGHBOURS:
            owners = self._neighbours(alert)
        else:
            owners = [(alert.site, url, None)
                      for url in self._policy.site_channels(alert.site, audience)]
        seen: dict[str, Target] = {}
        for owner, url, language in owners:
            digest = hashlib.sha256(url.encode()).hexdigest()[:10]
            target_id = f"{audience}:{owner}:{digest}"
            seen.setdefault(target_id, Target(target_id, audience, url, mask_url(url), language))
        return list(seen.values())

    def _family(self, alert: Alert) -> list[tuple[str, str, str | None]]:
        registry = self._registry
        if registry is None:
            return []
        if alert.resident:
            resident = registry.residents.get(alert.resident)
            residents = [resident] if resident is not None else []
        elif alert.household:
            residents = registry.household_residents(alert.household)
        else:
            residents = []
        return [(r.id, url, r.language) for r in residents for url in r.contacts]

    def _neighbours(self, alert: Alert) -> list[tuple[str, str, str | None]]:
        """The contacts of every household of the alert's building but its own, one
        target per household and address (owner: the household)."""
        registry = self._registry
        building = fire_building(alert, registry)
        if registry is None or building is None:
            return []
        return [(h.id, url, r.language)
                for h in registry.building_households(alert.site, building)
                if h.id != alert.household
                for r in registry.household_residents(h.id) for url in r.contacts]


_TITLES = {
    const.RAISED: "{event}",
    const.UPDATED: "Update: {event}",
    const.ESCALATED: "Escalated: {event}",
    const.REMINDER: "Reminder, not yet acknowledged: {event}",
    const.ACKNOWLEDGED: "Being handled: {event}",
    const.RESOLVED: "Resolved: {event}",
}


def render_message(change: AlertChange, registry: Registry | None = None,
                   public_url: str | None = None, audience: str | None = None,
                   language: str | None = None) -> tuple[str, str]:
    """Title and body of a notification for one audience: what happened, to whom, where,
    when (the household's local time and UTC) and a link to the alert in the dashboard.
    Neighbours and the fire station get the evacuation message in ``language`` instead."""
    alert = change.alert
    if audience in const.EVACUATION_AUDIENCES:
        return render_evacuation(alert, change.kind, audience, registry, language)
    event = const.EVENT_NAMES.get(alert.type, alert.type.value)
    resident = registry.residents.get(alert.resident) if registry and alert.resident else None
    household = (registry.households.get(alert.household)
                 if registry and alert.household else None)
    device = registry.device(alert.device_id) if registry and alert.device_id else None
    who = f"{resident.name} ({resident.id})" if resident else alert.resident
    place = ", ".join(p for p in (
        f"household {alert.household}" if alert.household else None,
        f"room {device.room}" if device and device.room else None,
        # The address, when there is one, names the building itself.
        household.address if household and household.address else
        f"building {household.building}" if household and household.building else None,
        f"site {alert.site}",
    ) if p)
    # A family first hears of an alert when a tier reaches them; tiers are the staff's words.
    kind = (const.RAISED if audience == const.FAMILY and change.kind == const.ESCALATED
            else change.kind)
    title = _TITLES.get(kind, "{event}").format(event=event)
    title = f"[{alert.severity.value}] {title}" + (f" - {who}" if who else f" - {place}")
    if alert.exercise:
        title = f"[EXERCISE] {title}"
    zone = household.timezone if household else "UTC"
    lines = [
        f"What: {event}, {alert.severity.value}"
        f"{'' if alert.confirmed else ' (unconfirmed)'}"
        + (f", seen {alert.count} times" if alert.count > 1 else ""),
    ]
    if who:
        lines.append(f"Who: {who}")
    lines.append(f"Where: {place}")
    lines.append(f"When: {_when(alert.started_at, zone)}")
    status = alert.status.value
    if kind == const.ESCALATED and change.tier is not None:
        status += f", escalated to tier {change.tier} ({', '.join(change.audience)})"
    actions = {change.kind, const.AUTO_RESOLVED} if change.kind == const.RESOLVED else {change.kind}
    last = next((e for e in reversed(alert.history) if e.action in actions), None)
    if change.kind in (const.ACKNOWLEDGED, const.RESOLVED) and last is not None:
        status += f" by {last.actor} at {_when(last.at, zone)}"
        if last.note:
            status += f": {last.note}"
    lines.append(f"Status: {status}")
    if alert.status == AlertStatus.FIRING and change.kind != const.RESOLVED:
        lines.append("The duty officers have been told." if audience == const.FAMILY
                     else "Please acknowledge in the dashboard when someone is on it.")
    if public_url:
        lines.append(f"Open: {alert_link(public_url, alert.id)}")
    return title, "\n".join(lines)


def _when(rfc3339: str, zone: str) -> str:
    moment = datetime.fromtimestamp(parse_ts_ms(rfc3339) / 1000, tz=UTC)
    utc = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    if zone == "UTC":
        return utc
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.strftime('%Y-%m-%d %H:%M:%S')} {local.tzname()} ({zone}) / {utc}"


def targets_for(directory: ContactDirectory, change: AlertChange) -> dict[str, Sequence[Target]]:
    """Targets of each audience of a change (an audience with no target maps to ``[]``)."""
    return {audience: directory.targets(change.alert, audience) for audience in change.audience}
