"""``forced_entry`` and ``door_left_open`` from door contacts and locks."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

from safehood.protocol import (
    AlertDecision,
    AlertType,
    DecisionAction,
    Device,
    DeviceEvent,
    DoorReading,
    Message,
    Severity,
)

from ._slotted import Slotted
from .base import Decisions, DeviceDetector, RegistryView, Rule, rebind_device, two_state_reader
from .config import DoorConfig
from .const import MS_PER_S, RULE_DOOR

FORCED_ENTRY_SEVERITY = Severity.SEVERE
DOOR_LEFT_OPEN_SEVERITY = Severity.MINOR
DOOR_LEFT_OPEN_LONG_SEVERITY = Severity.MODERATE



class ArrivalTracker(Slotted):
    """Remembers the household's recent unlocks from outside, to tell arrivals from exits.

    Examples
    --------
    >>> from safehood.protocol import DeviceEvent, Message, Placement
    >>> arrivals = ArrivalTracker()
    >>> unlock = DeviceEvent(ts=1_000, kind="door", event="unlock", credential="fingerprint:r1")
    >>> arrivals.observe(Message.from_reading(unlock, Placement("lock", "s1")))
    >>> arrivals.is_arrival(7_000), arrivals.is_arrival(90_000)
    (True, False)
    """

    __slots__ = ("_unlocks", "config")

    def __init__(self, config: DoorConfig | None = None) -> None:
        self.config = config or DoorConfig()
        self._unlocks: list[int] = []

    def observe(self, message: Message) -> None:
        """Take an ``unlock`` event into account (anything else is ignored)."""
        reading = message.reading
        if not isinstance(reading, DeviceEvent) or reading.event != "unlock":
            return
        credential = reading.credential
        if credential is not None and credential not in self.config.exit_credentials:
            self._unlocks.append(message.ts_ms)
            del self._unlocks[:-8]

    def is_arrival(self, opened_ms: int) -> bool:
        """True when a door opening at ``opened_ms`` follows an unlock from outside."""
        window_ms = int(self.config.arrival_s * MS_PER_S)
        skew_ms = int(self.config.clock_skew_s * MS_PER_S)
        return any(-skew_ms <= opened_ms - unlocked <= window_ms for unlocked in self._unlocks)


#: Whether a message says the door is open (True), shut (False), or nothing (None).
door_state = two_state_reader({"open": True, "close": False}, DoorReading, attrgetter("open"))


class DoorDetector(DeviceDetector):
    """One door: ``forced_entry`` at once, ``door_left_open`` when it stays open.

    ``forced_entry`` (Severe) is raised on the lock's ``forced`` event; someone has to look,
    so it is never cleared here. ``door_left_open`` (Minor) is raised when the door has been
    open for ``left_open_s`` and goes to Moderate after ``left_open_long_s`` or at once when
    it is raised during the household's night; it clears when the door shuts. Open/shut
    readings older than the newest one taken are stale and ignored.

    Parameters
    ----------
    device_id, site, household
        The door.
    is_night
        Whether an event time is in the household's night hours (a door with no household
        has no night).
    config
        :class:`~detectors.config.DoorConfig`.

    Examples
    --------
    >>> from safehood.protocol import DeviceEvent, Message, Placement
    >>> detector = DoorDetector("h1-door", site="s1", household="h1")
    >>> opened = Message.from_reading(DeviceEvent(ts=0, kind="door", event="open"),
    ...                               Placement("h1-door", "s1", household="h1"))
    >>> detector.process_one(opened), detector.deadline_ms
    ([], 600000)
    >>> [(d.action.value, d.severity.value) for d in detector.advance(600_000)]
    [('raise', 'Minor')]
    >>> [(d.action.value, d.severity.value) for d in detector.advance(1_800_000)]
    [('update', 'Moderate')]
    """

    kinds = frozenset({"door"})
    channels = frozenset({"telemetry", "event"})  # a status says nothing it uses

    def __init__(
        self,
        device_id: str,
        *,
        site: str,
        household: str | None,
        is_night: Callable[[int], bool] | None = None,
        config: DoorConfig | None = None,
    ) -> None:
        super().__init__(device_id, site=site, household=household)
        self.is_night = is_night or (lambda _ts: False)
        self.config = config or DoorConfig()
        self.open_since: int | None = None
        self._state_ms: int | None = None
        self._raised: Severity | None = None
        self._room: str | None = None

    @property
    def deadline_ms(self) -> int | None:
        if self.open_since is None or self._raised is DOOR_LEFT_OPEN_LONG_SEVERITY:
            return None
        after_s = self.config.left_open_s if self._raised is None else self.config.left_open_long_s
        return self.open_since + int(after_s * MS_PER_S)

    def process_one(self, message: Message) -> Decisions:
        self._room = message.room
        reading = message.reading
        if isinstance(reading, DeviceEvent) and reading.event == "forced":
            return [self.device_decision(
                DecisionAction.RAISE, AlertType.FORCED_ENTRY, FORCED_ENTRY_SEVERITY,
                message.ts_ms, {"event": "forced", "room": message.room,
                                "credential": reading.credential},
            )]
        is_open = door_state(message)
        if is_open is None or (self._state_ms is not None and message.ts_ms < self._state_ms):
            return []
        self._state_ms = message.ts_ms
        if is_open:
            if self.open_since is None:
                self.open_since = message.ts_ms
            return []
        opened, self.open_since = self.open_since, None
        if self._raised is None:
            return []
        self._raised = None
        return [self._left_open(DecisionAction.CLEAR, message.ts_ms, DOOR_LEFT_OPEN_SEVERITY,
                                opened)]

    def advance(self, now_ms: int) -> Decisions:
        out: Decisions = []
        while (deadline := self.deadline_ms) is not None and deadline <= now_ms:
            if self._raised is None:
                night = self.is_night(deadline)
                severity = DOOR_LEFT_OPEN_LONG_SEVERITY if night else DOOR_LEFT_OPEN_SEVERITY
                out.append(self._left_open(DecisionAction.RAISE, deadline, severity,
                                           self.open_since, night=night))
            else:
                severity = DOOR_LEFT_OPEN_LONG_SEVERITY
                out.append(self._left_open(DecisionAction.UPDATE, deadline, severity,
                                           self.open_since))
            self._raised = severity
        return out

    def _left_open(
        self, action: DecisionAction, ts_ms: int, severity: Severity, opened: int | None,
        night: bool = False,
    ) -> AlertDecision:
        evidence: dict[str, object] = {"open_since_ms": opened, "room": self._room}
        if opened is not None:
            evidence["open_s"] = (ts_ms - opened) / MS_PER_S
        if night:
            evidence["night"] = True
        return self.device_decision(action, AlertType.DOOR_LEFT_OPEN, severity, ts_ms, evidence)


def _door(device_id: str, device: Device, view: RegistryView) -> DoorDetector:
    home = view.household_of(device)
    return DoorDetector(
        device_id, site=device.site, household=device.household,
        is_night=home.is_night if home is not None else None, config=view.config.door,
    )


DOOR_RULE = Rule(
    RULE_DOOR, "device", DoorDetector.kinds, lambda device, view: device.device_id, _door,
    rebind=rebind_device,
    channels=DoorDetector.channels,
)
