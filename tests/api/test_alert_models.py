"""The API's alert models: one set of fields, each role's view trimmed by its model."""

from __future__ import annotations

from safehood.api import AlertFamilyView, AlertPublic, Role
from safehood.protocol import Alert

NOTIFIED = Alert.model_validate({
    "id": "a1", "type": "fall", "severity": "Severe", "status": "firing", "site": "xianlin-3",
    "household": "h001", "resident": "r001", "subject": "r001", "device_id": "r001-band",
    "started_at": "2026-01-01T00:00:00.000Z", "evidence": {"peak_g": 3.1},
    "notifications": [{"at": "2026-01-01T00:00:01.000Z", "change": "raised", "tier": 0,
                       "audience": "officers", "target": "officers:xianlin-3:abc",
                       "url": "json://****", "ok": True, "result": "delivered"}],
})


def test_officers_see_the_whole_alert() -> None:
    view = AlertPublic.for_role(NOTIFIED, Role.OFFICER)
    assert type(view) is AlertPublic
    assert view.model_dump() == NOTIFIED.model_dump()


def test_families_do_not_see_who_else_was_notified() -> None:
    view = AlertPublic.for_role(NOTIFIED, Role.FAMILY)
    assert isinstance(view, AlertFamilyView)
    assert view.model_dump() == {**NOTIFIED.model_dump(), "notifications": []}


def test_the_views_declare_no_field_of_their_own() -> None:
    assert AlertPublic.model_fields.keys() == AlertFamilyView.model_fields.keys() \
        == Alert.model_fields.keys()
