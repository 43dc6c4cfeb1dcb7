"""Where something happened, declared once for the records that say it.

On the wire these stay flat fields of each record (DESIGN.md); the records inherit them from
a base here instead of declaring them again.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Where an alert is: its site, and the household, resident and device where known.

    The base of a detector's decision and of alerting's stored alert.
    """

    site: str
    household: str | None = None
    resident: str | None = None
    device_id: str | None = None


class ScopeFields(BaseModel):
    """:class:`Scope` as fields of a pydantic model: the base of the wire's ``Alert``."""

    site: str
    household: str | None = None
    resident: str | None = None
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a device is: its site, kind, household, room and resident (the registry's
    word; a message's ``kind`` is the one its payload claims until the registry enriches
    it). The base of a registered device and of a message, which copies its device's."""

    device_id: str
    site: str
    kind: str | None = None
    household: str | None = None
    room: str | None = None
    resident: str | None = None
