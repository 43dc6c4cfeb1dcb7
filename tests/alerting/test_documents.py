"""An alert's JSON document (built without the model, for the API's lists) is the model's JSON,
byte for byte."""

from __future__ import annotations

import math

from pydantic_core import to_json

from safehood.alerting import AlertManager, AlertQuery, AlertRecord, DeliveryAttempt, HistoryEntry
from safehood.alerting._manager import alert_document
from safehood.protocol import Alert, AlertStatus, AlertType, Severity

from .conftest import MINUTE, T0, decision

RESOLVED = AlertRecord(
    id="a1", type=AlertType.FALL, severity=Severity.SEVERE, status=AlertStatus.RESOLVED,
    site="xianlin-3", household="h001", resident="r001", device_id="r001-band",
    subject="r001", started_ms=T0, updated_ms=T0 + 9 * MINUTE, last_seen_ms=T0 + MINUTE,
    acknowledged_ms=T0 + MINUTE, resolved_ms=T0 + 9 * MINUTE, count=3, confirmed=False,
    flapping=True, tiers=frozenset({0, 2}), silenced_by="s1",
    # What the JSON column can hold: NaN (dumped as null), large and small floats, text.
    evidence={"peak_g": 3.1, "nan": math.nan, "big": 1e16, "tiny": 1e-7, "whole": 2.0,
              "room": "厨房", "nested": {"samples": [1, 2.5, None, True]}},
)
HISTORY = [
    HistoryEntry(T0, "raised", "detector", "fall seen"),
    HistoryEntry(T0 + MINUTE, "acknowledged", "officer:Li Wei"),
    HistoryEntry(T0 + 2 * MINUTE, "called", "officer:Li Wei", None,
                 {"whom": "daughter", "outcome": "answered"}),
    HistoryEntry(T0 + 9 * MINUTE, "resolved", "officer:Li Wei", "helped up", {"cause": "real"}),
]
ATTEMPTS = [DeliveryAttempt("a1", "k", "raised", 1, 0, "family", "family:r001:x",
                            "mailto://****@example.org", 1, T0 + 1, False, "failed", "550")]


def test_a_document_serialises_as_its_model() -> None:
    for record, history, attempts in [
        (RESOLVED, HISTORY, ATTEMPTS),
        (RESOLVED, HISTORY[:2], ()),  # resolved without a cause: no resolution
        (AlertRecord(id="a2", type=AlertType.SMOKE, severity=Severity.MODERATE,
                     status=AlertStatus.FIRING, site="gulou-1", subject="gulou-1-stairs",
                     started_ms=T0, updated_ms=T0, last_seen_ms=T0), (), ()),
    ]:
        document = alert_document(record, history, attempts)
        assert to_json(document, inf_nan_mode="null") == \
            Alert.model_validate(document).model_dump_json().encode()


def test_listed_documents_are_the_listed_alerts(manager: AlertManager) -> None:
    [fall] = manager.apply([decision("fall", evidence={"peak_g": 3.1})])
    manager.apply([decision("water_leak", subject="h001", resident=None, device_id=None)])
    manager.acknowledge(fall.alert.id, "officer-li", "on my way", at_ms=T0 + MINUTE)
    manager.resolve(fall.alert.id, "officer-li", "unhurt", at_ms=T0 + 2 * MINUTE, cause="real")
    query = AlertQuery(order="severity", limit=10)
    alerts = manager.list(query)
    assert len(alerts) == 2
    assert manager.list_documents(query) == [a.model_dump(mode="json") for a in alerts]
