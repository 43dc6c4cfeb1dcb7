"""Assembling the stages, outside the manager (Alertmanager's ``PipelineBuilder``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from ._mute import Inhibitor, Muter, MuteStage, Silencer
from ._policy import AlertPolicy
from ._repository import AlertRepository
from ._stages import (
    AutoResolveStage,
    DedupStage,
    EscalationStage,
    FlapStage,
    MultiStage,
    ReminderStage,
    Stage,
)


def new_id() -> str:
    """A random alert or silence id (32 hex digits)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class AlertPipeline:
    """The stages an :class:`~alerting.AlertManager` runs, one pipeline per occasion:

    - ``intake``, detector decisions: dedup -> auto-resolve -> flap -> mute -> escalation
      -> reminder;
    - ``time`` passing (``tick``): mute -> escalation -> reminder;
    - a person's ``action`` (acknowledge, resolve, escalate): mute -> escalation.

    ``policy`` is the one the stages were built with (the manager reads escalation tiers
    from it).
    """

    policy: AlertPolicy
    intake: Stage
    time: Stage
    action: Stage


def build_pipeline(policy: AlertPolicy, repository: AlertRepository, *,
                   id_factory: Callable[[], str] = new_id,
                   exercise: bool | Collection[str] = False,
                   muters: Sequence[Muter] | None = None) -> AlertPipeline:
    """The standard pipelines for ``policy``; stages read ``repository`` (the one the manager
    commits to). New alerts get ids from ``id_factory``; with ``exercise`` every alert raised
    (or, given sites, every alert raised at one of them) is marked as an exercise (CAP
    ``Exercise``). The mute stage asks ``muters`` in order
    (default: the repository's silences, then the policy's inhibit rules)."""
    if muters is None:
        muters = (Silencer(repository), Inhibitor(policy, repository))
    mute = MuteStage(*muters)
    escalation = EscalationStage(policy)
    reminder = ReminderStage(policy)
    return AlertPipeline(
        policy=policy,
        intake=MultiStage(DedupStage(repository, id_factory, exercise=exercise,
                                     policy=policy),
                          AutoResolveStage(policy), FlapStage(policy, repository), mute,
                          escalation, reminder),
        time=MultiStage(mute, escalation, reminder),
        action=MultiStage(mute, escalation),
    )
