"""What alerts a caller may see: officers their sites, families their residents.

A family member sees the alerts of their resident and the alerts of the resident's home
that concern no one in particular (smoke in the kitchen, a leak); not the alerts of another
resident of the same home. Anything out of scope is answered as if it did not exist (404).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from safehood.database import residents
from safehood.protocol import Alert

from ._roles import Principal, Role


@dataclass(frozen=True, slots=True)
class AlertScope:
    """The alert visibility of one principal; ``households`` are a family's homes."""

    principal: Principal
    households: frozenset[str] = frozenset()

    @property
    def role(self) -> Role:
        return self.principal.role

    def sees(self, alert: Alert) -> bool:
        role = self.principal.role
        if role is Role.ADMIN:
            return True
        if role is Role.OFFICER:
            return alert.site in self.principal.sites
        if role is Role.FAMILY:
            if alert.resident is not None:
                return alert.resident in self.principal.residents
            return alert.household is not None and alert.household in self.households
        return False

    def sees_resident(self, resident_id: str, household: str, site: str | None) -> bool:
        """Whether the caller may see the status of a resident."""
        role = self.principal.role
        if role is Role.ADMIN:
            return True
        if role is Role.OFFICER:
            return site is not None and site in self.principal.sites
        if role is Role.FAMILY:
            return resident_id in self.principal.residents
        return False


def households_of(engine: Engine, resident_ids: frozenset[str]) -> frozenset[str]:
    if not resident_ids:
        return frozenset()
    query = select(residents.c.household).where(residents.c.id.in_(sorted(resident_ids)))
    with engine.connect() as connection:
        return frozenset(connection.execute(query).scalars())


def alert_scope(engine: Engine, principal: Principal) -> AlertScope:
    if principal.role is Role.FAMILY:
        return AlertScope(principal, households_of(engine, principal.residents))
    return AlertScope(principal)


def concerns(alert: Alert, resident_id: str, household: str | None) -> bool:
    """The alert is about this resident, or about their home and no one in particular."""
    if alert.resident is not None:
        return alert.resident == resident_id
    return household is not None and alert.household == household

