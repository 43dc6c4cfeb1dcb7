"""CAP 1.2 rendering: valid under the OASIS CAP 1.2 schema, over an alert's lifecycle."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

from safehood.alerting import (
    AlertManager,
    AlertPolicy,
    InMemoryAlertRepository,
    build_pipeline,
    render_cap,
    render_cap_feed,
)
from safehood.protocol import Alert

from .._cap_schema import assert_valid_cap
from .conftest import MINUTE, T0, decision

CAP = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM = "http://www.w3.org/2005/Atom"
NS = {"cap": CAP, "atom": ATOM}

# CAP 1.2 (OASIS standard, section 3.2): the elements every alert must have, in schema
# order, and those every info and area block must have.
REQUIRED_ALERT = ["identifier", "sender", "sent", "status", "msgType", "scope"]
ALERT_ORDER = ["identifier", "sender", "sent", "status", "msgType", "source", "scope",
               "restriction", "addresses", "code", "note", "references", "incidents", "info"]
REQUIRED_INFO = ["category", "event", "urgency", "severity", "certainty"]
INFO_ORDER = ["language", "category", "event", "responseType", "urgency", "severity",
              "certainty", "audience", "eventCode", "effective", "onset", "expires",
              "senderName", "headline", "description", "instruction", "web", "contact",
              "parameter", "resource", "area"]
CAP_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")
VALUES = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                 "Transport", "Infra", "CBRNE", "Other"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}


def local(element: ET.Element) -> str:
    return element.tag.split("}", 1)[1]


def check_cap(root: ET.Element) -> dict[str, str]:
    """Assert the CAP 1.2 structure; returns the alert's and its info's simple fields."""
    assert root.tag == f"{{{CAP}}}alert"
    assert_valid_cap(ET.tostring(root))
    children = [local(c) for c in root]
    for name in REQUIRED_ALERT:
        assert children.count(name) == 1, name
    assert children == sorted(children, key=ALERT_ORDER.index)
    fields = {local(c): (c.text or "") for c in root if local(c) != "info"}
    assert CAP_DATETIME.match(fields["sent"]), fields["sent"]
    if fields["scope"] == "Restricted":
        assert fields.get("restriction")
    for info in root.findall("cap:info", NS):
        names = [local(c) for c in info]
        for name in REQUIRED_INFO:
            assert name in names, name
        assert names == sorted(names, key=INFO_ORDER.index)
        for child in info:
            if len(child) == 0:
                fields.setdefault(local(child), child.text or "")
        for area in info.findall("cap:area", NS):
            assert area.findtext("cap:areaDesc", namespaces=NS)
            fields.setdefault("areaDesc", area.findtext("cap:areaDesc", namespaces=NS) or "")
        for parameter in info.findall("cap:parameter", NS):
            assert parameter.findtext("cap:valueName", namespaces=NS)
    for name, allowed in VALUES.items():
        assert fields[name] in allowed, (name, fields[name])
    for reference in fields.get("references", "").split():
        sender, identifier, sent = reference.split(",")
        assert sender and identifier and CAP_DATETIME.match(sent)
    return fields


def lifecycle() -> tuple[AlertManager, list[Alert]]:
    counter = itertools.count(1)
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(AlertPolicy(), repository,
                                                      id_factory=lambda: f"a{next(counter)}"))
    [raised] = manager.apply([decision("fall", evidence={"peak_g": 3.2, "room": "bathroom"})])
    manager.apply([decision("fall", ts=T0 + 10_000)])
    acked = manager.acknowledge("a1", "officer-li", at_ms=T0 + MINUTE)
    resolved = manager.resolve("a1", "officer-li", at_ms=T0 + 5 * MINUTE)
    return manager, [raised.alert, acked, resolved]


def test_cap_messages_follow_the_lifecycle() -> None:
    _, (raised, acked, resolved) = lifecycle()
    first = check_cap(ET.fromstring(render_cap(raised, base_url="https://safe.example/")))
    assert first["msgType"] == "Alert" and first["status"] == "Actual"
    assert first["identifier"] == "safehood-a1"
    assert first["sent"] == "2026-01-01T00:00:00-00:00"
    assert first["scope"] == "Restricted" and "references" not in first
    assert (first["category"], first["event"]) == ("Health", "Fall")
    assert (first["urgency"], first["severity"], first["certainty"]) == \
        ("Immediate", "Severe", "Likely")
    assert first["web"] == "https://safe.example/ui/#/alerts/a1"
    assert first["areaDesc"] == "site xianlin-3, household h001, room bathroom, device r001-band"
    assert "peak_g=3.2" in first["description"]

    update = check_cap(ET.fromstring(render_cap(acked)))
    assert update["msgType"] == "Update"
    assert update["sent"] == "2026-01-01T00:01:00-00:00"
    assert update["references"] == "safehood,safehood-a1,2026-01-01T00:00:00-00:00"
    assert update["identifier"] not in (first["identifier"], "")

    cancel = check_cap(ET.fromstring(render_cap(resolved)))
    assert cancel["msgType"] == "Cancel"
    assert (cancel["urgency"], cancel["responseType"]) == ("Past", "AllClear")
    assert cancel["references"] == update["references"]
    assert cancel["sent"] == "2026-01-01T00:05:00-00:00"


def test_unconfirmed_and_exercise_alerts() -> None:
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository,
                           build_pipeline(AlertPolicy(), repository, exercise=True))
    [smoke] = manager.apply([decision("smoke", subject="h001-smoke-kitchen", resident=None,
                                      severity="Moderate", confirmed=False,
                                      device_id="h001-smoke-kitchen")])
    fields = check_cap(ET.fromstring(render_cap(smoke.alert)))
    assert fields["status"] == "Exercise"
    assert (fields["category"], fields["certainty"], fields["urgency"]) == \
        ("Fire", "Likely", "Expected")
    # An actual alert rendered for an exercise run is marked as such too.
    [fall] = AlertManager(InMemoryAlertRepository()).apply([decision("fall")])
    assert check_cap(ET.fromstring(render_cap(fall.alert, exercise=True)))["status"] == \
        "Exercise"


def test_text_is_escaped() -> None:
    [raised] = AlertManager(InMemoryAlertRepository()).apply(
        [decision("sos", evidence={"note": "<script>&"})])
    fields = check_cap(ET.fromstring(render_cap(raised.alert)))
    assert "note=<script>&" in fields["description"]


def test_feed_is_atom_with_one_cap_alert_per_entry() -> None:
    manager, _ = lifecycle()
    manager.apply([decision("water_leak", ts=T0 + MINUTE, subject="h900-water", site="gulou-1",
                            household="h900", resident=None, device_id="h900-water",
                            severity="Moderate")])
    alerts = manager.list()
    feed = ET.fromstring(render_cap_feed(alerts, base_url="https://safe.example"))
    assert feed.tag == f"{{{ATOM}}}feed"
    for name in ("id", "title", "updated", "author"):
        assert feed.find(f"atom:{name}", NS) is not None, name
    entries = feed.findall("atom:entry", NS)
    assert len(entries) == 2
    messages = []
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert entry.findtext(f"atom:{name}", namespaces=NS), name
        content = entry.find("atom:content", NS)
        assert content is not None and content.get("type") == "application/cap+xml"
        [cap] = list(content)
        messages.append(check_cap(cap))
    assert [m["msgType"] for m in messages] == ["Alert", "Cancel"]
    assert feed.findtext("atom:updated", namespaces=NS) == "2026-01-01T00:05:00.000Z"
    assert ET.fromstring(render_cap_feed([])).tag == f"{{{ATOM}}}feed"


def test_characters_xml_forbids_are_dropped_from_payload_text() -> None:
    # A door's credential is copied from the payload: control characters must not reach
    # the XML, or the feed stops parsing for every consumer.
    [forced] = AlertManager(InMemoryAlertRepository()).apply([decision(
        "forced_entry", subject="h002-door", household="h002", resident=None,
        device_id="h002-door", evidence={"credential": "card\x00\x01\x1b[31m\ufffe42",
                                         "room": "hall\x0b"})])
    fields = check_cap(ET.fromstring(render_cap(forced.alert)))
    assert "credential=card[31m42" in fields["description"]
    assert "room hall," in fields["areaDesc"]
    assert assert_valid_cap(render_cap_feed([forced.alert])) == 1


def test_an_escalation_in_the_same_instant_is_a_new_message() -> None:
    manager, _ = lifecycle()
    [alert] = manager.apply([decision("sos", subject="r002-button", household="h002",
                                      resident="r002", device_id="r002-button")])
    alert_id = alert.alert.id
    acknowledged = manager.acknowledge(alert_id, "officer-li", at_ms=T0 + MINUTE)
    escalated = manager.escalate(alert_id, "officer-li", "needs a second pair of hands",
                                 at_ms=T0 + MINUTE)
    assert escalated.updated_at == acknowledged.updated_at
    before = check_cap(ET.fromstring(render_cap(acknowledged)))
    after = check_cap(ET.fromstring(render_cap(escalated)))
    assert before["identifier"] != after["identifier"]
    assert after["msgType"] == "Update"
    assert after["references"] == f"safehood,safehood-{alert_id},2026-01-01T00:00:00-00:00"
    # The same alert rendered twice is the same message (a feed polled twice).
    assert check_cap(ET.fromstring(render_cap(escalated)))["identifier"] == after["identifier"]


def test_sender_is_the_installations() -> None:
    _, (_, acked, _) = lifecycle()
    fields = check_cap(ET.fromstring(render_cap(acked, sender="safehood@centre.example.org")))
    assert fields["sender"] == fields["senderName"] == "safehood@centre.example.org"
    assert fields["identifier"].startswith("safehood@centre.example.org-a1-")
    assert fields["references"].startswith("safehood@centre.example.org,")


def test_alerts_of_exercise_sites_are_exercises() -> None:
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(AlertPolicy(), repository,
                                                      exercise=frozenset({"gulou-1"})))
    [drill, real] = manager.apply([
        decision("water_leak", subject="h900-water", site="gulou-1", household="h900",
                 resident=None, device_id="h900-water"),
        decision("fall")])
    assert (drill.alert.exercise, real.alert.exercise) == (True, False)
    assert check_cap(ET.fromstring(render_cap(drill.alert)))["status"] == "Exercise"
    assert check_cap(ET.fromstring(render_cap(real.alert)))["status"] == "Actual"
