"""The stages of the alert path, after Alertmanager's ``notify`` pipeline.

Every stage is a small object with the same one method, ``run(batch, now_ms)``: it takes a
batch of proposals (an alert's state before and after, the changes to publish and the
history to append) and returns what gets through. Stages never write and never read a
clock; :func:`~alerting.build_pipeline` composes them (:class:`MultiStage`) and the
:class:`~alerting.AlertManager` feeds the pipeline, commits what comes out and publishes it.
Silences and inhibitions are muters behind one mute stage (``_mute.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from safehood.protocol import AlertDecision, AlertStatus, DecisionAction

from . import const
from ._models import AlertRecord, HistoryEntry
from ._policy import AlertPolicy
from ._repository import AlertRepository


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A change not yet committed. ``forced`` changes (a person's escalation) are notified
    even while a silence matches."""

    kind: str
    notify: bool
    tier: int | None = None
    audience: tuple[str, ...] = ()
    forced: bool = False


@dataclass(frozen=True, slots=True)
class Proposal:
    """What should happen to one alert at event time ``at_ms``."""

    at_ms: int
    after: AlertRecord
    before: AlertRecord | None = None
    changes: tuple[PendingChange, ...] = ()
    events: tuple[HistoryEntry, ...] = ()
    decision: AlertDecision | None = None
    clear: bool = False

    @property
    def suppressed(self) -> bool:
        """Silenced, inhibited, or flapping and still held back: tiers and reminders wait."""
        hold = self.after.hold_until_ms
        return (self.after.silenced_by is not None or self.after.inhibited_by is not None
                or (hold is not None and self.at_ms < hold))


class Stage(Protocol):
    """One step of the alert path."""

    def run(self, batch: Sequence[Proposal], now_ms: int) -> list[Proposal]:
        """Return the proposals that get through, possibly changed."""
        ...


class MultiStage:
    """Stages run one after the other, each on what the one before let through."""

    def __init__(self, *stages: Stage) -> None:
        self._stages = stages

    def run(self, batch: Sequence[Proposal], now_ms: int) -> list[Proposal]:
        result = list(batch)
        for stage in self._stages:
            result = stage.run(result, now_ms)
        return result


def decision_proposal(decision: AlertDecision) -> Proposal:
    """A detector decision on its way in: ``after`` is the alert it would raise, not yet
    placed (no id) until :class:`DedupStage` matches it with the open alert or keeps it."""
    record = AlertRecord(
        id="", type=decision.type, severity=decision.severity, status=AlertStatus.FIRING,
        site=decision.site, subject=decision.subject, started_ms=decision.ts_ms,
        updated_ms=decision.ts_ms, last_seen_ms=decision.ts_ms, household=decision.household,
        resident=decision.resident, device_id=decision.device_id,
        confirmed=decision.confirmed, evidence=dict(decision.evidence),
    )
    return Proposal(decision.ts_ms, record, decision=decision)


class DedupStage:
    """Places decisions (see :func:`decision_proposal`): one open alert per (type, subject).

    A raise or update with no open alert makes a new one (with an id from ``id_factory``);
    otherwise it merges into the open alert (count, last seen, evidence; severity only ever
    goes up; confirmation sticks) and is notified only when it made the alert more severe
    or confirmed it. Where the type has an incident window (``policy``) and the open
    alert's last news is older than that, the raise is a new incident: a new alert, and the
    old one is resolved as superseded by it (not notified; its history says by which).
    A clear of an open alert passes on marked ``clear``; a clear with nothing open is
    dropped. Proposals already placed pass through.
    """

    def __init__(self, repository: AlertRepository, id_factory: Callable[[], str], *,
                 exercise: bool | Collection[str] = False,
                 policy: AlertPolicy | None = None) -> None:
        self._repository = repository
        self._id_factory = id_factory
        self._exercise = exercise
        self._policy = policy or AlertPolicy()

    def run(self, batch: Sequence[Proposal], now_ms: int) -> list[Proposal]:
        out: list[Proposal] = []
        for proposal in batch:
            decision = proposal.decision
            if proposal.after.id or decision is None:
                out.append(proposal)
                continue
            current = self._repository.get_open(decision.type, decision.subject)
            if decision.action == DecisionAction.CLEAR:
                if current is not None:
                    out.append(Proposal(decision.ts_ms, current, current, decision=decision,
                                        clear=True))
            elif current is None:
                out.append(self._new(proposal, decision))
            elif self._new_incident(current, decision):
                raised = self._new(proposal, decision)
                out += [self._supersede(current, raised.after, decision.ts_ms), raised]
            else:
                out.append(self._merge(current, decision))
        return out

    def _new_incident(self, current: AlertRecord, decision: AlertDecision) -> bool:
        window_ms = self._policy.for_type(decision.type).incident_window_ms
        return window_ms is not None and decision.ts_ms - current.last_seen_ms > window_ms

    @staticmethod
    def _supersede(current: AlertRecord, successor: AlertRecord, at: int) -> Proposal:
        """Close ``current`` so that ``successor`` (committed after it) may be the open one."""
        after = replace(current, status=AlertStatus.RESOLVED, resolved_ms=at,
                        updated_ms=max(current.updated_ms, at), next_reminder_ms=None)
        quiet_h = (at - current.last_seen_ms) / 3_600_000
        note = (f"superseded by alert {successor.id}: a new incident after {quiet_h:.1f} h "
                "without news of this one")
        return Proposal(at, after, current, (PendingChange(const.RESOLVED, False),),
                        (HistoryEntry(at, const.RESOLVED, const.SYSTEM_ACTOR, note),))

    def _new(self, proposal: Proposal, decision: AlertDecision) -> Proposal:
        at = decision.ts_ms
        exercise = (self._exercise if isinstance(self._exercise, bool)
                    else decision.site in self._exercise)
        record = replace(proposal.after, id=self._id_factory(), exercise=exercise)
        note = None if decision.confirmed else "unconfirmed"
        return Proposal(at, record, None, (PendingChange(const.RAISED, True),),
                        (HistoryEntry(at, const.RAISED, const.SYSTEM_ACTOR, note),), decision)

    def _merge(self, current: AlertRecord, decision: AlertDecision) -> Proposal:
        at = decision.ts_ms
        notes: list[str] = []
        severity = current.severity
        if decision.severity.rank > severity.rank:
            notes.append(f"severity {severity.value} -> {decision.severity.value}")
            severity = decision.severity
        confirmed = current.confirmed or decision.confirmed
        if confirmed and not current.confirmed:
            notes.append("confirmed")
        after = replace(
            current, severity=severity, confirmed=confirmed, count=current.count + 1,
            last_seen_ms=max(current.last_seen_ms, at), updated_ms=max(current.updated_ms, at),
            household=current.household or decision.household,
            resident=current.resident or decision.resident,
            device_id=current.device_id or decision.device_id,
            evidence={**current.evidence, **decision.evidence},
            # The condition is back: a clear noted earlier no longer holds.
            cleared_ms=None,
        )
        events: tuple[HistoryEntry, ...] = ()
        if notes:
            notes.append(f"count {after.count}")
            events = (HistoryEntry(at, const.UPDATED, const.SYSTEM_ACTOR, "; ".join(notes)),)
        return Proposal(at, after, current, (PendingChange(const.UPDATED, bool(notes)),),
                        events, decision)


class AutoResolveStage:
    """A detector's clear resolves the alert where the policy says that is safe (never a
    fire); otherwise the clear is noted in the history and a person resolves the alert."""

    def __init__(self, policy: AlertPolicy) -> None:
        self._policy = policy

    def run(self, batch: Sequence[Proposal], now_ms: int) -> list[Proposal]:
        out: list[Proposal] = []
        for proposal in batch:
            if not proposal.clear:
                out.append(proposal)
                continue
            alert, at = proposal.after, proposal.at_ms
            nuisance = proposal.decision is not None and proposal.decision.nuisance
            note = "condition cleared" + (" (nuisance)" if nuisance else "")
            if self._policy.may_auto_resolve(alert.type):
                after = replace(alert, status=AlertStatus.RESOLVED, resolved_ms=at,
                                cleared_ms=at, updated_ms=max(alert.updated_ms, at),
                                next_reminder_ms=None)
                out.append(replace(
                    proposal, after=after, clear=False,
                    changes=(PendingChange(const.RESOLVED, True),),
                    events=(HistoryEntry(at, const.AUTO_RESOLVED, const.SYSTEM_ACTOR, note),)))
            elif alert.cleared_ms is None:
                after = replace(alert, cleared_ms=at, updated_ms=max(alert.updated_ms, at))
                out.append(replace(
                    proposal, after=after, clear=False,
                    changes=(PendingChange(const.UPDATED, False),),
                    events=(HistoryEntry(at, const.CONDITION_CLEARED, const.SYSTEM_ACTOR,
                                         note + "; a person must resolve this alert"),)))
        return out


class FlapStage:
    """Marks a new alert flapping when its (type, subject) keeps coming back: it is the
    policy's ``flap_threshold``-th alert within ``flap_window_s``. Its notifications are held
    back for one window (if it is still firing then, it is notified)."""

    def __init__(self, policy: AlertPolicy, repository: AlertRepository) -> None:
        self._policy = policy
        self._repository = repository

    def run(self, batch: Sequence[Proposal], now_ms: int) -> list[Proposal]:
        out: list[Proposal] = []
        window = self._policy.flap_window_ms
        for proposal in batch:
            alert = proposal.after
            if proposal.before is not None or not self._policy.for_type(alert.type).flap_detection:
                out.append(proposal)
                continue
            earlier = self._repository.count_started(alert.type, alert.subject,
                                                     proposal.at_ms - window)
            if earlier + 1 < self._policy.flap_threshold:
                out.append(proposal)
                continue
            note = (f"{earlier + 1} alerts within {self._policy.flap_window_s / 60:g} min: "
                    "notifications held back")
            out.append(replace(
                proposal,
                after=replace(alert, flapping=True, hold_until_ms=proposal.at_ms + window),
                events=(*proposal.events,
                        HistoryEntry(proposal.at_ms, const.FLAPPING, const.SYSTEM_ACTOR, note))))
        return out


class EscalationStage:
    """Walks the escalation chain of the alert's type.

    While an alert is firing (not acknowledged) and not suppressed, every tier whose delay
    has passed (and whose confirmation requirement holds) is notified once: the first rides
    on the ``raised`` change, later ones are ``escalated`` changes. When a silence or
    flapping held the first tier back, the whole chain shifts by as much, so that nobody is
    skipped over at the end of a silence. Acknowledging stops the chain. Updates,
    acknowledgements and resolutions go to everyone notified so far; when nobody has been
    notified yet, nobody is told.
    """

    def __init__(self, policy: AlertPolicy) -> None:
        self._policy = policy

    def run(self, batch: Sequence[Proposal], now_ms: int) -> list[Proposal]:
        return [self._one(p) for p in batch]

    def _one(self, proposal: Proposal) -> Proposal:
        alert, at = proposal.after, proposal.at_ms
        rules = self._policy.for_type(alert.type)
        told = _audiences(rules.tiers[i].audience for i in sorted(alert.tiers)
                          if i < len(rules.tiers))
        changes: list[PendingChange] = []
        for change in proposal.changes:
            if change.kind == const.RAISED:
                change = replace(change, notify=False)
            elif change.kind in (const.UPDATED, const.ACKNOWLEDGED, const.RESOLVED) \
                    and change.notify and not change.audience:
                # Those evacuated hear of the end of the fire, not of each step before it.
                audience = told if change.kind == const.RESOLVED else tuple(
                    a for a in told if a not in const.EVACUATION_AUDIENCES)
                change = replace(change, audience=audience, notify=bool(audience))
            changes.append(change)
        if alert.status != AlertStatus.FIRING or proposal.suppressed:
            return replace(proposal, changes=tuple(changes))
        tiers = set(alert.tiers)
        events = list(proposal.events)

        delay = alert.escalation_delay_ms if alert.tiers else None
        for index, tier in enumerate(rules.tiers):
            due_ms = alert.started_ms + tier.after_ms
            if index in tiers or at < due_ms + (delay or 0):
                continue
            if tier.require_confirmed and not alert.confirmed:
                continue
            if delay is None:
                # The chain starts now: later tiers keep their spacing from this moment.
                delay = max(0, at - due_ms)
            tiers.add(index)
            # An audience is woken once: a family told of a confirmed fall is not told
            # again when the same alert reaches the no-response tier.
            audience = tuple(a for a in tier.audience if a not in told)
            told = _audiences((told, audience))
            if not audience:
                continue
            raised = next((i for i, c in enumerate(changes)
                           if c.kind == const.RAISED and c.tier is None), None)
            if raised is not None:
                changes[raised] = replace(changes[raised], notify=True, tier=index,
                                          audience=audience)
                continue
            changes.append(PendingChange(const.ESCALATED, True, index, audience))
            events.append(HistoryEntry(at, const.ESCALATED, const.SYSTEM_ACTOR,
                                       f"tier {index}: {', '.join(audience)}"))
        if tiers == alert.tiers:
            return replace(proposal, changes=tuple(changes))
        interval = rules.reminder_interval_ms
        after = replace(alert, tiers=frozenset(tiers), escalation_delay_ms=delay or 0,
                        next_reminder_ms=None if interval is None else at + interval)
        return replace(proposal, after=after, changes=tuple(changes), events=tuple(events))


class ReminderStage:
    """Reminds the policy's reminder audience of an alert still firing, unacknowledged and
    notified, every ``reminder_interval_s`` (not in a batch that already notified it)."""

    def __init__(self, policy: AlertPolicy) -> None:
        self._policy = policy

    def run(self, batch: Sequence[Proposal], now_ms: int) -> list[Proposal]:
        out: list[Proposal] = []
        for proposal in batch:
            alert, at = proposal.after, proposal.at_ms
            interval = self._policy.for_type(alert.type).reminder_interval_ms
            due = (alert.status == AlertStatus.FIRING and alert.tiers and interval is not None
                   and alert.next_reminder_ms is not None and at >= alert.next_reminder_ms
                   and not proposal.suppressed
                   and not any(c.notify and c.kind in (const.RAISED, const.ESCALATED)
                               for c in proposal.changes))
            if not due or interval is None:
                out.append(proposal)
                continue
            audience = self._policy.for_type(alert.type).reminder_audience
            out.append(replace(
                proposal,
                after=replace(alert, next_reminder_ms=at + interval),
                changes=(*proposal.changes, PendingChange(const.REMINDER, True, None, audience)),
                events=(*proposal.events, HistoryEntry(at, const.REMINDER, const.SYSTEM_ACTOR,
                                                       ", ".join(audience))),
            ))
        return out


def _audiences(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        seen.update(dict.fromkeys(group))
    return tuple(seen)
