"""Alerts as CAP 1.2 (OASIS Common Alerting Protocol) messages, one by one or as an Atom feed.

Over an alert's lifecycle its CAP message is an ``Alert`` (firing, unchanged since it was
raised), then an ``Update`` (acknowledged, escalated, repeated...) and finally a ``Cancel``
(resolved); updates and cancels reference the original ``Alert`` message. The scope is
``Restricted``: the messages carry personal safety data of residents.

A message's ``identifier`` changes whenever what it says changes (an escalation, a repeat, an
acknowledgement), even within the same millisecond: updates carry a digest of their content.
Text copied from payloads may hold characters XML 1.0 forbids (control characters): they are
dropped, so one careless device cannot make the feed unparseable for every consumer.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime

from safehood.protocol import Alert, AlertStatus, Severity, format_ts, parse_ts_ms

from . import const

_URGENCY = {
    Severity.EXTREME: "Immediate",
    Severity.SEVERE: "Immediate",
    Severity.MODERATE: "Expected",
    Severity.MINOR: "Future",
}
# Everything outside XML 1.0's Char production (section 2.2).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DIGEST_CHARS = 8


def render_cap(alert: Alert, *, exercise: bool = False, base_url: str | None = None,
               sender: str = const.CAP_SENDER) -> str:
    """The alert as a CAP 1.2 XML document.

    ``status`` is ``Exercise`` when ``exercise`` is set or the alert is an exercise (simulated
    traffic), ``Actual`` otherwise. ``base_url`` (the public URL of the dashboard) adds a
    ``web`` link to the alert. ``sender`` identifies this safehood installation.
    """
    element = cap_element(alert, exercise=exercise, base_url=base_url, sender=sender)
    ET.indent(element)
    return _document(element)


def render_cap_feed(alerts: Iterable[Alert], *, exercise: bool = False,
                    base_url: str | None = None, sender: str = const.CAP_SENDER,
                    title: str = "safehood alerts") -> str:
    """An Atom feed (RFC 4287) with one entry per alert, each carrying its CAP 1.2 message
    as ``application/cap+xml`` content (the form public CAP feeds use)."""
    alerts = list(alerts)
    # Plain tags with an xmlns attribute give the usual unprefixed Atom and CAP documents.
    feed = ET.Element("feed", xmlns=const.ATOM_NAMESPACE)
    base = base_url.rstrip("/") if base_url else None
    _sub(feed, "id", f"urn:{sender}:alerts")
    _sub(feed, "title", title)
    if base:
        ET.SubElement(feed, "link", rel="alternate", href=f"{base}/ui/#/alerts")
    updated = max((_updated_ms(a) for a in alerts), default=None)
    _sub(feed, "updated", format_ts(updated) if updated is not None
         else "1970-01-01T00:00:00Z")
    author = ET.SubElement(feed, "author")
    _sub(author, "name", sender)
    for alert in alerts:
        entry = ET.SubElement(feed, "entry")
        _sub(entry, "id", f"urn:{sender}:alert:{alert.id}")
        _sub(entry, "title", _headline(alert))
        _sub(entry, "updated", format_ts(_updated_ms(alert)))
        if base:
            ET.SubElement(entry, "link", href=alert_link(base, alert.id))
        category = const.CAP_CATEGORY.get(alert.type, "Other")
        ET.SubElement(entry, "category", term=category)
        _sub(entry, "summary", _description(alert))
        content = ET.SubElement(entry, "content", type="application/cap+xml")
        content.append(cap_element(alert, exercise=exercise, base_url=base, sender=sender))
    ET.indent(feed)
    return _document(feed)


def cap_element(alert: Alert, *, exercise: bool = False, base_url: str | None = None,
                sender: str = const.CAP_SENDER) -> ET.Element:
    """The CAP ``alert`` element of an alert (children in the order of the CAP 1.2 schema);
    its tags are plain and its namespace an ``xmlns`` attribute, as it serialises."""
    sub = _sub

    started_ms = parse_ts_ms(alert.started_at)
    original = f"{sender}-{alert.id}"
    if alert.status == AlertStatus.RESOLVED:
        msg_type = "Cancel"
        sent_ms = parse_ts_ms(alert.resolved_at) if alert.resolved_at else _updated_ms(alert)
    elif _updated_ms(alert) > started_ms or len(alert.history) > 1 or alert.count > 1:
        msg_type, sent_ms = "Update", _updated_ms(alert)
    else:
        msg_type, sent_ms = "Alert", started_ms
    is_exercise = exercise or bool(alert.exercise)

    root = ET.Element("alert", xmlns=const.CAP_NAMESPACE)
    identifier = sub(root, "identifier", original)
    sub(root, "sender", sender)
    sub(root, "sent", cap_time(sent_ms))
    sub(root, "status", "Exercise" if is_exercise else "Actual")
    sub(root, "msgType", msg_type)
    sub(root, "scope", "Restricted")
    sub(root, "restriction", const.CAP_RESTRICTION)
    if is_exercise:
        sub(root, "note", "Exercise: raised by simulated traffic, no real incident.")
    if msg_type != "Alert":
        sub(root, "references", f"{sender},{original},{cap_time(started_ms)}")
    sub(root, "incidents", alert.id)

    info = ET.SubElement(root, "info")
    sub(info, "language", "en-US")
    sub(info, "category", const.CAP_CATEGORY.get(alert.type, "Other"))
    sub(info, "event", const.EVENT_NAMES.get(alert.type, alert.type.value))
    if msg_type == "Cancel":
        sub(info, "responseType", "AllClear")
    sub(info, "urgency", "Past" if msg_type == "Cancel" else _URGENCY[alert.severity])
    sub(info, "severity", alert.severity.value)
    sub(info, "certainty", "Observed" if alert.confirmed else "Likely")
    sub(info, "onset", cap_time(started_ms))
    sub(info, "senderName", sender)
    sub(info, "headline", _headline(alert))
    sub(info, "description", _description(alert))
    if base_url:
        sub(info, "web", alert_link(base_url, alert.id))
    for name, value in (("alertId", alert.id), ("alertType", alert.type.value),
                        ("alertStatus", alert.status.value), ("count", str(alert.count)),
                        ("escalationTier", "" if alert.tier is None else str(alert.tier))):
        if value:
            parameter = ET.SubElement(info, "parameter")
            sub(parameter, "valueName", name)
            sub(parameter, "value", value)
    area = ET.SubElement(info, "area")
    sub(area, "areaDesc", _where(alert))
    if msg_type != "Alert":
        # Same content, same identifier (a feed polled twice); any change, a new one.
        digest = hashlib.sha256(ET.tostring(root, encoding="utf-8")).hexdigest()[:_DIGEST_CHARS]
        identifier.text = f"{original}-{msg_type.lower()}-{sent_ms}-{digest}"
    return root


def cap_time(ts_ms: int) -> str:
    """CAP 1.2 date-time: seconds precision and a numeric offset; UTC is written ``-00:00``
    (CAP forbids ``Z``)."""
    return datetime.fromtimestamp(ts_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S-00:00")


def alert_link(base_url: str, alert_id: str) -> str:
    """The dashboard page of an alert."""
    return const.ALERT_LINK.format(public_url=base_url.rstrip("/"), id=alert_id)


def _updated_ms(alert: Alert) -> int:
    return parse_ts_ms(alert.updated_at or alert.started_at)


def _where(alert: Alert) -> str:
    parts = [f"site {alert.site}"]
    if alert.household:
        parts.append(f"household {alert.household}")
    room = alert.evidence.get("room")
    if isinstance(room, str) and room:
        parts.append(f"room {room}")
    if alert.device_id:
        parts.append(f"device {alert.device_id}")
    return ", ".join(parts)


def _headline(alert: Alert) -> str:
    event = const.EVENT_NAMES.get(alert.type, alert.type.value)
    who = f"resident {alert.resident}" if alert.resident else None
    where = f"household {alert.household}" if alert.household else f"site {alert.site}"
    text = f"{event}: {', '.join(p for p in (who, where) if p)}"
    if alert.status == AlertStatus.RESOLVED:
        text = f"Resolved: {text}"
    return text[:160]


def _description(alert: Alert) -> str:
    event = const.EVENT_NAMES.get(alert.type, alert.type.value)
    lines = [
        f"{event} ({alert.severity.value}, "
        f"{'confirmed' if alert.confirmed else 'unconfirmed'}) at {_where(alert)}.",
        f"Started {alert.started_at}; status {alert.status.value}; seen {alert.count} "
        f"time{'s' if alert.count != 1 else ''}"
        + (f", last at {alert.last_seen_at}." if alert.last_seen_at else "."),
    ]
    if alert.acknowledged_at:
        lines.append(f"Acknowledged {alert.acknowledged_at}.")
    if alert.resolved_at:
        lines.append(f"Resolved {alert.resolved_at}.")
    evidence = ", ".join(f"{k}={v}" for k, v in sorted(alert.evidence.items())
                         if isinstance(v, str | int | float | bool))
    if evidence:
        lines.append(f"Evidence: {evidence}.")
    return "\n".join(lines)


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (most C0 controls, lone
    surrogates, U+FFFE/U+FFFF); ElementTree would write them and break the document."""
    return _NOT_XML_CHAR.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = xml_text(text)
    return element


def _document(element: ET.Element) -> str:
    body = ET.tostring(element, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
