"""One resident's data on request (personal information protection): everything the
database holds about them, for an export, and its erasure.

Erasure removes what names or reaches the person (registry entry, their personal devices
with their health rows and MQTT accounts, their place in family tokens, notes and family
contact URLs in the record of their alerts) and keeps the alerts themselves, unlinked from
them: the record that an SOS was raised and answered is the centre's to keep (README,
"Export and erase of a resident's data").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from safehood.alerting.const import FAMILY

from ._tables import (
    alert_history,
    alerts,
    api_tokens,
    device_health,
    devices,
    households,
    mqtt_accounts,
    notification_attempts,
    residents,
)

ERASED = "erased"


class UnknownResident(LookupError):
    """No resident with this id is registered."""


class ErasureRefused(RuntimeError):
    """The resident cannot be erased now (an alert about them is still open)."""


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure changed; ``device_ids`` are the personal devices whose readings the
    caller deletes from the reading store."""

    device_ids: list[str]
    alerts_anonymised: int
    tokens_changed: int


def _rows(connection: Connection, query: Any) -> list[dict[str, Any]]:
    # Plain str keys: column names are a str subclass, which orjson refuses as keys.
    return [{str(k): v for k, v in row._mapping.items()} for row in connection.execute(query)]


def _resident(connection: Connection, resident_id: str) -> dict[str, Any]:
    found = _rows(connection, select(residents).where(residents.c.id == resident_id))
    if not found:
        raise UnknownResident(f"no resident {resident_id!r} is registered")
    return found[0]


def _erasable(connection: Connection, resident_id: str) -> list[str]:
    _resident(connection, resident_id)
    open_alert = connection.execute(select(alerts.c.id).where(
        alerts.c.resident == resident_id, alerts.c.open_key.is_not(None))).first()
    if open_alert is not None:
        raise ErasureRefused(f"alert {open_alert.id} about resident {resident_id!r} is open; "
                             "resolve it first")
    return sorted(connection.execute(
        select(devices.c.device_id).where(devices.c.resident == resident_id)).scalars())


def erasable_devices(engine: Engine, resident_id: str) -> list[str]:
    """Ids of the resident's personal devices (those the registry assigns to them), whose
    readings go before the rest is erased. Raises :class:`UnknownResident` or
    :class:`ErasureRefused` as :func:`erase_resident` would."""
    with engine.connect() as connection:
        return _erasable(connection, resident_id)


def export_resident(engine: Engine, resident_id: str) -> dict[str, Any]:
    """The resident's registry entry, household and personal devices, and their alerts
    with history and notification log, as JSON-ready data. Raises :class:`UnknownResident`."""
    with engine.connect() as connection:
        resident = _resident(connection, resident_id)
        household = _rows(connection, select(households)
                          .where(households.c.id == resident["household"]))
        own_alerts = _rows(connection, select(alerts).where(alerts.c.resident == resident_id)
                           .order_by(alerts.c.started_ms))
        ids = [a["id"] for a in own_alerts]
        history = _rows(connection, select(alert_history).where(alert_history.c.alert_id.in_(ids))
                        .order_by(alert_history.c.id))
        attempts = _rows(connection, select(notification_attempts)
                         .where(notification_attempts.c.alert_id.in_(ids))
                         .order_by(notification_attempts.c.id))
        device_rows = _rows(connection, select(devices).where(devices.c.resident == resident_id)
                            .order_by(devices.c.device_id))
    for alert in own_alerts:
        alert.pop("open_key")
        alert["history"] = [h for h in history if h["alert_id"] == alert["id"]]
        alert["notifications"] = [a for a in attempts if a["alert_id"] == alert["id"]]
    return {"resident": resident, "household": household[0] if household else None,
            "devices": device_rows, "alerts": own_alerts}


def erase_resident(engine: Engine, resident_id: str, now_ms: int) -> Erasure:
    """Erase the resident in one transaction (see the module's docstring). Raises
    :class:`UnknownResident`, or :class:`ErasureRefused` while an alert about them is open:
    erasing the person an open SOS is about would leave responders without a name."""
    with engine.begin() as connection:
        device_ids = _erasable(connection, resident_id)
        ids = select(alerts.c.id).where(alerts.c.resident == resident_id)
        connection.execute(update(alert_history).where(alert_history.c.alert_id.in_(ids))
                           .values(note=None))
        connection.execute(update(notification_attempts).where(
            notification_attempts.c.alert_id.in_(ids),
            notification_attempts.c.audience == FAMILY,
        ).values(target=ERASED, url=ERASED, error=None))
        anonymised = connection.execute(update(alerts).where(alerts.c.resident == resident_id)
                                        .values(resident=None)).rowcount
        tokens = 0
        for token in connection.execute(select(api_tokens.c.id, api_tokens.c.residents,
                                               api_tokens.c.revoked_ms)).all():
            if resident_id not in token.residents:
                continue
            others = [r for r in token.residents if r != resident_id]
            # A family token for nobody else is revoked, not widened to "no scope".
            connection.execute(update(api_tokens).where(api_tokens.c.id == token.id).values(
                residents=others, revoked_ms=token.revoked_ms if others else
                (token.revoked_ms or now_ms)))
            tokens += 1
        connection.execute(delete(device_health).where(device_health.c.device_id.in_(device_ids)))
        connection.execute(delete(mqtt_accounts).where(mqtt_accounts.c.device_id.in_(device_ids)))
        connection.execute(delete(devices).where(devices.c.device_id.in_(device_ids)))
        connection.execute(delete(residents).where(residents.c.id == resident_id))
    return Erasure(device_ids=device_ids, alerts_anonymised=anonymised, tokens_changed=tokens)
