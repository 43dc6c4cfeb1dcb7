"""The API's alert models and the one view that decides what each role sees of an alert."""

from __future__ import annotations

from pydantic_core import to_json

from safehood.api import AlertFamilyView, AlertPublic, Role
from safehood.api._disclosure import alert_document_view, alert_view
from safehood.protocol import Alert

NOTIFIED = Alert.model_validate({
    "id": "a1", "type": "fall", "severity": "Severe", "status": "firing", "site": "xianlin-3",
    "household": "h001", "resident": "r001", "subject": "r001", "device_id": "r001-band",
    "started_at": "2026-01-01T00:00:00.000Z", "evidence": {"peak_g": 3.1},
    "history": [{"at": "2026-01-01T00:00:00.000Z", "action": "raised", "actor": "system"},
                {"at": "2026-01-01T00:00:01.000Z", "action": "notified", "actor": "notifier",
                 "note": "family mailto://family@example.org (raised, tier 0, attempt 1)"}],
    "notifications": [
        {"at": "2026-01-01T00:00:01.000Z", "change": "raised", "tier": 0,
         "audience": "officers", "target": "officers:xianlin-3:abc",
         "url": "json://duty:pw@hooks.example.org/s3cret", "ok": True, "result": "delivered"},
        {"at": "2026-01-01T00:00:01.000Z", "change": "raised", "tier": 0,
         "audience": "family", "target": "family:r001:def", "url": "mailto://family@example.org",
         "ok": False, "result": "failed", "error": "550 no mailbox family@example.org"}],
})


def test_officers_see_the_alert_with_staff_channels_masked_and_no_family_addresses() -> None:
    view = alert_view(NOTIFIED, Role.OFFICER)
    assert type(view) is AlertPublic
    assert view.model_dump(exclude={"notifications"}) == \
        NOTIFIED.model_dump(exclude={"notifications"})
    officers, family = view.notifications
    assert officers.url == "json://****@hooks.example.org/****"
    assert (family.target, family.ok, family.url, family.error) == \
        ("family:r001:def", False, None, None)


def test_admins_see_every_entry_masked() -> None:
    view = alert_view(NOTIFIED, Role.ADMIN)
    assert [n.url for n in view.notifications] == [
        "json://****@hooks.example.org/****", "mailto://****@example.org"]


def test_families_do_not_see_who_else_was_notified() -> None:
    view = alert_view(NOTIFIED, Role.FAMILY)
    assert isinstance(view, AlertFamilyView)
    assert view.model_dump() == {**NOTIFIED.model_dump(), "notifications": [],
                                 "history": [NOTIFIED.history[0].model_dump()]}


def test_the_views_declare_no_field_of_their_own() -> None:
    assert AlertPublic.model_fields.keys() == AlertFamilyView.model_fields.keys() \
        == Alert.model_fields.keys()


def test_a_document_view_is_the_model_view_serialised() -> None:
    document = NOTIFIED.model_dump(mode="json")
    for role in (Role.FAMILY, Role.OFFICER, Role.ADMIN):
        assert to_json(alert_document_view(document, role), inf_nan_mode="null") == \
            alert_view(NOTIFIED, role).model_dump_json().encode()
    assert document == NOTIFIED.model_dump(mode="json")  # the given document is not changed
