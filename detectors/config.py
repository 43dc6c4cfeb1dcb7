"""Thresholds of every detector, with their documented defaults.

All durations are in seconds (``*_s``), levels in the unit of the contract field they are
compared with. The classes are frozen pydantic dataclasses: building one validates it, and
:meth:`DetectorConfig.load` reads one from a JSON or YAML file where any field may be left
out to keep its default, e.g. ``{"smoke": {"sustain_s": 60}}``.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass

_CONFIG = ConfigDict(extra="forbid")

Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, lt=1)]


@dataclass(frozen=True, slots=True, config=_CONFIG)
class EventTimeConfig:
    """Event time and duplicate handling of the engine.

    Parameters
    ----------
    allowed_lateness_s
        How far behind the newest event time of a site a message may arrive and still be
        taken into account before timers fire. Timers (inactivity, offline, door left open,
        confirmation windows) fire when the site's watermark, ``latest ts - allowed
        lateness``, passes their deadline. Every timer-based alert (a fall event waiting for
        its accelerometer window, fire confirmation, door left open) comes this much later
        live, so it is kept short: MQTT delivers a site's traffic nearly in order.
    dedup_window
        How many recent ``(channel, seq, ts)`` keys are remembered per device to drop
        repeated deliveries.
    dedup_retention_s
        Keys more than this behind the event time of a device's newest are forgotten too:
        repeats come within minutes, and ``dedup_window`` keys a device over a long
        recording would hold tens of kilobytes a device.
    """

    allowed_lateness_s: Annotated[float, Field(ge=0, le=3600)] = 10.0
    dedup_window: Annotated[int, Field(ge=1, le=100_000)] = 256
    dedup_retention_s: Annotated[float, Field(gt=0)] = 600.0


@dataclass(frozen=True, slots=True, config=_CONFIG)
class SmokeConfig:
    """``smoke`` (first signal) and ``fire`` (confirmed) from smoke alarms.

    Parameters
    ----------
    alarm_obscuration
        Obscuration (%/m) at which a reading counts as an alarm (a ``alarm`` event always
        does). Domestic photoelectric alarms trip between about 2 and 13 %/m.
    clear_obscuration
        Below this (%/m) a detector counts as clear again (hysteresis).
    verify_window_s
        After the first alarm, how long confirmation is looked for (at most 90 s).
    sustain_s
        A detector still in alarm this long after its first alarm reading confirms a fire.
        Burnt food clears within about a minute; a fire keeps going.
    clock_skew_s
        Devices' clocks differ by up to this much: a detector that falls silent while in
        alarm confirms ``sustain_s`` plus this after its first alarm (one that keeps
        reporting confirms by its own readings, at ``sustain_s``).
    rise_factor
        A reading at least this many times the first alarm level confirms (rising smoke).
    temp_rise_c
        A temperature this much above the detector's lowest reading of the last
        ``temp_baseline_s`` confirms, as does any reading at or above ``temp_fixed_c``.
    """

    alarm_obscuration: Annotated[float, Field(gt=0, le=30)] = 8.0
    clear_obscuration: Annotated[float, Field(ge=0, le=30)] = 6.0
    verify_window_s: Annotated[float, Field(gt=0, le=90)] = 90.0
    sustain_s: Seconds = 75.0
    clock_skew_s: Annotated[float, Field(ge=0)] = 60.0
    rise_factor: Annotated[float, Field(gt=1)] = 2.5
    temp_rise_c: Annotated[float, Field(gt=0)] = 10.0
    temp_fixed_c: float = 57.0
    temp_baseline_s: Seconds = 600.0

    @model_validator(mode="after")
    def _hysteresis(self) -> SmokeConfig:
        if self.clear_obscuration >= self.alarm_obscuration:
            raise ValueError("clear_obscuration must be below alarm_obscuration")
        if self.sustain_s >= self.verify_window_s:
            raise ValueError("sustain_s must be shorter than verify_window_s")
        return self


@dataclass(frozen=True, slots=True, config=_CONFIG)
class FallConfig:
    """``fall`` from the wearable's own event and from its accelerometer windows.

    Parameters
    ----------
    impact_g
        Peak acceleration magnitude (g) that counts as an impact.
    still_std_g
        Standard deviation of the magnitude (g) below which the wearer counts as still.
    still_after_s
        How much of the window after the impact must be still for a possible fall.
    worn_min_std_g
        A body on the floor still breathes and trembles; after an impact, a magnitude that
        varies less than this (g) is a band that fell off a wrist, not a person.
    posture_change_deg
        Minimum change in the direction of gravity from before the impact to after it
        (lying down after standing); with stillness after the impact it makes a possible fall.
    move_std_g
        A window whose magnitude varies more than this (g) is movement: the wearer is up.
    long_lie_s
        A possible fall followed by no movement for this long becomes a confirmed fall.
    veto_s
        The wearable's own ``fall`` event is not believed when, within this time before it,
        its accelerometer showed an impact after which the band lay dead still or reported
        no heart rate: the band was dropped, nobody fell.
    incident_s
        One fall is one incident, and one alert, until this long after its last news (the
        fall, a repeat of it, the long lie, getting up): within it, falls and movement update
        the alert; after it, movement is no news and the next fall is a new incident.
    method
        What makes an accelerometer window a possible fall: ``rules``, impact, stillness and
        posture above, or ``learned``, the fall classifier scored against its threshold (see
        ``safehood train``; the demo uses it). Rules stay the default because they need no
        model file; the classifier raises fewer false fall alerts where wearers slump onto
        a sofa, flop onto a bed or take the band off (README, "Fall classifier").
    model
        The classifier's model file for ``method: learned``; None for the one shipped with
        safehood. Read once when the detectors are built, never from the network.
    """

    impact_g: Annotated[float, Field(gt=1)] = 2.5
    still_std_g: Annotated[float, Field(gt=0)] = 0.1
    still_after_s: Seconds = 1.0
    worn_min_std_g: Annotated[float, Field(ge=0)] = 0.008
    posture_change_deg: Annotated[float, Field(ge=0, le=180)] = 45.0
    move_std_g: Annotated[float, Field(gt=0)] = 0.06
    long_lie_s: Seconds = 120.0
    veto_s: Seconds = 10.0
    incident_s: Seconds = 1800.0
    method: Literal["rules", "learned"] = "rules"
    model: Path | None = None

    @model_validator(mode="after")
    def _incident_outlasts_long_lie(self) -> FallConfig:
        if self.incident_s < self.long_lie_s:
            raise ValueError("incident_s must not be shorter than long_lie_s")
        return self


@dataclass(frozen=True, slots=True, config=_CONFIG)
class SosConfig:
    """``sos`` from buttons and wearables.

    Parameters
    ----------
    repeat_s
        A press within this time of the person's previous press is the same incident and
        updates its alert (the count of presses grows); a press after a quiet gap of more
        than this is a new incident and raises a new alert.
    """

    repeat_s: Seconds = 600.0


@dataclass(frozen=True, slots=True, config=_CONFIG)
class WaterConfig:
    """``water_leak`` from leak sensors and, as a slow leak, from the household meter.

    Parameters
    ----------
    slow_leak_flow_lpm
        Flow (l/min) at or above which the meter counts as running.
    slow_leak_s
        Flow running without a pause for longer than this is a slow leak. Households draw
        water in bursts; even a busy morning leaves the meter still within two or three
        hours, while a running cistern or a dripping pipe runs all night.
    max_reading_gap_s
        Readings further apart than this break a run: nobody saw the water running in
        between (the meter reports every 15 minutes, or went silent).
    """

    slow_leak_flow_lpm: Annotated[float, Field(gt=0)] = 0.01
    slow_leak_s: Seconds = 4 * 3600.0
    max_reading_gap_s: Seconds = 45 * 60.0


@dataclass(frozen=True, slots=True, config=_CONFIG)
class DoorConfig:
    """``forced_entry`` and ``door_left_open``.

    Parameters
    ----------
    left_open_s
        A door open this long raises ``door_left_open`` (Minor).
    left_open_long_s
        Still open this long, or open at night, the alert is raised to Moderate.
    arrival_s, exit_credentials
        How the lock tells coming from going: an opening within ``arrival_s`` after the
        lock was unlocked with a credential from outside (a fingerprint, a card, a PIN: any
        credential not in ``exit_credentials``) is someone coming home, not leaving.
        Night wandering and inactivity use it.
    clock_skew_s
        The lock's and the door contact's clocks differ by up to this much: an unlock
        stamped this long after the opening still counts as the one that opened it.
    """

    left_open_s: Seconds = 600.0
    left_open_long_s: Seconds = 1800.0
    arrival_s: Seconds = 60.0
    clock_skew_s: Annotated[float, Field(ge=0)] = 60.0
    exit_credentials: tuple[str, ...] = ("inside", "manual", "button", "thumb_turn")


@dataclass(frozen=True, slots=True, config=_CONFIG)
class NightWanderingConfig:
    """``night_wandering``: a resident with dementia leaves at night and does not come back.

    Parameters
    ----------
    return_s
        The resident counts as back when the front door opens again, or there is movement
        inside the home once the door has been shut at least ``inside_after_close_s``,
        within this time of the door opening. Movement inside only counts where the resident
        at risk lives alone: anyone else at home moves about too.
    inside_after_close_s
        Movement this soon after the door shut is the resident walking away from it inside,
        or the sensor's own hold time, and does not count as being back.
    front_door_rooms
        Rooms whose door is a way out of the home; a household door with no room is one too.
    evacuation_s
        Within this time of a smoke alarm of the household, people leaving are getting out
        of a fire (which has its own alert), not wandering.
    usual_share
        An hour of the night at which the household goes out on at least this share of
        days is its routine (an early walk, a night shift), not wandering. The share is the
        community's (:class:`~detectors.community_prior.DeparturePrior`) blended with the
        household's own as ``n / (n + prior_days)`` after ``n`` days of its own.
    prior_days
        Days of its own history at which a household's share weighs as much as the
        community's.
    prior_min_days
        Household-days the community needs before its share is used.
    morning_s, up_for_s, quiet_s
        In the last ``morning_s`` of the night hours, a resident who has been up and about
        (movement outside the bedroom, no quiet longer than ``quiet_s``) for ``up_for_s``
        has started the day: leaving then is not wandering.
    """

    return_s: Seconds = 600.0
    inside_after_close_s: Annotated[float, Field(ge=0)] = 30.0
    evacuation_s: Annotated[float, Field(ge=0)] = 1800.0
    front_door_rooms: tuple[str, ...] = ("entrance", "front_door", "hall", "hallway", "entry")
    usual_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    prior_days: Annotated[float, Field(gt=0)] = 3.0
    prior_min_days: Annotated[int, Field(ge=1)] = 5
    morning_s: Annotated[float, Field(ge=0, le=12 * 3600)] = 2 * 3600.0
    up_for_s: Annotated[float, Field(ge=0)] = 3600.0
    quiet_s: Annotated[float, Field(gt=0)] = 1800.0


@dataclass(frozen=True, slots=True, config=_CONFIG)
class InactivityConfig:
    """``inactivity`` for homes where an elderly person lives alone.

    The quiet time allowed after a sign of life depends on the hour of day it falls in. It
    is learned per household from its own history: for each hour, the longest quiet gap
    that started in it on each day seen, and the threshold is ``margin`` times the
    ``quantile`` of those, within ``[floor_s, ceiling_s]`` (``[night_floor_s, ceiling_s]``
    during the household's night hours). A new household borrows the community's normal:
    the same figure over the awake quiet spells of all the site's watched households (a
    :class:`~detectors.community_prior.CommunityPrior`), blended with its own as
    ``n / (n + prior_days)`` after ``n`` days of its own history. Until the community has
    ``prior_min_samples`` spells at an hour, ``warmup_day_s`` and ``warmup_night_s`` stand
    in for its figure (never above the ceiling).

    A quiet that starts in the evening or night (from ``sleep_lead_s`` before the night
    hours until they end) after the last movement was seen in a bedroom (in any room, in a
    home where no motion sensor is in a bedroom) is sleep: it is allowed to last until
    ``wake_grace_s`` after the night hours end, and never beyond ``ceiling_s``.

    The defaults suit an elderly person living alone: motion sensors fire every few minutes
    while they are up and every hour or so while they sleep, outings last an hour or two,
    naps about one.

    Parameters
    ----------
    floor_s, night_floor_s, ceiling_s
        Bounds of the learned threshold.
    warmup_day_s, warmup_night_s
        Thresholds before enough history is seen.
    warmup_days
        Days of its own history a household needs before its own figure is used at all.
    prior_days
        Days of its own history at which a household's own figure weighs as much as the
        community's.
    prior_min_samples
        Spells (households x days, over the hours pooled) the community needs at an hour
        before its figure is used.
    sleep_lead_s
        How long before the household's night hours a quiet after bedroom movement is
        sleep (residents go to bed before the registered night).
    wake_grace_s
        How long after the night hours end a sleeping resident may still be in bed.
    quantile, margin
        Which of the daily longest gaps to take, and how much to add to it.
    neighbour_hours
        Gaps of this many hours either side are pooled with an hour's own.
    history_days
        How many days of daily longest gaps are kept per hour.
    flow_lpm
        Water flow (l/min) at or above which the meter shows a person using water.
    move_std_g
        Wearable movement (std of magnitude, g) that counts as a sign of life.
    away_after_exit
        When the last sign of life is the front door (opened, shut, locked) with no
        movement inside after it, the resident has gone out: an empty home is not watched
        until someone is back.
    exit_grace_s
        Movement inside up to this long after the door shut behind someone leaving is theirs
        on the way out (the hall sensor sees them go, and devices' clocks differ by up to a
        minute), not someone still at home.
    leak_flow_grace_s
        Water running while a leak sensor of the household is wet, and this long after it
        dries (the meter reports averages), is the leak, not a person.
    """

    floor_s: Seconds = 2 * 3600.0
    night_floor_s: Seconds = 4 * 3600.0
    ceiling_s: Seconds = 12 * 3600.0
    warmup_day_s: Seconds = 4 * 3600.0
    warmup_night_s: Seconds = 10 * 3600.0
    warmup_days: Annotated[int, Field(ge=1)] = 1
    prior_days: Annotated[float, Field(gt=0)] = 3.0
    prior_min_samples: Annotated[int, Field(ge=1)] = 10
    sleep_lead_s: Annotated[float, Field(ge=0, le=12 * 3600)] = 4 * 3600.0
    wake_grace_s: Annotated[float, Field(ge=0)] = 2 * 3600.0
    quantile: Annotated[float, Field(gt=0, le=1)] = 0.9
    margin: Annotated[float, Field(ge=1)] = 1.5
    neighbour_hours: Annotated[int, Field(ge=0, le=6)] = 1
    history_days: Annotated[int, Field(ge=1)] = 28
    flow_lpm: Annotated[float, Field(gt=0)] = 1.0
    move_std_g: Annotated[float, Field(gt=0)] = 0.06
    away_after_exit: bool = True
    exit_grace_s: Annotated[float, Field(ge=0)] = 60.0
    leak_flow_grace_s: Annotated[float, Field(ge=0)] = 900.0

    @model_validator(mode="after")
    def _bounds(self) -> InactivityConfig:
        if not self.floor_s <= self.ceiling_s or not self.night_floor_s <= self.ceiling_s:
            raise ValueError("floor_s and night_floor_s must not exceed ceiling_s")
        return self


@dataclass(frozen=True, slots=True, config=_CONFIG)
class RoutineConfig:
    """``abnormal_routine``: a household's day breaks the daily pattern it has learned.

    Each household learns its own normal day from its own history (see
    :mod:`detectors.routine`): when it usually gets up, how often the night is broken, how
    much it moves about, whether it uses water and goes out. A day starts at
    ``day_start_hour`` local time. Nothing is raised before ``warmup_days`` normal days are
    learned; days that broke the pattern are not learned.

    Parameters
    ----------
    warmup_days
        Normal days learned before anything is raised.
    history_days
        How many learned days are kept (a ring of days of hourly counts).
    day_start_hour
        Local hour at which a household's day starts (everyone asleep, or still up from the
        evening before).
    up_events, up_window_s, up_span_s
        The household is up at the first sign of life outside a bedroom that begins
        ``up_events`` of them within ``up_window_s``, spanning at least ``up_span_s``: a
        morning, not a trip to the bathroom and back to bed (a few minutes, however many
        signs it gives).
    late_margin_s
        ``not_up``: nobody is up this long after the latest time the household got up on
        learned days of the same kind (weekdays, or weekends).
    night_gap_s
        A sign of life outside a bedroom in the night hours after this long without one
        starts a new night-time waking (a bathroom trip, say).
    night_windows
        ``night_activity`` compares the mean wakings of the last nights, over each of these
        windows (a few nights, a week, ten nights), with the household's learned nights
        before the window (nights that double over a few nights are not learned as normal
        first), once ``warmup_days`` such nights are learned ...
    night_guard_days
        ... and not in the ``night_guard_days`` nights before that window either: a change
        that comes in over a few nights looks normal night by night and is learned before
        the window is full of it ...
    night_ratio, night_min_extra
        ... and needs their mean to be at least ``night_ratio`` times the learned mean and
        ``night_min_extra`` wakings a night above it, ...
    z
        ... and their count as unlikely as ``z`` standard deviations above it: the exact
        Poisson tail of the household's learned rate (a few wakings are far from normal),
        or its own spread where its nights vary more than that (``low_activity``: ``z``
        standard deviations below the learned mean).
    water_share
        ``no_water``: a day at home without water drawn, in a household that drew water on at
        least this share of its learned days.
    low_activity_ratio
        ``low_activity``: a day with less than this share of the learned mean activity
        (signs of life outside bedrooms), and ``z`` standard deviations below it.
    stayed_in_chance, stayed_in_min_days
        ``stayed_in``: at least ``stayed_in_min_days`` days in a row without going out, where
        the learned share of days with an outing makes such a run less likely than this.
    not_home_after_s, not_home_share
        ``not_home``: the home is still empty this long after the night hours start, in a
        household that was out at that time on at most ``not_home_share`` of learned days.
    withdrawal_days, withdrawal_out_ratio, withdrawal_activity_ratio, withdrawal_min_out_s
        ``withdrawn``: over the last ``withdrawal_days`` days, the time spent out of the home
        fell to ``withdrawal_out_ratio`` of the learned days before them and the activity to
        ``withdrawal_activity_ratio`` of theirs, in a household usually out at least
        ``withdrawal_min_out_s`` over that many days. Time out, not days with an outing: a
        visitor leaving while the resident naps empties the home for a moment too.
    """

    warmup_days: Annotated[int, Field(ge=2)] = 7
    history_days: Annotated[int, Field(ge=2)] = 28
    day_start_hour: Annotated[int, Field(ge=0, le=12)] = 3
    up_events: Annotated[int, Field(ge=1)] = 8
    up_window_s: Seconds = 45 * 60.0
    up_span_s: Seconds = 15 * 60.0
    late_margin_s: Seconds = 2 * 3600.0
    night_gap_s: Seconds = 20 * 60.0
    night_windows: Annotated[tuple[Annotated[int, Field(ge=1, le=14)], ...],
                             Field(min_length=1)] = (3, 7, 10)
    night_guard_days: Annotated[int, Field(ge=0, le=14)] = 7
    night_ratio: Annotated[float, Field(gt=1)] = 1.8
    night_min_extra: Annotated[float, Field(ge=0)] = 0.75
    z: Annotated[float, Field(gt=0)] = 3.0
    water_share: Annotated[float, Field(gt=0, le=1)] = 0.9
    low_activity_ratio: Fraction = 0.4
    stayed_in_chance: Fraction = 0.02
    stayed_in_min_days: Annotated[int, Field(ge=1)] = 3
    not_home_after_s: Seconds = 3600.0
    not_home_share: Annotated[float, Field(ge=0, lt=1)] = 0.1
    withdrawal_days: Annotated[int, Field(ge=2)] = 7
    withdrawal_out_ratio: Fraction = 0.35
    withdrawal_activity_ratio: Fraction = 0.85
    withdrawal_min_out_s: Annotated[float, Field(ge=0)] = 3 * 3600.0

    @model_validator(mode="after")
    def _check(self) -> RoutineConfig:
        if self.history_days < self.warmup_days:
            raise ValueError("history_days must not be shorter than warmup_days")
        return self


# Until a device's own interval is learned (its first day), nothing says whether it is a
# sensor that checks in every few minutes or a smoke alarm that supervises once a day
# (vendors' check-in periods run from about a minute to 24 hours): the budget covers the
# slowest of them, one day plus a quarter for its jitter, so that no new device alarms for
# being slow.
# Once learned (a day later) the device's own interval takes over.
_FIRST_DAY_BUDGET_S = 30 * 3600.0


def _default_budgets() -> dict[str, float]:
    return dict.fromkeys(("smoke", "wearable", "water", "door", "motion", "button"),
                         _FIRST_DAY_BUDGET_S)


@dataclass(frozen=True, slots=True, config=_CONFIG)
class DeviceHealthConfig:
    """``device_offline``, ``site_offline``, ``battery_low`` and ``tamper``.

    Parameters
    ----------
    heartbeat_budget_s
        Per device kind: until a device's own reporting interval is learned, silence longer
        than this (or than ``silent_periods`` of its longest gap so far, if longer) is
        ``device_offline``. A last will (``{"online": false}``) counts at once.
    default_budget_s
        Budget of a kind missing from ``heartbeat_budget_s``.
    silent_periods
        Once learned, silence longer than this many of the device's own reporting intervals
        is ``device_offline``: a lost message or two, or a late one, is not.
    period_quantile
        The interval is this quantile of the device's gaps between messages, each weighted
        by its length: the gap most of its time is spent in, not its chatty bursts.
    tail_quantile, tail_periods
        Once learned, silence must also exceed ``tail_periods`` times this (higher) quantile
        of the same gaps: a device whose radio loses one message in ten makes long gaps now
        and then, and those are its normal too.
    cadence_min_gaps, cadence_min_span_s
        The interval is learned once this many gaps covering this much time were seen (a
        day shows a device's quiet nights as well as its busy days).
    cadence_half_life_s
        Older gaps count half as much after this long, so a changed rhythm is followed.
    floor_s, ceiling_s
        Bounds of the learned silence limit.
    pending_s
        A condition (silence past the limit, a last will) must hold this long before the
        alert fires, like Prometheus's ``for:``; the groups' silences get it too.
    site_silence_s
        A site with at least ``group_min_devices`` devices from which nothing at all is heard
        for this long raises one ``site_offline`` instead of one alert per device.
    building_silence_s
        The same for the devices of one building: one ``device_offline`` whose subject is
        the building.
    gateway_silence_s
        The same for the devices of one household (its gateway): one ``device_offline``
        whose subject is the household.
    group_min_devices
        Smallest group that is reported as a whole.
    battery_low_pct, battery_ok_pct
        Battery below ``battery_low_pct`` raises ``battery_low``; it clears at or above
        ``battery_ok_pct`` (a new battery).
    """

    heartbeat_budget_s: dict[str, float] = field(default_factory=_default_budgets)
    default_budget_s: Seconds = _FIRST_DAY_BUDGET_S
    silent_periods: Annotated[float, Field(ge=1)] = 3.0
    period_quantile: Annotated[float, Field(gt=0, le=1)] = 0.75
    tail_quantile: Annotated[float, Field(gt=0, le=1)] = 0.99
    tail_periods: Annotated[float, Field(ge=1)] = 2.0
    cadence_min_gaps: Annotated[int, Field(ge=1)] = 4
    cadence_min_span_s: Annotated[float, Field(ge=0)] = 24 * 3600.0
    cadence_half_life_s: Seconds = 7 * 24 * 3600.0
    floor_s: Seconds = 10 * 60.0
    ceiling_s: Seconds = 72 * 3600.0
    pending_s: Annotated[float, Field(ge=0)] = 5 * 60.0
    site_silence_s: Seconds = 15 * 60.0
    building_silence_s: Seconds = 30 * 60.0
    gateway_silence_s: Seconds = 45 * 60.0
    group_min_devices: Annotated[int, Field(ge=2)] = 3
    battery_low_pct: Annotated[float, Field(ge=0, le=100)] = 15.0
    battery_ok_pct: Annotated[float, Field(ge=0, le=100)] = 30.0

    @model_validator(mode="after")
    def _check(self) -> DeviceHealthConfig:
        if any(not value > 0 for value in self.heartbeat_budget_s.values()):
            raise ValueError("every heartbeat budget must be greater than 0")
        if self.battery_ok_pct <= self.battery_low_pct:
            raise ValueError("battery_ok_pct must be above battery_low_pct")
        if not self.floor_s <= self.ceiling_s:
            raise ValueError("floor_s must not exceed ceiling_s")
        if max([*self.heartbeat_budget_s.values(), self.default_budget_s]) > self.ceiling_s:
            raise ValueError("no heartbeat budget may exceed ceiling_s")
        return self

    def budget_s(self, kind: str | None) -> float:
        """Heartbeat budget of a device kind, in seconds."""
        if kind is None:
            return self.default_budget_s
        return self.heartbeat_budget_s.get(kind, self.default_budget_s)


@dataclass(frozen=True, slots=True, config=_CONFIG)
class DetectorConfig:
    """Every threshold of the detector engine. ``DetectorConfig()`` gives the defaults.

    Examples
    --------
    >>> config = DetectorConfig.from_data({"smoke": {"sustain_s": 60}})
    >>> config.smoke.sustain_s, config.smoke.verify_window_s
    (60.0, 90.0)
    >>> DetectorConfig.from_data({"smoke": {"verify_window_s": 120}})
    Traceback (most recent call last):
    ...
    ValueError: bad detector setting smoke.verify_window_s: Input should be less than or equal to 90
    """

    time: EventTimeConfig = field(default_factory=EventTimeConfig)
    smoke: SmokeConfig = field(default_factory=SmokeConfig)
    fall: FallConfig = field(default_factory=FallConfig)
    sos: SosConfig = field(default_factory=SosConfig)
    water: WaterConfig = field(default_factory=WaterConfig)
    door: DoorConfig = field(default_factory=DoorConfig)
    night_wandering: NightWanderingConfig = field(default_factory=NightWanderingConfig)
    inactivity: InactivityConfig = field(default_factory=InactivityConfig)
    routine: RoutineConfig = field(default_factory=RoutineConfig)
    device_health: DeviceHealthConfig = field(default_factory=DeviceHealthConfig)

    @classmethod
    def from_data(cls, data: Any) -> DetectorConfig:
        """Build from a mapping (e.g. a parsed file); raises ``ValueError`` when invalid."""
        try:
            return _ADAPTER.validate_python(data or {})
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"]) or "config"
            raise ValueError(f"bad detector setting {where}: {err['msg']}") from None

    @classmethod
    def load(cls, path: str | Path) -> DetectorConfig:
        """Read a JSON or YAML (``.yaml``/``.yml``) file of thresholds."""
        path = Path(path)
        text = path.read_bytes()
        try:
            data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else orjson.loads(text)
        except (yaml.YAMLError, orjson.JSONDecodeError) as exc:
            raise ValueError(f"{path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from None
        return cls.from_data(data)


_ADAPTER: TypeAdapter[DetectorConfig] = TypeAdapter(DetectorConfig)
