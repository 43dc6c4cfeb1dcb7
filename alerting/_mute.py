"""Muting, after Alertmanager's ``notify/mute.go``: silences and inhibitions are both
:class:`Muter` objects, and one :class:`MuteStage` asks each of them about every alert.

A muted alert is recorded, not notified (a person's explicit escalation still is); the
alert keeps the id of what mutes it (``silenced_by``, ``inhibited_by``) and its history
notes when a muter starts to apply. Muters read the repository but never write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from . import const
from ._models import OPEN_STATUSES, AlertQuery, AlertRecord, HistoryEntry, Silence
from ._policy import AlertPolicy
from ._repository import AlertRepository
from ._stages import Proposal


@dataclass(frozen=True, slots=True)
class Mute:
    """Why an alert is muted: ``by`` is the id of the silence or alert that mutes it (kept
    on the alert), ``note`` says so in its history."""

    by: str
    note: str


class Muter(Protocol):
    """Something that mutes alerts (Alertmanager's ``types.Muter``).

    ``mutes`` returns why ``alert`` is muted at event time ``at_ms``, or ``None``: unlike
    Alertmanager's boolean, the answer carries what to record, because a muter here marks
    nothing itself. ``marker`` is the alert field that keeps the id, ``action`` the history
    action noted when the muter starts to apply.
    """

    marker: str
    action: str

    def mutes(self, alert: AlertRecord, at_ms: int) -> Mute | None:
        ...


@runtime_checkable
class BatchMuter(Muter, Protocol):
    """A muter that reads what it needs once a batch: :class:`MuteStage` asks the one
    :meth:`for_batch` returns about the alerts of one batch (the repository does not change
    under a batch: the manager holds its lock)."""

    def for_batch(self) -> Muter:
        ...


class Silencer:
    """Mutes the alerts an active silence matches (the first one stored, when several do)."""

    marker = "silenced_by"
    action = const.SILENCED

    def __init__(self, repository: AlertRepository) -> None:
        self._repository = repository
        self._active: dict[int, list[Silence]] | None = None

    def for_batch(self) -> Silencer:
        # The silences active at each instant, read once a batch: a tick looks at every
        # firing alert at one instant, and a query per alert stalled the consumer thread.
        batch = Silencer(self._repository)
        batch._active = {}
        return batch

    def _silences(self, at_ms: int) -> list[Silence]:
        if self._active is None:
            return self._repository.list_silences(at_ms)
        active = self._active.get(at_ms)
        if active is None:
            active = self._active[at_ms] = self._repository.list_silences(at_ms)
        return active

    def mutes(self, alert: AlertRecord, at_ms: int) -> Mute | None:
        match = next((s for s in self._silences(at_ms) if s.matches(alert)), None)
        if match is None:
            return None
        note = f"silence {match.id} by {match.created_by}"
        return Mute(match.id, f"{note}: {match.comment}" if match.comment else note)


class Inhibitor:
    """Mutes an open alert covered by another open alert (the policy's inhibit rules: a fire
    covers the smoke alerts of its household) while that alert is open; when it is
    resolved, the alert is notified like any alert held back."""

    marker = "inhibited_by"
    action = const.INHIBITED

    def __init__(self, policy: AlertPolicy, repository: AlertRepository) -> None:
        self._policy = policy
        self._repository = repository

    def mutes(self, alert: AlertRecord, at_ms: int) -> Mute | None:
        if not alert.is_open:
            return None
        for rule in self._policy.inhibitors(alert.type):
            value = getattr(alert, rule.equal)
            if value is None:
                continue
            found = self._repository.query(AlertQuery(
                types=(rule.source,), statuses=OPEN_STATUSES, limit=1,
                sites=(value,) if rule.equal == "site" else (),
                households=(value,) if rule.equal == "household" else (),
                devices=(value,) if rule.equal == "device_id" else ()))
            if found and found[0].id != alert.id:
                source = found[0]
                return Mute(source.id, f"covered by {source.type.value} alert {source.id}")
        return None


class MuteStage:
    """The one stage in front of notification that applies every muter, in order."""

    def __init__(self, *muters: Muter) -> None:
        self._muters = muters

    def run(self, batch: Sequence[Proposal], now_ms: int) -> list[Proposal]:
        muters = [m.for_batch() if isinstance(m, BatchMuter) else m for m in self._muters]
        return [self._one(p, muters) for p in batch]

    @staticmethod
    def _one(proposal: Proposal, muters: Sequence[Muter]) -> Proposal:
        for muter in muters:
            alert = proposal.after
            mute = muter.mutes(alert, proposal.at_ms)
            muted_by = getattr(alert, muter.marker)
            if mute is None and muted_by is None:
                continue
            changes, events = proposal.changes, proposal.events
            if mute is not None:
                changes = tuple(c if c.forced else replace(c, notify=False) for c in changes)
                if muted_by != mute.by:
                    events = (*events, HistoryEntry(proposal.at_ms, muter.action,
                                                    const.SYSTEM_ACTOR, mute.note))
            marked: dict[str, Any] = {muter.marker: mute.by if mute is not None else None}
            proposal = replace(proposal, after=replace(alert, **marked), changes=changes,
                               events=events)
        return proposal
