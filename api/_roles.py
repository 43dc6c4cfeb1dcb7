"""Roles and the authenticated caller (principal) with its scope."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a token may do.

    - ``officer``: alerts of their sites (read, acknowledge, escalate, resolve), site
      overviews, device health and readings of their sites;
    - ``family``: read-only, the alerts and status of their own resident(s);
    - ``integrator``: registry, device provisioning, dead letters, device health, silences;
    - ``admin``: everything, including tokens.
    """

    OFFICER = "officer"
    FAMILY = "family"
    INTEGRATOR = "integrator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, as its token says.

    ``sites`` scopes an officer, ``residents`` scopes a family member; both are empty for
    integrators and admins, who are not scoped.
    """

    token_id: str
    name: str
    role: Role
    sites: frozenset[str] = frozenset()
    residents: frozenset[str] = frozenset()

    @property
    def actor(self) -> str:
        """How the caller appears in an alert's history."""
        return f"{self.role.value}:{self.name}"

    def sees_site(self, site: str | None) -> bool:
        """True when the caller may see things of ``site`` (family: never by site alone)."""
        if self.role in (Role.ADMIN, Role.INTEGRATOR):
            return True
        if self.role is Role.OFFICER:
            return site is not None and site in self.sites
        return False
