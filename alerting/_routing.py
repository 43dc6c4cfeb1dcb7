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
        return [(r.id, url, reading_language(r.language))
                for r in residents for url in r.contacts]

    def _neighbours(self, alert: Alert) -> list[tuple[str, str, str | None]]:
        """The contacts of every household of the alert's building but its own, one
        target per household and address (owner: the household)."""
        registry = self._registry
        building = fire_building(alert, registry)
        if registry is None or building is None:
            return []
        return [(h.id, url, reading_language(r.language))
                for h in registry.building_households(alert.site, building)
                if h.id != alert.household
                for r in registry.household_residents(h.id) for url in r.contacts]


# Written Chinese serves every Chinese language a care record may name (``yue``, ``zh-HK``...).
_CHINESE = frozenset({"zh", "yue", "wuu", "nan", "hak", "cmn"})


def reading_language(tag: str | None) -> str | None:
    """The language of notifications for a resident who speaks ``tag`` (BCP 47): ``zh``
    for a Chinese language, ``en`` for English, ``None`` (both, Chinese first) otherwise."""
    if tag is None:
        return None
    primary = tag.split("-", 1)[0].lower()
    return "zh" if primary in _CHINESE else "en" if primary == "en" else None


# The words of a notification in each language; ``None`` (a reader whose language is not
# known, a staff channel) reads English.
_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "sep": ", ", "household": "household {id}", "room": "room {room}",
        "building": "building {building}", "site": "site {site}", "exercise": "[EXERCISE] ",
        const.RAISED: "{event}", const.UPDATED: "Update: {event}",
        const.ESCALATED: "Escalated: {event}",
        const.REMINDER: "Reminder, not yet acknowledged: {event}",
        const.ACKNOWLEDGED: "Being handled: {event}", const.RESOLVED: "Resolved: {event}",
        "what": "What: {event}, {severity}", "unconfirmed": " (unconfirmed)",
        "count": ", seen {count} times", "who": "Who: {who}", "where": "Where: {place}",
        "when": "When: {when}", "tier": ", escalated to tier {tier} ({audience})",
        "by": " by {actor} at {when}", "note": ": {note}", "status": "Status: {status}",
        "told": "The duty officers have been told.",
        "acknowledge": "Please acknowledge in the dashboard when someone is on it.",
        "open": "Open: {link}",
    },
    "zh": {
        "sep": "，", "household": "住户 {id}", "room": "房间 {room}",
        "building": "{building}栋", "site": "社区 {site}", "exercise": "【演练】",
        const.RAISED: "{event}", const.UPDATED: "更新：{event}", const.ESCALATED: "升级：{event}",
        const.REMINDER: "提醒，尚未确认：{event}", const.ACKNOWLEDGED: "正在处理：{event}",
        const.RESOLVED: "已解决：{event}",
        "what": "事件：{event}，{severity}", "unconfirmed": "（未确认）",
        "count": "，共 {count} 次", "who": "人员：{who}", "where": "地点：{place}",
        "when": "时间：{when}", "tier": "，已升级到第 {tier} 级（{audience}）",
        "by": "，由 {actor} 于 {when}", "note": "：{note}", "status": "状态：{status}",
        "told": "已通知社区值班人员。", "acknowledge": "有人处理时请在值班台确认。",
        "open": "打开：{link}",
    },
}
_NAMES_ZH: dict[str, str] = {
    "Extreme": "特别严重", "Severe": "严重", "Moderate": "中等", "Minor": "轻微",
    "firing": "未处理", "acknowledged": "已确认", "resolved": "已解决",
}


def render_message(change: AlertChange, registry: Registry | None = None,
                   public_url: str | None = None, audience: str | None = None,
                   language: str | None = None) -> tuple[str, str]:
    """Title and body of a notification for one audience: what happened, to whom, where,
    when (the household's local time and UTC) and a link to the alert in the dashboard; in
    Chinese for a reader whose ``language`` is ``zh``, else in English. Neighbours and the
    fire station get the evacuation message instead."""
    alert = change.alert
    if audience in const.EVACUATION_AUDIENCES:
        return render_evacuation(alert, change.kind, audience, registry, language)
    zh = language == "zh"
    words = _WORDS["zh" if zh else "en"]

    def name(value: str) -> str:
        return _NAMES_ZH.get(value, value) if zh else value

    event = (const.EVENT_NAMES_ZH if zh else const.EVENT_NAMES).get(alert.type, alert.type.value)
    severity = name(alert.severity.value)
    resident = registry.residents.get(alert.resident) if registry and alert.resident else None
    household = (registry.households.get(alert.household)
                 if registry and alert.household else None)
    device = registry.device(alert.device_id) if registry and alert.device_id else None
    who = f"{resident.name} ({resident.id})" if resident else alert.resident
    place = words["sep"].join(p for p in (
        words["household"].format(id=alert.household) if alert.household else None,
        words["room"].format(room=device.room) if device and device.room else None,
        # The address, when there is one, names the building itself.
        household.address if household and household.address else
        words["building"].format(building=household.building)
        if household and household.building else None,
        words["site"].format(site=alert.site),
    ) if p)
    # A family first hears of an alert when a tier reaches them; tiers are the staff's words.
    kind = (const.RAISED if audience == const.FAMILY and change.kind == const.ESCALATED
            else change.kind)
    title = words.get(kind, "{event}").format(event=event)
    title = f"[{severity}] {title}" + (f" - {who}" if who else f" - {place}")
    if alert.exercise:
        title = words["exercise"] + title
    zone = household.timezone if household else "UTC"
    lines = [
        words["what"].format(event=event, severity=severity)
        + ("" if alert.confirmed else words["unconfirmed"])
        + (words["count"].format(count=alert.count) if alert.count > 1 else ""),
    ]
    if who:
        lines.append(words["who"].format(who=who))
    lines.append(words["where"].format(place=place))
    lines.append(words["when"].format(when=_when(alert.started_at, zone)))
    status = name(alert.status.value)
    if kind == const.ESCALATED and change.tier is not None:
        status += words["tier"].format(tier=change.tier, audience=", ".join(change.audience))
    actions = {change.kind, const.AUTO_RESOLVED} if change.kind == const.RESOLVED else {change.kind}
    last = next((e for e in reversed(alert.history) if e.action in actions), None)
    if change.kind in (const.ACKNOWLEDGED, const.RESOLVED) and last is not None:
        status += words["by"].format(actor=last.actor, when=_when(last.at, zone))
        if last.note:
            status += words["note"].format(note=last.note)
    lines.append(words["status"].format(status=status))
    if alert.status == AlertStatus.FIRING and change.kind != const.RESOLVED:
        lines.append(words["told"] if audience == const.FAMILY else words["acknowledge"])
    if public_url:
        lines.append(words["open"].format(link=alert_link(public_url, alert.id)))
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
