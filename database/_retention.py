"""How long the relational database keeps what it holds, and the purge that enforces it.

Readings live in the reading store, which has its own ``delete_before``; the composition
root (``safehood._retention``) runs both on one schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, and_, delete, or_, select

from ._tables import alerts, api_tokens, dead_letters, silences

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class RetentionLimits:
    """Ages in days after which data is deleted (see the README's retention section);
    readings are the reading store's to delete, at :meth:`readings_cutoff_ms`."""

    readings_days: int
    resolved_alerts_days: int
    dead_letters_days: int
    personal_data_days: int

    def readings_cutoff_ms(self, now_ms: int) -> int:
        return now_ms - self.readings_days * DAY_MS


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    """Rows deleted by one purge."""

    alerts: int
    dead_letters: int
    silences: int
    tokens: int


def purge_expired(engine: Engine, limits: RetentionLimits, now_ms: int) -> PurgeCounts:
    """Delete resolved alerts (with their history and notification log) resolved before
    their limit, dead letters received before theirs, and the personal data left after use:
    silences that ended (who made them, their comment) and API tokens revoked or expired
    (whose name is a person's) before the personal-data limit. Open alerts are never touched."""
    alerts_cutoff = now_ms - limits.resolved_alerts_days * DAY_MS
    personal_cutoff = now_ms - limits.personal_data_days * DAY_MS
    with engine.begin() as connection:
        expired = select(alerts.c.id).where(
            alerts.c.open_key.is_(None), alerts.c.resolved_ms.is_not(None),
            alerts.c.resolved_ms < alerts_cutoff)
        # History and notification log go with them (ON DELETE CASCADE; SQLite's foreign
        # keys are on in every connection, see _engine).
        alert_rows = connection.execute(delete(alerts).where(alerts.c.id.in_(expired))).rowcount
        letters = connection.execute(delete(dead_letters).where(
            dead_letters.c.received_ms < now_ms - limits.dead_letters_days * DAY_MS)).rowcount
        silence_rows = connection.execute(delete(silences).where(
            silences.c.ends_ms < personal_cutoff)).rowcount
        token_rows = connection.execute(delete(api_tokens).where(or_(
            api_tokens.c.revoked_ms < personal_cutoff,
            and_(api_tokens.c.expires_ms.is_not(None), api_tokens.c.expires_ms < personal_cutoff),
        ))).rowcount
    return PurgeCounts(alerts=alert_rows, dead_letters=letters, silences=silence_rows,
                       tokens=token_rows)
