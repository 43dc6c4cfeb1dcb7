"""``smoke`` (the first signal) and ``fire`` (confirmed) from the smoke alarms of a building.

The first alarm-level reading or ``alarm`` event of a detector raises ``smoke`` (Severe) at
once, for the duty officer. ``fire`` (Extreme) follows when the smoke is confirmed within the
verification window: a second detector of the same household or building alarms, the first
stays in alarm for ``sustain_s``, its level rises to ``rise_factor`` times the first alarm
level, or its temperature rises. Confirmation gates escalation to families and emergency
services; it never holds back the ``smoke`` alert. Smoke that clears without being confirmed
(burnt toast) clears the ``smoke`` alert as a nuisance at the end of the window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from safehood.protocol import (
    AlertDecision,
    AlertType,
    DecisionAction,
    Device,
    DeviceEvent,
    Message,
    Severity,
    SmokeReading,
)

from .base import Decisions, Detector, RegistryView, Rule, tidy_evidence
from .config import SmokeConfig
from .const import MS_PER_S, RULE_SMOKE

SMOKE_SEVERITY = Severity.SEVERE
FIRE_SEVERITY = Severity.EXTREME


@dataclass(slots=True)
class _Alarm:
    """One smoke alarm device as the detector follows it."""

    device_id: str
    subject: str
    household: str | None
    room: str | None = None
    alarming: bool = False
    alarm_since: int | None = None
    first_level: float | None = None
    peak_level: float | None = None
    last_ms: int | None = None
    temps: deque[tuple[int, float]] = field(default_factory=deque)


@dataclass(slots=True)
class _Incident:
    """Smoke in one household (or one shared space), from its first alarm until all clear."""

    subject: str
    household: str | None
    started_ms: int
    window_end_ms: int
    first_device: str
    devices: set[str] = field(default_factory=set)
    confirmed_by: str | None = None
    window_done: bool = False


class SmokeDetector(Detector):
    """Smoke and fire for the smoke alarms of one building (or one household without one).

    Parameters
    ----------
    scope
        The building id, or the household id when it has no building.
    site
        The site of the building.
    config
        :class:`~detectors.config.SmokeConfig`.

    Notes
    -----
    Each incident has a subject: the household of the alarm, or for a detector of a shared
    space (no household) the device itself. Two detectors in alarm within the window confirm
    each other's incidents when they are of the same household, or one is in a shared space
    of the building. Readings of a device older than its newest
    reading are stale and ignored: the device has already said something newer.

    Examples
    --------
    >>> from safehood.protocol import Message, Placement, SmokeReading
    >>> detector = SmokeDetector("h1", site="s1")
    >>> def smoke(device, ts_ms, level):
    ...     return Message.from_reading(SmokeReading(ts=ts_ms, smoke=level),
    ...                                 Placement(device, "s1", household="h1"))
    >>> [(d.action.value, d.type.value) for d in detector.process_one(smoke("k", 0, 9.0))]
    [('raise', 'smoke')]
    >>> [(d.action.value, d.type.value) for d in detector.process_one(smoke("l", 20_000, 8.5))]
    [('raise', 'fire'), ('update', 'smoke')]

    Burnt toast: one detector, cleared within the window, is a nuisance.

    >>> detector = SmokeDetector("h1", site="s1")
    >>> _ = detector.process_one(smoke("k", 0, 9.0))
    >>> detector.process_one(smoke("k", 30_000, 0.2))
    []
    >>> [(d.action.value, d.nuisance) for d in detector.advance(detector.deadline_ms)]
    [('clear', True)]
    """

    kinds = frozenset({"smoke"})
    channels = frozenset({"telemetry", "event"})  # a status says nothing it uses

    def __init__(self, scope: str, *, site: str, config: SmokeConfig | None = None) -> None:
        self.scope = scope
        self.site = site
        self.config = config or SmokeConfig()
        self._sustain_ms = int(self.config.sustain_s * MS_PER_S)
        self._silent_sustain_ms = self._sustain_ms + int(self.config.clock_skew_s * MS_PER_S)
        self._alarms: dict[str, _Alarm] = {}
        self._incidents: dict[str, _Incident] = {}

    # -- timers -----------------------------------------------------------------------

    @property
    def deadline_ms(self) -> int | None:
        timers = [t for t, _, _ in self._timers()]
        return min(timers) if timers else None

    def _timers(self) -> list[tuple[int, str, str]]:
        out: list[tuple[int, str, str]] = []
        for incident in self._incidents.values():
            if not incident.window_done:
                out.append((incident.window_end_ms, "window", incident.subject))
            if incident.confirmed_by is None:
                for device_id in sorted(incident.devices):
                    alarm = self._alarms[device_id]
                    if alarm.alarming and alarm.alarm_since is not None:
                        # The detector's own readings confirm at ``sustain_s`` by its own
                        # clock (process_one); the timer is for one that fell silent while in
                        # alarm, and waits out the clock skew between devices, so that a
                        # detector whose clock runs behind the site's is not confirmed on the
                        # others' time while its own readings are still to come.
                        out.append((alarm.alarm_since + self._silent_sustain_ms, "sustain",
                                    device_id))
        return out

    def advance(self, now_ms: int) -> Decisions:
        out: Decisions = []
        while True:
            due = sorted(t for t in self._timers() if t[0] <= now_ms)
            if not due:
                return out
            deadline, what, key = due[0]
            if what == "sustain":
                incident = self._incidents[self._alarms[key].subject]
                out += self._confirm(incident, deadline, "sustained", key)
            else:
                out += self._window_end(self._incidents[key], deadline)

    def _window_end(self, incident: _Incident, ts_ms: int) -> Decisions:
        incident.window_done = True
        if incident.confirmed_by is not None or self._any_alarming(incident):
            return []
        return self._close(incident, ts_ms)

    # -- messages ---------------------------------------------------------------------

    def process_one(self, message: Message) -> Decisions:
        level = self._level(message)
        reading = message.reading
        temp = reading.temp_c if isinstance(reading, SmokeReading) else None
        if level is None and temp is None:
            return []
        alarm = self._alarm_of(message)
        if alarm.last_ms is not None and message.ts_ms < alarm.last_ms:
            return []
        alarm.last_ms = message.ts_ms
        alarm.room = message.room or alarm.room
        out: Decisions = []
        since = alarm.alarm_since
        if (alarm.alarming and since is not None
                and message.ts_ms >= since + self._sustain_ms):
            # In alarm for sustain_s by the detector's own clock, whatever this reading says.
            out += self._confirm(self._incidents[alarm.subject], message.ts_ms, "sustained",
                                 alarm.device_id)
        if level == "alarm" or (isinstance(level, float) and level >= self.config.alarm_obscuration):
            value = level if isinstance(level, float) else None
            out += self._alarm_on(alarm, message.ts_ms, value)
        elif level == "clear" or (
            isinstance(level, float) and level < self.config.clear_obscuration
        ):
            out += self._alarm_off(alarm, message.ts_ms)
        if temp is not None:
            out += self._temperature(alarm, message.ts_ms, temp)
        return out

    def _level(self, message: Message) -> float | str | None:
        reading = message.reading
        if isinstance(reading, DeviceEvent):
            return reading.event if reading.event in ("alarm", "clear") else None
        if isinstance(reading, SmokeReading):
            return reading.smoke
        return None

    def _alarm_of(self, message: Message) -> _Alarm:
        alarm = self._alarms.get(message.device_id)
        if alarm is None:
            subject = message.household or message.device_id
            alarm = _Alarm(message.device_id, subject, message.household)
            self._alarms[message.device_id] = alarm
        return alarm

    def _alarm_on(self, alarm: _Alarm, ts_ms: int, level: float | None) -> Decisions:
        out: Decisions = []
        if not alarm.alarming:
            alarm.alarming = True
            alarm.alarm_since = ts_ms
            alarm.first_level = level
            alarm.peak_level = level
            incident = self._incidents.get(alarm.subject)
            if incident is None:
                window_ms = int(self.config.verify_window_s * MS_PER_S)
                incident = _Incident(alarm.subject, alarm.household, ts_ms, ts_ms + window_ms,
                                     alarm.device_id)
                self._incidents[alarm.subject] = incident
                incident.devices.add(alarm.device_id)
                out.append(self._smoke(DecisionAction.RAISE, incident, ts_ms, alarm))
            else:
                incident.devices.add(alarm.device_id)
            out += self._second_detector(alarm, ts_ms)
            return out
        if level is not None:
            alarm.peak_level = max(alarm.peak_level or level, level)
            first = alarm.first_level
            if first is not None and level >= first * self.config.rise_factor:
                out += self._confirm(self._incidents[alarm.subject], ts_ms, "rising",
                                     alarm.device_id)
        return out

    def _second_detector(self, alarm: _Alarm, ts_ms: int) -> Decisions:
        """Two detectors alarming within the window confirm each other when they are of the
        same household, or one of them is in a shared space of the building (a stairwell).
        Kitchens of two households do not: at dinner time two of them burn food now and
        then, independently."""
        window_ms = int(self.config.verify_window_s * MS_PER_S)
        others = [
            other for other in self._alarms.values()
            if other.device_id != alarm.device_id and other.alarm_since is not None
            and (other.alarming or ts_ms - other.alarm_since <= window_ms)
            and other.subject in self._incidents
            and (other.household == alarm.household or other.household is None
                 or alarm.household is None)
        ]
        if not others:
            return []
        out: Decisions = []
        for subject in dict.fromkeys([alarm.subject] + [o.subject for o in others]):
            out += self._confirm(self._incidents[subject], ts_ms, "second_detector",
                                 alarm.device_id)
        return out

    def _alarm_off(self, alarm: _Alarm, ts_ms: int) -> Decisions:
        if not alarm.alarming:
            return []
        alarm.alarming = False
        incident = self._incidents.get(alarm.subject)
        if incident is None or self._any_alarming(incident):
            return []
        if incident.confirmed_by is None and not incident.window_done:
            return []  # decided at the end of the window, in case it comes back
        return self._close(incident, ts_ms)

    def _temperature(self, alarm: _Alarm, ts_ms: int, temp: float) -> Decisions:
        baseline_ms = int(self.config.temp_baseline_s * MS_PER_S)
        temps = alarm.temps
        while temps and temps[0][0] < ts_ms - baseline_ms:
            temps.popleft()
        incident = self._incidents.get(alarm.subject)
        if incident is None or incident.confirmed_by is not None or not alarm.alarming:
            temps.append((ts_ms, temp))
            return []
        # The baseline is only needed while alarming: keep the common path cheap.
        baseline = min((t for _, t in temps), default=temp)
        temps.append((ts_ms, temp))
        if temp >= self.config.temp_fixed_c or temp - baseline >= self.config.temp_rise_c:
            return self._confirm(incident, ts_ms, "temperature", alarm.device_id)
        return []

    # -- decisions --------------------------------------------------------------------

    def _any_alarming(self, incident: _Incident) -> bool:
        return any(self._alarms[d].alarming for d in incident.devices)

    def _confirm(self, incident: _Incident, ts_ms: int, reason: str, device_id: str) -> Decisions:
        if incident.confirmed_by is not None:
            return []
        incident.confirmed_by = reason
        alarm = self._alarms[device_id]
        return [
            self._fire(DecisionAction.RAISE, incident, ts_ms, alarm),
            self._smoke(DecisionAction.UPDATE, incident, ts_ms, alarm),
        ]

    def _close(self, incident: _Incident, ts_ms: int) -> Decisions:
        del self._incidents[incident.subject]
        alarm = self._alarms[incident.first_device]
        out = [self._smoke(DecisionAction.CLEAR, incident, ts_ms, alarm,
                           nuisance=incident.confirmed_by is None)]
        if incident.confirmed_by is not None:
            out.append(self._fire(DecisionAction.CLEAR, incident, ts_ms, alarm))
        return out

    def _evidence(self, incident: _Incident, alarm: _Alarm) -> dict[str, object]:
        evidence: dict[str, object] = {
            "devices": sorted(incident.devices),
            "started_ms": incident.started_ms,
            "level": alarm.peak_level,
            "room": alarm.room,
        }
        if alarm.temps:
            evidence["temp_c"] = alarm.temps[-1][1]
        if incident.confirmed_by is not None:
            evidence["confirmed_by"] = incident.confirmed_by
        return evidence

    def _smoke(
        self, action: DecisionAction, incident: _Incident, ts_ms: int, alarm: _Alarm,
        nuisance: bool = False,
    ) -> AlertDecision:
        return AlertDecision(
            action=action, type=AlertType.SMOKE, severity=SMOKE_SEVERITY,
            subject=incident.subject, site=self.site, ts_ms=ts_ms, household=incident.household,
            device_id=incident.first_device, evidence=tidy_evidence(self._evidence(incident, alarm)),
            confirmed=incident.confirmed_by is not None, nuisance=nuisance,
        )

    def _fire(
        self, action: DecisionAction, incident: _Incident, ts_ms: int, alarm: _Alarm
    ) -> AlertDecision:
        return AlertDecision(
            action=action, type=AlertType.FIRE, severity=FIRE_SEVERITY, subject=incident.subject,
            site=self.site, ts_ms=ts_ms, household=incident.household, device_id=alarm.device_id,
            evidence=tidy_evidence(self._evidence(incident, alarm)),
        )


def _smoke_scope(device: Device, view: RegistryView) -> str:
    # One incident per building: a second sensor there confirms a fire.
    building = view.building_group(device)
    if building:
        return f"building:{building}"
    return f"household:{device.household}" if device.household else f"device:{device.device_id}"


SMOKE_RULE = Rule(
    RULE_SMOKE, "building", SmokeDetector.kinds, _smoke_scope,
    lambda scope, device, view: SmokeDetector(scope, site=device.site, config=view.config.smoke),
    channels=SmokeDetector.channels,
)
