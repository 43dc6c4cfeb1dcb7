"""Edits: what a scenario asks of a household, as data; the household unit applies them.

A scenario reads the household's routines (:class:`._routines.Routines`) and returns a list
of edits; :meth:`._units.HouseholdUnit.apply` carries them out in order. Edits that draw from
the unit's own random source (a band window's heart rate, how long a door stays open) draw
when applied, so the traffic does not depend on whether a scenario or the routine asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _physics as physics
from ._community import ResidentSpec
from ._timeline import Segment

RELIABLE = 1  # retried until delivered: events, and windows a scenario depends on
WILL = 2  # a last will: the broker publishes it, the simulator only cuts the connection


@dataclass(slots=True)
class SmokeProfile:
    """Obscuration, temperature and CO above the baseline of one detector, from ``start``.

    The functions take seconds since ``start``. The unit samples it every 10 s and records in
    ``result`` when the detector went into and out of alarm.
    """

    start: int
    end: int
    smoke: Callable[[float], float]
    temp: Callable[[float], float] = lambda s: 0.0
    co: Callable[[float], float] = lambda s: 0.0
    result: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Visit:
    """Someone who is not a resident: a guest, staff coming to help, or an intruder.

    ``credential`` unlocks the door on arrival (``inside``: a resident opens for them);
    ``door`` False means they come and go without a normal door cycle (an intruder).
    """

    start: int
    end: int
    rooms: tuple[str, ...]
    credential: str = "inside"
    door: bool = True


@dataclass(frozen=True, slots=True)
class Emit:
    """Send ``payload`` from ``device_id`` at ``ts``."""

    ts: int
    device_id: str
    channel: str
    payload: dict[str, Any]
    flags: int = 0


@dataclass(frozen=True, slots=True)
class BandWindow:
    """Send an accelerometer window from ``resident``'s band, starting at ``t``."""

    resident: ResidentSpec
    t: int
    window: physics.Window
    activity: str
    flags: int = RELIABLE


@dataclass(frozen=True, slots=True)
class DoorCycle:
    """Unlock (with ``credential``), open at ``t``, close, lock again.

    ``open_ms`` None: the unit draws how long it stays open. ``then`` gets the time the door
    closed and returns the edits that depend on it.
    """

    t: int
    credential: str | None
    open_ms: int | None = None
    lock: bool = True
    unlock: bool = True
    then: Callable[[int], Sequence[Edit]] | None = None


@dataclass(frozen=True, slots=True)
class Override:
    """Replace ``resident_id``'s routine in ``[start, end)`` with ``segments``."""

    resident_id: str
    start: int
    end: int
    segments: list[Segment]


@dataclass(frozen=True, slots=True)
class Flow:
    """Water through the main meter from ``t`` for ``seconds`` at ``lpm`` litres a minute."""

    t: int
    seconds: float
    lpm: float


@dataclass(frozen=True, slots=True)
class Wet:
    """The leak sensor is wet in ``[start, end)``: its routine 'dry' reports stop."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Smoke:
    """A smoke episode on ``device_id``."""

    device_id: str
    profile: SmokeProfile


@dataclass(frozen=True, slots=True)
class Arrive:
    """Someone who is not a resident comes (see :class:`Visit`)."""

    visit: Visit


@dataclass(frozen=True, slots=True)
class HoldDoor:
    """The front door stands open in ``[start, end)``: people walk through, no door cycle."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class BandOff:
    """``resident_id``'s band is off the wrist in ``[start, end)``."""

    resident_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class LetIn:
    """``resident_id``, coming home at ``t``, is let in with ``credential``."""

    resident_id: str
    t: int
    credential: str


@dataclass(frozen=True, slots=True)
class Silence:
    """``device_id`` sends nothing in ``[start, end)``."""

    device_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Status:
    """``device_id`` reports its status at ``t``."""

    device_id: str
    t: int


@dataclass(frozen=True, slots=True)
class FailingBattery:
    """``device_id``'s battery fails, crossing the low mark at ``low_at``."""

    device_id: str
    low_at: int


@dataclass(frozen=True, slots=True)
class Label:
    """A ground-truth label. ``done``, if given, returns its last fields once the traffic
    that decides them has been generated, and None until then."""

    fields: dict[str, Any]
    done: Callable[[], dict[str, int] | None] | None = None


@dataclass(frozen=True, slots=True)
class SilentDeathLabel:
    """The label of ``device_id`` dying silently at ``death`` until ``back``: it starts at the
    last message delivered before ``death``, which only the radio decides."""

    device_id: str
    death: int
    back: int
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Skip:
    """The scenario could not happen; ``why`` goes to the notes."""

    why: str


Edit = (Emit | BandWindow | DoorCycle | Override | Flow | Wet | Smoke | Arrive | HoldDoor
        | BandOff | LetIn | Silence | Status | FailingBattery | Label | SilentDeathLabel | Skip)
