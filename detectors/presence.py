"""What a household's traffic says about the people in it: which messages are signs of life,
and whether the home is empty because someone went out.

Shared by the household detectors that follow daily life (``inactivity``,
``abnormal_routine``), so that both read the same traffic the same way.
"""

from __future__ import annotations

import math

import numpy as np

from safehood.protocol import Message, MotionReading, WaterReading, WearableWindow

from ._slotted import Slotted
from .config import DoorConfig, InactivityConfig
from .const import MS_PER_S
from .door import ArrivalTracker, door_state
from .water import wet_state


def movement_g(message: Message) -> float | None:
    """Standard deviation of a wearable window's acceleration magnitude (g), or None."""
    reading = message.reading
    if not isinstance(reading, WearableWindow) or not reading.accel:
        return None
    # What np.linalg.norm(axis=1) and np.std compute, to the bit, with fewer numpy calls:
    # routine and inactivity each ask it of every wearable window.
    samples = np.asarray(reading.accel, dtype=float).reshape(-1, 3)
    magnitude = np.sqrt(np.add.reduce(samples * samples, axis=1))
    deviation = magnitude - magnitude.sum() / len(magnitude)
    return math.sqrt((deviation * deviation).sum() / len(magnitude))


#: Device kinds whose messages may be signs of life (see :meth:`SignsOfLife.is_sign`).
SIGN_OF_LIFE_KINDS = frozenset({"motion", "door", "water", "wearable", "button"})


class SignsOfLife(Slotted):
    """Tells which messages show someone moving about the home (or wearing a band that moves).

    Keeps what it needs to tell a change from a repeat: each door's last state, and whether
    a leak sensor is wet (water running then is the leak, not a person).

    Parameters
    ----------
    config
        :class:`~detectors.config.InactivityConfig`: ``flow_lpm``, ``move_std_g`` and
        ``leak_flow_grace_s``.
    """

    __slots__ = ("_door_open", "_dried_ms", "_wet", "config")

    def __init__(self, config: InactivityConfig) -> None:
        self.config = config
        self._door_open: dict[str, bool] = {}
        self._wet: dict[str, bool] = {}
        self._dried_ms: int | None = None

    def is_sign(self, message: Message) -> bool:
        """True when ``message`` is a sign of life; takes door and leak state into account."""
        kind, channel, event, reading = message.kind, message.channel, message.event, message.reading
        if channel == "status":
            return False
        if kind == "motion":
            return event == "motion" or (isinstance(reading, MotionReading) and reading.occupancy)
        if kind == "door":
            if channel == "event":
                return event in ("open", "close", "lock", "unlock")
            state = door_state(message)
            if state is None:
                return False
            changed = self._door_open.get(message.device_id, state) != state
            self._door_open[message.device_id] = state
            return changed
        if kind == "water":
            wet = wet_state(message)
            if wet is not None:
                self._wet[message.device_id] = wet
                if not wet:
                    self._dried_ms = message.ts_ms
                return False
            flow = reading.flow_lpm if isinstance(reading, WaterReading) else None
            if flow is None or flow < self.config.flow_lpm:
                return False
            grace_ms = int(self.config.leak_flow_grace_s * MS_PER_S)
            leaking = any(self._wet.values()) or (
                self._dried_ms is not None and message.ts_ms - self._dried_ms <= grace_ms)
            return not leaking
        if kind == "wearable":
            if channel == "event":
                return event in ("sos", "fall")
            moved = movement_g(message)
            return moved is not None and moved >= self.config.move_std_g
        if kind == "button":
            return event == "sos"
        return False


class Presence(Slotted):
    """Follows who comes and goes: movement inside, and front-door cycles that are exits.

    Feed it the household's signs of life (:meth:`observe`); :attr:`away` says whether the
    home is empty.

    Parameters
    ----------
    config
        :class:`~detectors.config.InactivityConfig`: ``away_after_exit`` and ``exit_grace_s``.
    door_config
        :class:`~detectors.config.DoorConfig`: how the lock tells arrivals from exits.
    """

    __slots__ = ("_arrivals", "_arriving", "_exit_grace_ms", "_opened_ms", "config", "exit_ms",
                 "last_inside_ms")

    def __init__(self, config: InactivityConfig, door_config: DoorConfig | None = None) -> None:
        self.config = config
        #: Event time of the last movement inside the home, or None.
        self.last_inside_ms: int | None = None
        #: Event time the front door last shut behind someone leaving, or None.
        self.exit_ms: int | None = None
        self._exit_grace_ms = int(config.exit_grace_s * MS_PER_S)
        self._arriving = False
        self._opened_ms: int | None = None
        self._arrivals = ArrivalTracker(door_config)

    @property
    def away(self) -> bool:
        """True when the home is empty: the front door was last shut behind someone leaving
        (not after an unlock from outside), with no movement inside since."""
        exit_ms, inside = self.exit_ms, self.last_inside_ms
        return (
            self.config.away_after_exit and exit_ms is not None
            and (inside is None or inside <= exit_ms + self._exit_grace_ms)
        )

    def observe(self, message: Message) -> None:
        """Take a sign of life into account."""
        if message.kind in ("motion", "water", "button"):
            if self.last_inside_ms is None or message.ts_ms > self.last_inside_ms:
                self.last_inside_ms = message.ts_ms
            return
        if message.kind != "door":
            return
        self._arrivals.observe(message)
        state = door_state(message)
        if state is True:
            self._opened_ms = message.ts_ms
            self._arriving = self._arrivals.is_arrival(message.ts_ms)
        elif state is False:
            # The unlock may reach us after the opening it led to (another device's clock).
            if self._arriving or (self._opened_ms is not None
                                  and self._arrivals.is_arrival(self._opened_ms)):
                self.exit_ms = None
            elif self.exit_ms is None or message.ts_ms > self.exit_ms:
                self.exit_ms = message.ts_ms
