"""``night_wandering``: a resident with dementia leaves home at night and is not back soon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from safehood.protocol import (
    AlertDecision,
    AlertType,
    DecisionAction,
    Device,
    DeviceEvent,
    Message,
    MotionReading,
    Severity,
    SmokeReading,
    in_window,
)

from .base import (
    Decisions,
    Detector,
    HouseholdScope,
    RegistryView,
    Rule,
    WatchedHomes,
    tidy_evidence,
    time_before,
)
from .community_prior import DeparturePrior
from .config import DoorConfig, NightWanderingConfig
from .const import MS_PER_S, RULE_NIGHT_WANDERING
from .door import ArrivalTracker, door_state

NIGHT_WANDERING_SEVERITY = Severity.SEVERE


@dataclass(slots=True)
class _Outing:
    door: str
    opened_ms: int
    closed_ms: int | None = None
    raised: bool = False


class NightWanderingDetector(Detector):
    """Watches the front doors of a household where a resident with dementia lives.

    When a front door opens during the household's night hours, the resident is taken to
    have gone out, unless the lock was just unlocked from outside (someone coming home) or a
    smoke alarm of the household went off within ``evacuation_s`` (getting out of a fire). They
    count as back when, within ``return_s``, the front door opens again (coming in) or, where
    they live alone, there is movement inside once the door has been shut for
    ``inside_after_close_s`` (they never left). Otherwise ``night_wandering`` (Severe) is
    raised at ``opened + return_s``; it clears when they are back.

    Leaving at night is the household's routine, not wandering, when at that local hour it
    goes out on at least ``usual_share`` of days: the community's share (a
    :class:`~detectors.community_prior.DeparturePrior` of the site's households) until the
    household has days of its own, blended with its own as they accumulate. Leaving in the
    last ``morning_s`` of the night, after being up and about for ``up_for_s``, is the
    start of the day. Openings that were raised are not learned as routine.

    Which resident left cannot be seen from a door contact; the alert names the household's
    resident with dementia when there is exactly one.

    Parameters
    ----------
    household
        The household.
    front_doors
        Device ids of its doors to the outside.
    config
        :class:`~detectors.config.NightWanderingConfig`.
    door_config
        :class:`~detectors.config.DoorConfig`: how the lock tells arrivals from exits.
    smoke_alarm_level
        Smoke obscuration (%/m) that is an alarm (people leaving then are evacuating).
    prior
        When the site's households go out, shared by their detectors; this detector
        records its household's departures into it. A private one when None.

    Examples
    --------
    >>> from datetime import time
    >>> from zoneinfo import ZoneInfo
    >>> from safehood.protocol import DeviceEvent, Message, Placement, Resident
    >>> home = HouseholdScope("h1", "s1", None, True, ZoneInfo("UTC"), time(22), time(6),
    ...                       (Resident("r1", "h1", "Li Wei", elderly=True, dementia=True),))
    >>> detector = NightWanderingDetector(home, front_doors={"h1-door"})
    >>> three_am = 1_700_017_200_000  # 2023-11-15 03:00 UTC
    >>> opened = Message.from_reading(DeviceEvent(ts=three_am, kind="door", event="open"),
    ...                               Placement("h1-door", "s1", household="h1"))
    >>> detector.process_one(opened), (detector.deadline_ms - three_am) // 60_000
    ([], 10)
    >>> [(d.action.value, d.resident) for d in detector.advance(detector.deadline_ms)]
    [('raise', 'r1')]
    """

    kinds = frozenset({"door", "motion", "smoke"})

    def __init__(
        self,
        household: HouseholdScope,
        front_doors: set[str] | frozenset[str],
        config: NightWanderingConfig | None = None,
        door_config: DoorConfig | None = None,
        smoke_alarm_level: float = 8.0,
        prior: DeparturePrior | None = None,
    ) -> None:
        self.household = household
        self.front_doors = frozenset(front_doors)
        self.config = config or NightWanderingConfig()
        self._outing: _Outing | None = None
        self._closed_ms: dict[str, int] = {}
        self._arrivals = ArrivalTracker(door_config)
        self._smoke_ms: int | None = None
        self.smoke_alarm_level = smoke_alarm_level
        self.prior = prior if prior is not None else DeparturePrior()
        self._days: set[date] = set()
        self._departures: list[set[date]] = [set() for _ in range(24)]
        self._up_since_ms: int | None = None
        self._moved_ms: int | None = None  # last movement outside the bedroom

    @property
    def deadline_ms(self) -> int | None:
        outing = self._outing
        if outing is None or outing.raised:
            return None
        return outing.opened_ms + int(self.config.return_s * MS_PER_S)

    def process_one(self, message: Message) -> Decisions:
        day = self.household.local(message.ts_ms).date()
        if day not in self._days:
            self._days.add(day)
            self.prior.observe_day(self.household.id, day)
        if message.kind == "smoke":
            if _smoke_alarm(message, self.smoke_alarm_level):
                self._smoke_ms = max(self._smoke_ms or message.ts_ms, message.ts_ms)
            return []
        if message.kind == "door" and message.device_id in self.front_doors:
            return self._door(message)
        reading = message.reading
        if message.kind == "motion" and (
            message.event == "motion" or (isinstance(reading, MotionReading) and reading.occupancy)
        ):
            self._up(message)
            return self._inside(message)
        return []

    def _door(self, message: Message) -> Decisions:
        # Openings and closings are facts whatever order they arrive in (a retried event
        # comes late): an opening is never "stale" here.
        self._arrivals.observe(message)
        state = door_state(message)
        if state is None:
            return []
        door, ts = message.device_id, message.ts_ms
        outing = self._outing
        if not state:
            self._closed_ms[door] = max(self._closed_ms.get(door, ts), ts)
            if outing is not None and outing.door == door and ts >= outing.opened_ms:
                outing.closed_ms = max(outing.closed_ms or ts, ts)
            return []
        if outing is not None:
            # Opened again after it was shut: the resident is coming back in. (The same
            # opening reported again, as event and telemetry, has not been shut in between.)
            if outing.closed_ms is not None and ts > outing.closed_ms:
                return self._back(message, "door")
            return []
        if self._arrivals.is_arrival(ts):
            return []  # unlocked from outside just before: someone is coming home
        evacuation_ms = int(self.config.evacuation_s * MS_PER_S)
        if self._smoke_ms is not None and 0 <= ts - self._smoke_ms <= evacuation_ms:
            return []  # getting out of a fire
        if self.household.is_night(ts) and not self._routine(ts):
            closed = self._closed_ms.get(door)
            self._outing = _Outing(door, ts, closed if closed is not None and closed >= ts
                                   else None)
        else:
            self._record(ts)
        return []

    def _up(self, message: Message) -> None:
        """Follow how long the resident has been up and about (movement outside the
        bedroom with no long quiet in between)."""
        if (message.room or "").startswith("bedroom"):
            return
        ts, moved = message.ts_ms, self._moved_ms
        if moved is None or ts - moved > int(self.config.quiet_s * MS_PER_S):
            self._up_since_ms = ts
        if moved is None or ts > moved:
            self._moved_ms = ts

    def _routine(self, ts_ms: int) -> bool:
        """Whether leaving at ``ts_ms`` (in the night hours) is what the household does."""
        config, household = self.config, self.household
        local = household.local(ts_ms)
        quiet_ms = int(config.quiet_s * MS_PER_S)
        if (
            self._up_since_ms is not None and self._moved_ms is not None
            and ts_ms - self._moved_ms <= quiet_ms
            and self._moved_ms - self._up_since_ms >= int(config.up_for_s * MS_PER_S)
            and in_window(local.time(), time_before(household.night_end, config.morning_s),
                          household.night_end)
        ):
            return True
        community = (self.prior.share(local.hour)
                     if self.prior.days >= config.prior_min_days else 0.0)
        days = len(self._days)
        own = len(self._departures[local.hour]) / days
        weight = days / (days + config.prior_days)
        return weight * own + (1 - weight) * community >= config.usual_share

    def _record(self, opened_ms: int) -> None:
        local = self.household.local(opened_ms)
        self._departures[local.hour].add(local.date())
        self.prior.record_departure(self.household.id, local.date(), local.hour)

    def _inside(self, message: Message) -> Decisions:
        outing = self._outing
        if outing is None or outing.closed_ms is None or len(self.household.residents) != 1:
            return []
        if message.ts_ms - outing.closed_ms < int(self.config.inside_after_close_s * MS_PER_S):
            return []
        return self._back(message, "motion")

    def _back(self, message: Message, how: str) -> Decisions:
        outing, self._outing = self._outing, None
        if outing is None:
            return []
        if not outing.raised:
            self._record(outing.opened_ms)  # back in time: an outing, not an incident
            return []
        return [self._decision(DecisionAction.CLEAR, message.ts_ms, outing, back=how)]

    def advance(self, now_ms: int) -> Decisions:
        deadline = self.deadline_ms
        if deadline is None or now_ms < deadline or self._outing is None:
            return []
        self._outing.raised = True
        return [self._decision(DecisionAction.RAISE, deadline, self._outing)]

    def _decision(
        self, action: DecisionAction, ts_ms: int, outing: _Outing, back: str | None = None
    ) -> AlertDecision:
        at_risk = self.household.at_risk_residents
        evidence: dict[str, object] = {
            "door": outing.door, "opened_ms": outing.opened_ms,
            "away_s": (ts_ms - outing.opened_ms) / MS_PER_S,
            "residents_at_risk": [r.id for r in at_risk],
        }
        if back is not None:
            evidence["back_by"] = back
        return AlertDecision(
            action=action, type=AlertType.NIGHT_WANDERING, severity=NIGHT_WANDERING_SEVERITY,
            subject=at_risk[0].id if len(at_risk) == 1 else self.household.id,
            site=self.household.site, ts_ms=ts_ms, household=self.household.id,
            resident=at_risk[0].id if len(at_risk) == 1 else None, device_id=outing.door,
            evidence=tidy_evidence(evidence),
        )


def _smoke_alarm(message: Message, level: float) -> bool:
    reading = message.reading
    if isinstance(reading, DeviceEvent):
        return reading.event == "alarm"
    return isinstance(reading, SmokeReading) and reading.smoke >= level


_HOMES = WatchedHomes(lambda home: bool(home.at_risk_residents))


def _night_wandering(household: str, device: Device, view: RegistryView) -> NightWanderingDetector:
    config = view.config
    return NightWanderingDetector(
        view.households[household], view.front_doors(household),
        config=config.night_wandering, door_config=config.door,
        smoke_alarm_level=config.smoke.alarm_obscuration,
        prior=view.site_state(device.site, DeparturePrior),
    )


def _rebind(detector: NightWanderingDetector, view: RegistryView) -> bool:
    if not _HOMES.rebind(detector, view):
        return False
    detector.front_doors = view.front_doors(detector.household.id)
    return True


NIGHT_WANDERING_RULE = Rule(
    RULE_NIGHT_WANDERING, "household", NightWanderingDetector.kinds, _HOMES.scope_of,
    _night_wandering, rebind=_rebind,
)
