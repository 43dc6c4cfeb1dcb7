"""``inactivity``: no sign of life, for longer than usual, where an elderly person lives alone.

How long a quiet spell is normal depends on the home and the hour: an afternoon nap, a
night's sleep. The detector learns it from the household's own history. For each local
hour of the day it keeps, per day, the longest quiet gap that started in that hour; the
threshold after a sign of life is ``margin`` times the ``quantile`` of those daily longest
gaps (pooled with ``neighbour_hours`` either side), kept within a floor (a higher one at
night) and a ceiling. A new household has no such history: it borrows the same figure from
the community's households (:class:`~detectors.community_prior.CommunityPrior`) and weighs
its own in as its days accumulate. Quiet gaps far longer than the threshold of their time
(possible incidents) are not learned, so that one bad day does not teach the detector to
wait longer.

Sleep is known without history: a quiet that starts in the evening or night after the last
movement was seen in the bedroom may last until a while after the household's night hours
end (bounded by the ceiling), however early the resident went to bed.
"""

from __future__ import annotations

from array import array
from datetime import datetime, timedelta
from typing import Any

from safehood.protocol import (
    AlertDecision,
    AlertType,
    DecisionAction,
    Message,
    Severity,
    in_window,
)

from .base import (
    Decisions,
    Detector,
    HouseholdScope,
    Rule,
    WatchedHomes,
    tidy_evidence,
    time_before,
)
from .community_prior import CommunityPrior
from .config import DoorConfig, InactivityConfig
from .const import MS_PER_DAY, MS_PER_S, RULE_INACTIVITY
from .presence import SIGN_OF_LIFE_KINDS, Presence, SignsOfLife
from .quantiles import linear_quantile

INACTIVITY_SEVERITY = Severity.SEVERE

# A gap more than this many times the threshold of its hour is an incident, not a habit.
_LEARN_LIMIT = 2.0


class InactivityDetector(Detector):
    """No sign of life in one household for longer than its usual quiet at that hour.

    Signs of life: motion (``motion`` events, ``occupancy: true``), a door opened, shut,
    locked or unlocked, water drawn (``flow_lpm`` at or above ``flow_lpm``), a moving
    wearable, an SOS or a fall event. Periodic readings that repeat the same state are not.
    A home whose front door was last shut behind someone leaving (not after an unlock from
    outside), with no movement inside since, is empty (the resident went out, or was taken
    to hospital) and is not watched until someone moves inside again.

    A quiet that starts after the last movement inside was seen in a bedroom (by a motion
    sensor of a room named ``bedroom...``; any motion sensor in a home with none in a
    bedroom seen so far), from ``sleep_lead_s`` before the night hours until they end, is
    sleep: it may last until ``wake_grace_s`` after the night hours end, never beyond
    ``ceiling_s``. A moving wearable (turning over in bed) does not end it.

    Parameters
    ----------
    household
        The household (inactivity is only watched where :attr:`HouseholdScope.watch_inactivity`).
    config
        :class:`~detectors.config.InactivityConfig`.
    door_config
        :class:`~detectors.config.DoorConfig`: how the lock tells arrivals from exits.
    prior
        The community's quiet spells, shared by the site's household detectors; this
        detector records its own into it. A private one when None.

    Examples
    --------
    >>> import dataclasses
    >>> from datetime import time
    >>> from zoneinfo import ZoneInfo
    >>> from safehood.protocol import DeviceEvent, Message, Placement, Resident
    >>> home = HouseholdScope("h1", "s1", None, True, ZoneInfo("UTC"), time(22), time(6),
    ...                       (Resident("r1", "h1", "Wang Fang", elderly=True),))
    >>> detector = InactivityDetector(home)
    >>> noon = 1_700_049_600_000  # 2023-11-15 12:00 UTC
    >>> motion = Message.from_reading(DeviceEvent(ts=noon, kind="motion", event="motion"),
    ...                               Placement("m1", "s1", household="h1"))
    >>> detector.process_one(motion), (detector.deadline_ms - noon) / 3_600_000
    ([], 4.0)
    >>> [(d.action.value, d.evidence["quiet_s"]) for d in detector.advance(detector.deadline_ms)]
    [('raise', 14400.0)]

    Gone to bed at 20:30, before the night hours (22:00-06:00): asleep until 08:00 at most.

    >>> bed = noon + 8 * 3_600_000 + 1_800_000
    >>> detector.process_one(dataclasses.replace(motion, ts_ms=bed, room="bedroom"))[0].action
    <DecisionAction.CLEAR: 'clear'>
    >>> (detector.deadline_ms - bed) / 3_600_000, detector.asleep
    (11.5, True)
    """

    kinds = SIGN_OF_LIFE_KINDS
    channels = frozenset({"telemetry", "event"})  # a status says nothing it uses

    def __init__(
        self,
        household: HouseholdScope,
        config: InactivityConfig | None = None,
        door_config: DoorConfig | None = None,
        prior: CommunityPrior | None = None,
    ) -> None:
        self.household = household
        self.config = config or InactivityConfig()
        self.prior = prior if prior is not None else CommunityPrior()
        #: Whether the quiet since the last sign of life is a night's sleep.
        self.asleep = False
        self._moved_in: str | None = None  # room of the last movement inside; None: not known
        self._bedroom_seen = False
        self.last_activity_ms: int | None = None
        self.raised = False
        self._first_ms: int | None = None
        self._threshold_ms: int | None = None
        self._signs = SignsOfLife(self.config)
        # Hour of day -> the days (ordinals) and, of each, the longest gap that started in
        # that hour (ms), oldest first; made per hour on first use. Arrays of C ints, not
        # tuples in a deque: 12 bytes a spell instead of about 120, and a household keeps
        # up to 24 x history_days of them.
        self._gap_days: dict[int, array[int]] = {}
        self._gaps: dict[int, array[int]] = {}
        # By hour of day: the spells of its neighbourhood of hours in ``_gaps`` and, once
        # asked, their quantile (ms); dropped when a spell is recorded. Each sign of life
        # asks for two thresholds, and a quantile was once a sixth of the engine's time.
        self._own_spells: dict[int, list[int]] = {}
        self._own_quantile: dict[int, float] = {}
        self._last_source: str | None = None
        self._presence = Presence(self.config, door_config)

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "_gap_days" not in state:
            # A checkpoint written when each hour's spells were (day, gap) tuples in a deque.
            spells = state.pop("_gaps")
            state["_gap_days"] = {hour: array("l", [day.toordinal() for day, _ in days])
                                  for hour, days in spells.items() if days}
            state["_gaps"] = {hour: array("q", [gap for _, gap in days])
                              for hour, days in spells.items() if days}
        self.__dict__.update(state)

    # -- what counts ------------------------------------------------------------------

    def sign_of_life(self, message: Message) -> bool:
        """True when ``message`` shows someone moving about the home (or wearing a band that
        moves)."""
        return self._signs.is_sign(message)

    # -- learning ---------------------------------------------------------------------

    def threshold_ms(self, since_ms: int, asleep: bool = False) -> int:
        """Quiet time allowed after a sign of life at ``since_ms``, in milliseconds; longer
        when the quiet is sleep (``asleep``)."""
        config = self.config
        night = self.household.is_night(since_ms)
        local = self.household.local(since_ms)
        hour = local.hour
        hours = [hour + offset
                 for offset in range(-config.neighbour_hours, config.neighbour_hours + 1)]
        default_s = min(config.warmup_night_s if night else config.warmup_day_s,
                        config.ceiling_s)
        community = self.prior.quantile_ms(hours, config.quantile, before=local.date())
        learned_s: float | None = None
        if (community is not None
                and self.prior.samples(hours, before=local.date()) >= config.prior_min_samples):
            learned_s = community / MS_PER_S * config.margin
        days = 0.0 if self._first_ms is None else (since_ms - self._first_ms) / MS_PER_DAY
        own = self._own_spells.get(hour)
        if own is None:
            own = self._own_spells[hour] = [
                gap for h in hours for gap in self._gaps.get(h % 24, ())]
        if days >= config.warmup_days and len(own) >= config.warmup_days:
            own_ms = self._own_quantile.get(hour)
            if own_ms is None:
                own_ms = self._own_quantile[hour] = linear_quantile(own, config.quantile)
            own_s = own_ms / MS_PER_S * config.margin
            weight = days / (days + config.prior_days)
            learned_s = weight * own_s + (1 - weight) * (
                default_s if learned_s is None else learned_s)
        if learned_s is None:
            seconds = default_s
        else:
            floor = config.night_floor_s if night else config.floor_s
            seconds = min(max(learned_s, floor), config.ceiling_s)
        if asleep:
            seconds = min(max(seconds, (self._wake_by_ms(since_ms) - since_ms) / MS_PER_S),
                          config.ceiling_s)
        return int(seconds * MS_PER_S)

    def _least_threshold_ms(self) -> int:
        """What :meth:`threshold_ms` returns at least, whatever has been learned: each of its
        ways ends at or above a floor, a warm-up figure or the ceiling."""
        config = self.config
        return int(min(config.floor_s, config.night_floor_s, config.warmup_day_s,
                       config.warmup_night_s, config.ceiling_s) * MS_PER_S)

    def _wake_by_ms(self, since_ms: int) -> int:
        """When someone asleep at ``since_ms`` is up at the latest: the end of the night
        hours that follows, plus the grace."""
        local = self.household.local(since_ms)
        end = self.household.night_end
        wake = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
        if wake <= local:
            wake = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=local.tzinfo)
        return int(wake.timestamp() * MS_PER_S + self.config.wake_grace_s * MS_PER_S)

    def _sleeps_after(self, message: Message) -> bool:
        """Whether a quiet after ``message`` (a sign of life) would be sleep."""
        if message.kind == "wearable":
            return self.asleep  # turning over in bed
        if message.kind != "motion" or self._moved_in is None:
            return False
        if self._bedroom_seen and not self._moved_in.startswith("bedroom"):
            return False
        household = self.household
        return in_window(household.local(message.ts_ms).time(),
                         time_before(household.night_start, self.config.sleep_lead_s),
                         household.night_end)

    def learn_one(self, message: Message) -> None:
        if self.sign_of_life(message):
            self._presence.observe(message)
            self._learn(message)

    def _learn(self, message: Message) -> None:
        ts_ms = message.ts_ms
        if self._first_ms is None:
            self._first_ms = ts_ms
        last = self.last_activity_ms
        if last is not None and ts_ms > last:
            gap = ts_ms - last
            # Most gaps are far shorter than any threshold can be: no need to work it out.
            if (gap <= _LEARN_LIMIT * self._least_threshold_ms()
                    or gap <= _LEARN_LIMIT * self.threshold_ms(last, self.asleep)):
                self._record(last, gap, self.asleep)
        if last is None or ts_ms > last:
            if message.kind == "motion":
                self._moved_in = message.room or ""
                self._bedroom_seen |= self._moved_in.startswith("bedroom")
            elif message.kind != "wearable":
                self._moved_in = None
            self.asleep = self._sleeps_after(message)
            self.last_activity_ms = ts_ms
            self._last_source = message.device_id
            self._threshold_ms = None

    def _record(self, start_ms: int, gap_ms: int, asleep: bool) -> None:
        local = self.household.local(start_ms)
        if not asleep:
            # The community's figure is for quiet spells awake: one neighbour's early night
            # must not make a collapse in another's evening wait until morning.
            self.prior.record_one(self.household.id, local.date(), local.hour, gap_ms)
        day = local.toordinal()
        days = self._gap_days.get(local.hour)
        if days is None:
            days = self._gap_days[local.hour] = array("l")
            self._gaps[local.hour] = array("q")
        gaps = self._gaps[local.hour]
        if days and days[-1] == day:
            if gap_ms > gaps[-1]:
                gaps[-1] = gap_ms
                self._forget_own()
            return
        days.append(day)
        gaps.append(gap_ms)
        self._forget_own()
        while len(days) > self.config.history_days:
            del days[0], gaps[0]

    def _forget_own(self) -> None:
        self._own_spells.clear()
        self._own_quantile.clear()

    # -- deciding ---------------------------------------------------------------------

    @property
    def away(self) -> bool:
        """True when the home is empty (see :attr:`Presence.away`)."""
        return self._presence.away

    @property
    def deadline_ms(self) -> int | None:
        if self.raised or self.last_activity_ms is None or self.away:
            return None
        if self._threshold_ms is None:
            self._threshold_ms = self.threshold_ms(self.last_activity_ms, self.asleep)
        return self.last_activity_ms + self._threshold_ms

    def process_one(self, message: Message) -> Decisions:
        if not self.sign_of_life(message):
            return []
        self._presence.observe(message)
        quiet_since, quiet_source = self.last_activity_ms, self._last_source
        threshold, asleep = self._threshold_ms, self.asleep
        self._learn(message)
        if not self.raised or quiet_since is None or message.ts_ms <= quiet_since:
            return []
        self.raised = False
        return [self._decision(DecisionAction.CLEAR, message.ts_ms, quiet_since, quiet_source,
                               threshold, asleep, back=message.device_id)]

    def advance(self, now_ms: int) -> Decisions:
        deadline = self.deadline_ms
        if deadline is None or now_ms < deadline or self.last_activity_ms is None:
            return []
        self.raised = True
        return [self._decision(DecisionAction.RAISE, deadline, self.last_activity_ms,
                               self._last_source, self._threshold_ms, self.asleep)]

    def _decision(
        self, action: DecisionAction, ts_ms: int, quiet_since: int, source: str | None,
        threshold_ms: int | None, asleep: bool, back: str | None = None,
    ) -> AlertDecision:
        threshold = (threshold_ms if threshold_ms is not None
                     else self.threshold_ms(quiet_since, asleep))
        evidence: dict[str, object] = {
            "last_activity_ms": quiet_since,
            "last_activity_device": source,
            "quiet_s": (ts_ms - quiet_since) / MS_PER_S,
            "threshold_s": threshold / MS_PER_S,
            "night": self.household.is_night(quiet_since),
            "asleep": asleep,
        }
        if back is not None:
            evidence["activity_from"] = back
        elderly = [r.id for r in self.household.residents if r.elderly]
        return AlertDecision(
            action=action, type=AlertType.INACTIVITY, severity=INACTIVITY_SEVERITY,
            subject=self.household.id, site=self.household.site, ts_ms=ts_ms,
            household=self.household.id, resident=elderly[0] if len(elderly) == 1 else None,
            evidence=tidy_evidence(evidence),
        )


_HOMES = WatchedHomes(lambda home: home.watch_inactivity)


INACTIVITY_RULE = Rule(
    RULE_INACTIVITY, "household", InactivityDetector.kinds, _HOMES.scope_of,
    lambda household, device, view: InactivityDetector(
        view.households[household], config=view.config.inactivity, door_config=view.config.door,
        prior=view.site_state(device.site, CommunityPrior)),
    rebind=_HOMES.rebind,
    channels=InactivityDetector.channels,
)
