"""Who may see what of the personal data the API holds: decided here and nowhere else.

Every representation of an alert (REST, CAP aside, the live stream, a resident's status) is
made by :func:`alert_view`; every resident's contact list by :func:`contacts_view`.

=========================  ======  ===========================  ==========  ========
what                       family  officer (and supervisor)     integrator  admin
=========================  ======  ===========================  ==========  ========
alert ``notifications``    none    staff channels masked;       (no         all,
                                   family entries without URL   alerts)     masked
notifier steps in history  none    yes (target ids only)        -           yes
residents' contact URLs    none    none (``null``)              masked      in full
key holders' access notes  none    yes (their sites)            none        yes
=========================  ======  ===========================  ==========  ========

Access notes (how to get into a home: where the key is, the door code) are for whoever may
have to go in at night: the site's officers. Integrators edit the registry but never enter
homes; a key holder an integrator writes back without its note keeps the stored one.

A supervisor is an escalation audience, not a role: supervisors hold officer tokens.
Masked means :func:`safehood.alerting.mask_url`: scheme and host only, no user, password,
address, path or query. MQTT passwords and API tokens are shown once, to whoever made them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from safehood.alerting import mask_url
from safehood.alerting.const import FAMILY, NOTIFIER_ACTOR
from safehood.protocol import Alert, HouseholdIn, KeyHolderIn, RegistryFile

from ._models import AlertFamilyView, AlertPublic
from ._roles import Role


def alert_view(alert: Alert, role: Role) -> AlertPublic:
    """What ``role`` may see of ``alert`` (the caller checked it may see the alert)."""
    if role is Role.FAMILY:
        history = [event for event in alert.history if _family_sees(event.actor)]
        return AlertFamilyView.from_alert(alert, history=history)
    return AlertPublic.from_alert(alert, notifications=[
        entry.model_copy(update=_notification_shown(entry.audience, entry.url, role))
        for entry in alert.notifications])


# What a family's view leaves at its empty default, found once: FieldInfo.get_default
# inspects the default factory at every call (1 ms).
_FAMILY_HIDDEN: dict[str, Any] = {
    name: AlertFamilyView.model_fields[name].get_default(call_default_factory=True)
    for name in sorted(AlertFamilyView.hidden)}


def alert_document_view(document: dict[str, Any], role: Role) -> dict[str, Any]:
    """:func:`alert_view` of an alert's JSON document (``Alert``'s JSON object, as
    ``AlertManager.list_documents`` gives it), as a new document: the view's JSON object."""
    if role is Role.FAMILY:
        hidden = {name: copy.copy(empty) for name, empty in _FAMILY_HIDDEN.items()}
        history = [event for event in document["history"] if _family_sees(event["actor"])]
        return document | {"history": history} | hidden
    return document | {"notifications": [
        entry | _notification_shown(entry["audience"], entry["url"], role)
        for entry in document["notifications"]]}


def _family_sees(actor: str) -> bool:
    """Whether a family sees a history entry by ``actor``: who else was told, and how, is
    the staff's business."""
    return actor != NOTIFIER_ACTOR


def _notification_shown(audience: str, url: str | None, role: Role) -> dict[str, Any]:
    """The fields of a notification log entry to show ``role`` in place of the stored ones."""
    if role is not Role.ADMIN and audience == FAMILY:
        # Officers learn that the family was (or could not be) told, not where.
        return {"url": None, "error": None}
    return {"url": mask_url(url) if url else url}


def contacts_view(contacts: Sequence[str], role: Role) -> list[str] | None:
    """A resident's notification contacts as ``role`` may see them; None: not at all."""
    if role is Role.ADMIN:
        return list(contacts)
    if role is Role.INTEGRATOR:
        return [mask_url(url) for url in contacts]
    return None


def sees_access_notes(role: Role) -> bool:
    """Whether ``role`` may read how to get into a home (the caller checked the site)."""
    return role in (Role.OFFICER, Role.ADMIN)


def household_view(household: HouseholdIn, role: Role) -> HouseholdIn:
    """``household`` without its access notes unless ``role`` may read them."""
    if sees_access_notes(role):
        return household
    return household.model_copy(update={
        "access_notes": None,
        "key_holders": [k.model_copy(update={"access_note": None}) for k in household.key_holders],
    })


def registry_view(registry: RegistryFile, role: Role) -> RegistryFile:
    """The registry file with each resident's contacts and each household's access notes
    as ``role`` may see them."""
    if role is Role.ADMIN:
        return registry
    residents = [r.model_copy(update={"contacts": contacts_view(r.contacts, role) or []})
                 for r in registry.residents]
    households = [household_view(h, role) for h in registry.households]
    return registry.model_copy(update={"residents": residents, "households": households})


def restore_access_notes(given: Sequence[KeyHolderIn | dict[str, object]],
                         stored: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """``given`` key holders with each missing access note taken from the stored key holder
    of the same name, so that an integrator's write-back (who never saw the notes) keeps
    them."""
    notes = {k["name"]: k.get("access_note") for k in stored}
    out = []
    for holder in given:
        entry = holder.model_dump() if isinstance(holder, KeyHolderIn) else dict(holder)
        if entry.get("access_note") is None:
            entry["access_note"] = notes.get(entry["name"])
        out.append(entry)
    return out


def unmask_contacts(given: Sequence[str], stored: Sequence[str]) -> list[str]:
    """``given`` with each masked contact replaced by the stored one it masks, so that an
    integrator's export imports back without losing the contacts it could not read.
    A masked contact that matches none of ``stored`` is left as it is (and then fails the
    scheme check)."""
    by_mask = {mask_url(url): url for url in stored}
    return [by_mask.get(url, url) if "****" in url else url for url in given]
