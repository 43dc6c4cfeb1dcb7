"""``fall`` from a wearable: its own ``fall`` event, and its accelerometer windows.

A possible fall is the wearable's ``fall`` event, or in its accelerometer samples an impact
(a peak of the acceleration magnitude of at least ``impact_g``) followed by stillness (the
magnitude barely varies) in a new posture (the direction of gravity turned by at least
``posture_change_deg``); with ``method: learned``, a window that the trained fall classifier
(:mod:`safehood.learning`) scores at or above its threshold takes the place of those three
rules. It is raised at once as a Severe, unconfirmed ``fall``. An impact
after which the band lies dead still (no tremor, no breathing) or stops reporting a heart
rate is the band falling off a wrist: it is no fall, and a ``fall`` event of the band's own
detector just after it is not believed either. If no
movement follows for ``long_lie_s``, the wearer is lying where they fell ("long lie"): the
alert is updated to a confirmed, Extreme fall. Movement before that is noted on the alert,
which stays open for someone to check on them.

One fall is one incident and one alert. The incident lasts until ``incident_s`` after its
last news (the fall, a repeat of it, the long lie, getting up). Within it, another impact or
the band's own event updates the same alert (falling again while getting up is common), and
so does getting up. After it, the detector forgets the incident: movement is no news (the
wearer moving hours later must not reopen an alert a person has resolved meanwhile, nor make
a new one), and only a new fall, an impact pattern after that quiet gap, raises a new alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from safehood.learning import (
    FEATURE_IMPACT_G,
    FallClassifier,
    WindowBatch,
    aftermath,
    tail_directions,
)
from safehood.protocol import (
    AlertDecision,
    AlertType,
    DecisionAction,
    Message,
    Severity,
    WearableWindow,
)

from .base import Decisions, Rule, ScopedDetector, person_of
from .config import FallConfig
from .const import MS_PER_S, RULE_FALL

POSSIBLE_FALL_SEVERITY = Severity.SEVERE
CONFIRMED_FALL_SEVERITY = Severity.EXTREME

@dataclass(frozen=True, slots=True)
class WindowFeatures:
    """What the fall rules read from one accelerometer window."""

    peak_g: float
    impact_at_s: float | None
    std_g: float
    still_after: bool | None
    after_std_g: float | None
    posture_change_deg: float | None
    tail_direction: tuple[float, float, float] | None
    turn_deg: float | None = None
    peak_at_s: float | None = None


def window_features(
    samples: Sequence[tuple[float, float, float]] | np.ndarray,
    hz: float,
    config: FallConfig,
    previous_direction: tuple[float, float, float] | None = None,
) -> WindowFeatures:
    """Impact, stillness and posture change of one window of ``[x, y, z]`` samples (g).

    ``still_after``, ``after_std_g`` and ``posture_change_deg`` are None when the window has no
    impact, or too little of it follows the impact to tell. The posture before the impact is
    the mean direction of the samples before it (leaving out the half second of falling just
    before it), or ``previous_direction`` (the end of the last window) when the impact opens
    the window. ``turn_deg`` is how far the direction of gravity turned from
    ``previous_direction`` (or the window's first second) to the window's last second.
    The features themselves are :func:`safehood.learning.aftermath`'s, on a batch of one.

    Examples
    --------
    >>> config = FallConfig()
    >>> upright = [(0.0, 0.0, 1.0)] * 50
    >>> lying = [(1.0, 0.0, 0.0)] * 50
    >>> features = window_features(upright + [(2.0, 2.0, 1.0)] + lying, hz=25, config=config)
    >>> features.peak_g, features.still_after, round(features.posture_change_deg)
    (3.0, True, 90)
    >>> features.after_std_g  # a perfectly still body: no real wearer is
    0.0
    """
    return _features(WindowBatch.of([samples], hz), hz, config, previous_direction)


def _features(
    batch: WindowBatch, hz: float, config: FallConfig,
    previous_direction: tuple[float, float, float] | None,
) -> WindowFeatures:
    """:func:`window_features` of a batch of one window sampled at ``hz``."""
    if batch.lengths[0] == 0:
        return WindowFeatures(0.0, None, 0.0, None, None, None, previous_direction)
    found = aftermath(batch, config.impact_g, only_impacts=True)
    peak = float(found.peak_g[0])
    std = float(found.std_g[0])
    tail_direction = _vector(found.tail_direction[0])
    head_direction = previous_direction or _vector(found.head_direction[0])
    turn = (_angle_deg(head_direction, tail_direction)
            if head_direction is not None and tail_direction is not None else None)
    if not found.has_impact[0]:
        return WindowFeatures(peak, None, std, None, None, None, tail_direction, turn,
                              int(found.impact[0]) / hz)
    still_after: bool | None = None
    after_std: float | None = None
    posture: float | None = None
    if found.after_count[0] >= max(2, int(config.still_after_s * hz)):
        after_std = float(found.after_std_g[0])
        still_after = after_std < config.still_std_g
        before = _vector(found.before_direction[0]) or previous_direction
        after_direction = _vector(found.after_direction[0])
        if before is not None and after_direction is not None:
            posture = _angle_deg(before, after_direction)
    impact_at_s = int(found.impact[0]) / hz
    return WindowFeatures(peak, impact_at_s, std, still_after, after_std, posture,
                          tail_direction, turn, impact_at_s)


def accelerometer_says_fall(features: WindowFeatures, config: FallConfig) -> bool:
    """The rule path's possible fall from one window's accelerometer alone: an impact, then
    stillness of a worn band (not dead still) in a posture turned far enough."""
    if features.impact_at_s is None or not features.still_after:
        return False
    if features.after_std_g is not None and features.after_std_g < config.worn_min_std_g:
        return False
    posture = features.posture_change_deg
    return posture is None or posture >= config.posture_change_deg


def _vector(row: np.ndarray) -> tuple[float, float, float] | None:
    # In plain floats: numpy's per-element calls cost more than the window's own features.
    x, y, z = row.tolist()
    if x != x or y != y or z != z:  # NaN: no direction
        return None
    return (x, y, z)


def _angle_deg(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """:func:`~safehood.learning.angle_deg` of two vectors, to the bit: numpy sums three
    products left to right, and the arc cosine is its own."""
    dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    return float(np.degrees(np.arccos(min(max(dot, -1.0), 1.0))))


class FallDetector(ScopedDetector):
    """Falls of the wearer of one wearable.

    A possible fall found in an accelerometer window is raised at once. The band's own
    ``fall`` event is raised ``veto_s`` after it happened unless the window of that moment
    shows the band was dropped (the window may arrive after the event); if the window shows
    the fall, it is raised from the window with both sources. Either way the decision
    carries the time of the fall.

    Parameters
    ----------
    subject
        The resident wearing it, or the device id when unknown.
    site, household
        Where the wearer lives.
    config
        :class:`~detectors.config.FallConfig`.
    classifier
        A trained fall classifier (``method: learned``): a window it scores at or above its
        threshold is a possible fall, in place of the impact, stillness and posture rules.
        None keeps the rules. Either way a band found dropped (dead still, or no heart rate)
        raises nothing, and only a long lie confirms the fall.

    Examples
    --------
    >>> from safehood.protocol import DeviceEvent, Message, Placement
    >>> detector = FallDetector("r001", site="s1", household="h1")
    >>> event = Message.from_reading(DeviceEvent(ts=0, kind="wearable", event="fall"),
    ...                              Placement("band", "s1", household="h1", resident="r001"))
    >>> detector.process_one(event), detector.deadline_ms
    ([], 10000)
    >>> [(d.action.value, d.severity.value, d.ts_ms) for d in detector.advance(10_000)]
    [('raise', 'Severe', 0)]
    >>> detector.deadline_ms
    120000
    >>> [(d.action.value, d.severity.value, d.confirmed) for d in detector.advance(120_000)]
    [('update', 'Extreme', True)]
    """

    kinds = frozenset({"wearable"})
    channels = frozenset({"telemetry", "event"})  # a status says nothing it uses

    def __init__(
        self, subject: str, *, site: str, household: str | None, config: FallConfig | None = None,
        classifier: FallClassifier | None = None,
    ) -> None:
        super().__init__(subject, site=site, household=household)
        self.classifier = classifier
        self.config = config or FallConfig()
        self.fall_ms: int | None = None  # the latest possible fall
        self._down = False  # on the floor since fall_ms, as far as the band can tell
        self._confirmed = False  # the latest fall became a long lie
        self._news_ms: int | None = None  # the latest change of the incident's alert
        self._pending: Message | None = None  # the band's own fall event, awaiting its window
        self._device_id: str | None = None
        self._resident: str | None = None
        self._evidence: dict[str, object] = {}
        # The direction of gravity at the end of the last window.
        self._direction: tuple[float, float, float] | None = None
        self._last_window_ms: int | None = None
        self._reports_hr = False
        self._dropped_ms: list[int] = []

    @property
    def _veto_ms(self) -> int:
        return int(self.config.veto_s * MS_PER_S)

    @property
    def deadline_ms(self) -> int | None:
        deadlines = []
        if self._pending is not None:
            deadlines.append(self._pending.ts_ms + self._veto_ms)
        if self.fall_ms is not None and self._down and not self._confirmed:
            deadlines.append(self.fall_ms + int(self.config.long_lie_s * MS_PER_S))
        return min(deadlines) if deadlines else None

    def process_one(self, message: Message) -> Decisions:
        if message.channel == "event" and message.event == "fall":
            return self._fall_event(message)
        window = message.reading
        if not isinstance(window, WearableWindow) or not window.accel:
            return []
        has_hr = window.hr_bpm is not None
        self._reports_hr = self._reports_hr or has_hr
        stale = self._last_window_ms is not None and message.ts_ms < self._last_window_ms
        batch = WindowBatch.of([window.accel], window.hz)
        if not self._down and self._passes_over(batch):
            if not stale:
                self._last_window_ms = message.ts_ms
                # Only the direction is kept: a window's samples held for every band
                # would cost ~1.8 KiB a wearable.
                self._direction = _vector(tail_directions(batch)[0])
            return []
        features = _features(batch, window.hz, self.config,
                             None if stale else self._direction)
        if not stale:
            self._last_window_ms = message.ts_ms
            self._direction = features.tail_direction
        if features.impact_at_s is not None and features.still_after \
                and not self._worn(features, has_hr):
            # Whatever calls the fall, a band lying dead still after an impact fell off: its
            # own fall event just after is not believed either.
            return self._dropped(message.ts_ms + int(features.impact_at_s * MS_PER_S))
        if self.classifier is not None:
            # The classifier scores a window without an impact 0: no need to ask it.
            score = (self.classifier.score_one(window.accel, window.hz)
                     if features.peak_g >= FEATURE_IMPACT_G else 0.0)
            if score >= self.classifier.threshold and features.peak_at_s is not None:
                impact_ms = message.ts_ms + int(features.peak_at_s * MS_PER_S)
                if not self._worn(features, has_hr):
                    return self._dropped(impact_ms)
                if not features.still_after and not stale:
                    # The window ends before the body settles: its last second is no posture
                    # to measure getting up from; the next window's own first second is.
                    self._direction = None
                return self._possible_fall(message, impact_ms, {
                    "source": "accelerometer", "method": "learned", "score": round(score, 4),
                    "threshold": round(self.classifier.threshold, 4), "peak_g": features.peak_g,
                    "posture_change_deg": features.posture_change_deg,
                })
        elif accelerometer_says_fall(features, self.config) and features.impact_at_s is not None:
            impact_ms = message.ts_ms + int(features.impact_at_s * MS_PER_S)
            return self._possible_fall(message, impact_ms, {
                "source": "accelerometer", "peak_g": features.peak_g,
                "posture_change_deg": features.posture_change_deg,
            })
        if self._down and self.fall_ms is not None and message.ts_ms > self.fall_ms \
                and self._moved(features):
            return self._got_up(message) if self._in_incident(message.ts_ms) else self._over()
        return []

    def _passes_over(self, batch: WindowBatch) -> bool:
        """Whether a window of a wearer not down can be passed over unmeasured: one whose
        every sample's magnitude (the features' own) is below the impact level, and below
        the level from which the classifier scores a window above 0.

        Such a window has no impact, so neither the rules nor the dropped-band check can
        find anything in it; the classifier scores it 0, under any threshold above 0; and
        what else process_one reads of it (stillness, turning) matters only to a wearer
        down. Most windows of a band are like this: measuring each cost ~170 us.
        """
        gate_g = self.config.impact_g
        if self.classifier is not None:
            if self.classifier.threshold <= 0:
                return False
            gate_g = min(gate_g, FEATURE_IMPACT_G)
        # NaN is never below: such a window is measured as before.
        return bool(batch.magnitude().max() < gate_g)

    def _fall_event(self, message: Message) -> Decisions:
        ts = message.ts_ms
        if any(abs(ts - dropped) <= self._veto_ms for dropped in self._dropped_ms):
            return []  # the band's own detector was fooled by the band falling off
        if self._in_incident(ts):
            return self._possible_fall(message, ts, {"source": "device"})
        if self._pending is None or ts < self._pending.ts_ms:
            self._pending = message
        return []

    def _dropped(self, impact_ms: int) -> Decisions:
        self._dropped_ms = [*self._dropped_ms[-3:], impact_ms]
        pending = self._pending
        if pending is not None and abs(pending.ts_ms - impact_ms) <= self._veto_ms:
            self._pending = None
        return []

    def _in_incident(self, ts_ms: int) -> bool:
        """Whether ``ts_ms`` belongs to the current incident: from ``long_lie_s`` before the
        fall (a late window of it) to ``incident_s`` after the incident's latest news."""
        if self.fall_ms is None or self._news_ms is None:
            return False
        long_lie_ms = int(self.config.long_lie_s * MS_PER_S)
        incident_ms = int(self.config.incident_s * MS_PER_S)
        return self.fall_ms - long_lie_ms <= ts_ms <= self._news_ms + incident_ms

    def _over(self) -> Decisions:
        self._down = False
        return []

    def _worn(self, features: WindowFeatures, has_hr: bool) -> bool:
        """False when the band lies somewhere on its own: dead still, or no heart rate."""
        if self._reports_hr and not has_hr:
            return False
        return features.after_std_g is None or features.after_std_g >= self.config.worn_min_std_g

    def _moved(self, features: WindowFeatures) -> bool:
        """The wearer moves: the magnitude varies, or the arm turned (getting up)."""
        turned = features.turn_deg is not None and features.turn_deg >= self.config.posture_change_deg
        return features.std_g >= self.config.move_std_g or turned

    def _possible_fall(self, message: Message, ts_ms: int, evidence: dict[str, object]) -> Decisions:
        self._device_id = message.device_id
        self._resident = message.resident
        sources = [evidence["source"]]
        pending = self._pending
        if pending is not None and abs(pending.ts_ms - ts_ms) <= self._veto_ms:
            # The band's own event of this very fall.
            self._pending = None
            sources.append("device")
        if self._in_incident(ts_ms):
            self._news_ms = max(ts_ms, self._news_ms or ts_ms)
            known = self._evidence.get("sources")
            if isinstance(known, list):
                known.extend(source for source in sources if source not in known)
            severity = CONFIRMED_FALL_SEVERITY if self._confirmed else POSSIBLE_FALL_SEVERITY
            return [self._decision(DecisionAction.UPDATE, ts_ms, severity, self._confirmed)]
        self.fall_ms = ts_ms
        self._news_ms = ts_ms
        self._down = True
        self._confirmed = False
        self._evidence = {**evidence, "sources": sources, "fell_at_ms": ts_ms}
        return [self._decision(DecisionAction.RAISE, ts_ms, POSSIBLE_FALL_SEVERITY, False)]

    def _got_up(self, message: Message) -> Decisions:
        self._down = False
        self._news_ms = max(message.ts_ms, self._news_ms or message.ts_ms)
        self._evidence["moved_at_ms"] = message.ts_ms
        severity = CONFIRMED_FALL_SEVERITY if self._confirmed else POSSIBLE_FALL_SEVERITY
        return [self._decision(DecisionAction.UPDATE, message.ts_ms, severity, self._confirmed)]

    def advance(self, now_ms: int) -> Decisions:
        out: Decisions = []
        while (deadline := self.deadline_ms) is not None and deadline <= now_ms:
            pending = self._pending
            if pending is not None and pending.ts_ms + self._veto_ms == deadline:
                self._pending = None
                out += self._possible_fall(pending, pending.ts_ms, {"source": "device"})
                continue
            self._confirmed = True
            self._news_ms = max(deadline, self._news_ms or deadline)
            self._evidence["long_lie_s"] = self.config.long_lie_s
            out.append(self._decision(DecisionAction.UPDATE, deadline, CONFIRMED_FALL_SEVERITY,
                                      True))
        return out

    def _decision(
        self, action: DecisionAction, ts_ms: int, severity: Severity, confirmed: bool
    ) -> AlertDecision:
        return self.scoped_decision(
            action, AlertType.FALL, severity, ts_ms, resident=self._resident,
            device_id=self._device_id, evidence=dict(self._evidence), confirmed=confirmed,
        )


FALL_RULE = Rule(
    RULE_FALL, "person", FallDetector.kinds, person_of,
    lambda person, device, view: FallDetector(
        person, site=device.site, household=device.household, config=view.config.fall,
        classifier=view.fall_classifier),
    channels=FallDetector.channels,
)
