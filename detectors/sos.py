"""``sos``: a help button or a wearable's SOS, raised at once."""

from __future__ import annotations

from safehood.protocol import AlertType, DecisionAction, Message, Severity

from .base import Decisions, Rule, ScopedDetector, person_of
from .config import SosConfig
from .const import MS_PER_S, RULE_SOS

SOS_SEVERITY = Severity.EXTREME
"""A person asked for help: nothing can confirm or refute it, so it is treated as the worst."""


class SosDetector(ScopedDetector):
    """Raises ``sos`` (Extreme) on every ``sos`` event of a person's button or wearable.

    One detector per person (``subject`` is the resident, or the device when it belongs to
    no one). One incident is one alert: a press within ``repeat_s`` of the person's previous
    press (any of their devices) is the same incident and updates the alert (the count of
    presses grows), so a person pressing every few minutes for an hour makes one alert. A
    press after a quiet gap of more than ``repeat_s`` is a new incident and is raised as one,
    however recently the last alert was opened. A late press of an older incident is raised on
    its own and leaves the current incident's count alone. Presses are never dropped. The
    alert is never cleared by the detector: someone has to answer it. Whether a raise joins
    the person's open alert is the alert manager's call: it does while that alert's last
    press is within the sos incident window (an hour, the alert policy's
    ``incident_window_s``), else the raise is a new alert.

    Parameters
    ----------
    subject
        Resident id, or device id for a device of no one.
    site, household
        Where the person lives.
    config
        :class:`~detectors.config.SosConfig`.

    Examples
    --------
    >>> from safehood.protocol import DeviceEvent, Message, Placement
    >>> detector = SosDetector("r001", site="s1", household="h001")
    >>> press = Message.from_reading(DeviceEvent(ts=1_000, kind="button", event="sos"),
    ...                              Placement("b1", "s1", household="h001", resident="r001"))
    >>> [(d.action.value, d.type.value, d.severity.value) for d in detector.process_one(press)]
    [('raise', 'sos', 'Extreme')]
    >>> import dataclasses
    >>> again = dataclasses.replace(press, ts_ms=31_000)
    >>> [(d.action.value, d.evidence["presses"]) for d in detector.process_one(again)]
    [('update', 2)]
    """

    kinds = frozenset({"button", "wearable"})
    channels = frozenset({"event"})  # a status says nothing it uses

    def __init__(
        self, subject: str, *, site: str, household: str | None, config: SosConfig | None = None
    ) -> None:
        super().__init__(subject, site=site, household=household)
        self.config = config or SosConfig()
        self._last_ms: int | None = None
        self._presses = 0

    def process_one(self, message: Message) -> Decisions:
        if message.channel != "event" or message.event != "sos":
            return []
        repeat_ms = int(self.config.repeat_s * MS_PER_S)
        repeat = self._last_ms is not None and abs(message.ts_ms - self._last_ms) <= repeat_ms
        latest = self._last_ms is None or message.ts_ms >= self._last_ms
        presses = self._presses + 1 if repeat else 1
        if repeat or latest:
            self._presses = presses
        self._last_ms = message.ts_ms if self._last_ms is None else max(self._last_ms, message.ts_ms)
        return [self.scoped_decision(
            DecisionAction.UPDATE if repeat else DecisionAction.RAISE,
            AlertType.SOS, SOS_SEVERITY, message.ts_ms,
            resident=message.resident, device_id=message.device_id,
            evidence={"source": message.kind, "event": "sos", "presses": presses},
        )]


SOS_RULE = Rule(
    RULE_SOS, "person", SosDetector.kinds, person_of,
    lambda person, device, view: SosDetector(
        person, site=device.site, household=device.household, config=view.config.sos),
    channels=SosDetector.channels,
)
