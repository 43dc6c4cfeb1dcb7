"""Populations: the ranges each household, resident and device draws its traits from.

The ``default`` population is the simulator as it always was (one routine for everyone,
status heartbeats every 30-60 minutes, one radio): a seed gives the same bytes as before.
The ``diverse`` population draws every trait below independently per household, resident
or device, from a stream of its own, so that detectors can be tried on homes they were
never tuned on.

=========================  ==============================  ===================================
trait                      diverse range                   basis
=========================  ==============================  ===================================
bedtime (centre)           20:00-01:00 local, uniform      time-use surveys: most adults in
                                                           bed between 22:00 and 24:00, older
                                                           people earlier, shift workers later
wake time (centre)         6-10 h after bedtime,           idem (sleep of 6-10 h)
                           05:00-09:30
nap on a given day         0-90 % (elderly), 0-30 %        idem; napping is common in old age
outing on a given day      20-95 % (elderly)               assumption: shopping, walks, clinic
visitor on a given day     5-50 %                          assumption
night bathroom trips       mean 0-2 (elderly), 0-1         nocturia is common after 60
two residents              40 % of households              assumption (couples, parent and
                                                           adult child)
registry night window      22:00-06:00 for 60 %, else      filled in by staff, drawn
                           21:00-06:00, 22:00-07:00,       independently of the bedtime: a
                           23:00-07:00, 21:30-05:30        resident may sleep before it starts
status heartbeat, by kind  see DEVICE_PERIOD_MIN           vendors' typical figures, below
chatty / quiet device      5 % report every 1-5 min,       assumption
                           10 % every 6-24 h
periodic or jittered       half exactly periodic, the      assumption
                           rest +-1-15 % per report
radio loss                 0.1-2 %, 10 % of devices        assumption (weak links behind
                           5-15 %                          walls or far from the gateway)
clock skew                 +-30 s                          assumption (devices synced by NTP
                                                           or the hub now and then)
=========================  ==============================  ===================================

Heartbeat figures are typical of vendors' documentation and hub defaults, not measurements:
Zigbee and Z-Wave battery sensors (motion, door, leak) check in every 1-60 minutes
(Z-Wave wake-up intervals and Zigbee reporting intervals are configurable, 1 hour is a
frequent default); monitored smoke alarms send a supervision message every 1-24 hours
(central-station supervision windows of 4-24 h are common); wearables with a phone or hub
report every 1-15 minutes; buttons report rarely (a daily check-in is common).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from .const import MINUTE_MS

HOUR_MIN: Final = 60

# Status heartbeat range per device kind, in minutes (diverse population).
DEVICE_PERIOD_MIN: Final[Mapping[str, tuple[float, float]]] = {
    "motion": (5, 60),
    "door": (5, 60),
    "water": (5, 60),
    "smoke": (60, 24 * HOUR_MIN),
    "wearable": (1, 15),
    "button": (60, 24 * HOUR_MIN),
}
REGISTRY_NIGHTS: Final = (
    (("22:00", "06:00"), 6), (("21:00", "06:00"), 1), (("22:00", "07:00"), 1),
    (("23:00", "07:00"), 1), (("21:30", "05:30"), 1),
)


@dataclass(frozen=True, slots=True)
class Routine:
    """One resident's habits; the defaults are the ``default`` population's fixed values.

    ``bed_shift_min`` and ``wake_shift_min`` move the centre of the drawn bedtime and wake
    time; the shares are chances per day; ``night_trip_weights`` weigh 0, 1 or 2 night-time
    bathroom trips (None: the built-in weights by age).
    """

    bed_shift_min: float = 0.0
    wake_shift_min: float = 0.0
    nap_share: float | None = None
    outing_share: float | None = None
    afternoon_outing_share: float | None = None
    night_trip_weights: tuple[float, float, float] | None = None


DEFAULT_ROUTINE: Final = Routine()


@dataclass(frozen=True, slots=True)
class DeviceTraits:
    """How one device reports: its heartbeat, how regular it is, its radio and its clock."""

    status_period_ms: int
    jitter: float  # each interval is the period times 1 +- up to this (0: exactly periodic)
    drop: float  # share of its messages lost on the radio
    skew_ms: int  # its clock minus true time


@dataclass(frozen=True, slots=True)
class Population:
    """Where a community's traits come from: fixed (``default``) or drawn (``diverse``)."""

    name: str
    diverse: bool = False
    two_resident_share: float = 0.4
    visit_share: tuple[float, float] = (0.05, 0.5)
    chatty_share: float = 0.05
    quiet_share: float = 0.1
    periodic_share: float = 0.5
    weak_radio_share: float = 0.1
    max_skew_ms: int = 30_000

    def routine(self, rng: random.Random, elderly: bool) -> Routine:
        """Draw a resident's habits (bedtime about 20:00-01:00, 6-10 h of sleep)."""
        default_bed = 1290.0 if elderly else 1365.0  # the built-in centres, minutes of day
        default_wake = 375.0 if elderly else 400.0
        bed = rng.uniform(20 * HOUR_MIN, 25 * HOUR_MIN)
        wake = min(9.5 * HOUR_MIN, max(5 * HOUR_MIN, bed - 24 * HOUR_MIN + rng.uniform(6, 10) * HOUR_MIN))
        trips = rng.uniform(0, 2 if elderly else 1)
        weights = _trip_weights(trips)
        return Routine(
            bed_shift_min=bed - default_bed,
            wake_shift_min=wake - default_wake,
            nap_share=rng.uniform(0, 0.9 if elderly else 0.3),
            outing_share=rng.uniform(0.2, 0.95),
            afternoon_outing_share=rng.uniform(0.1, 0.7),
            night_trip_weights=weights,
        )

    def registry_night(self, rng: random.Random) -> tuple[str, str]:
        windows = [w for w, _ in REGISTRY_NIGHTS]
        return rng.choices(windows, weights=[n for _, n in REGISTRY_NIGHTS])[0]

    def device(self, rng: random.Random, kind: str) -> DeviceTraits:
        """Draw one device's heartbeat (log-uniform in its kind's range), radio and clock."""
        u = rng.random()
        if u < self.chatty_share:
            lo, hi = 1.0, 5.0
        elif u < self.chatty_share + self.quiet_share:
            lo, hi = 6.0 * HOUR_MIN, 24.0 * HOUR_MIN
        else:
            lo, hi = DEVICE_PERIOD_MIN[kind]
        minutes = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        periodic = rng.random() < self.periodic_share
        weak = rng.random() < self.weak_radio_share
        return DeviceTraits(
            status_period_ms=int(minutes * MINUTE_MS),
            jitter=0.0 if periodic else rng.uniform(0.01, 0.15),
            drop=rng.uniform(0.05, 0.15) if weak else rng.uniform(0.001, 0.02),
            skew_ms=int(rng.uniform(-self.max_skew_ms, self.max_skew_ms)),
        )


def _trip_weights(mean: float) -> tuple[float, float, float]:
    """Weights of 0, 1 and 2 trips a night with the given mean (0 to 2)."""
    if mean <= 1:
        return (1 - mean, mean, 0.0)
    return (0.0, 2 - mean, mean - 1)


POPULATIONS: Final[Mapping[str, Population]] = {
    "default": Population("default"),
    "diverse": Population("diverse", diverse=True),
}


def population(name: str) -> Population:
    """The population called ``name``; raises ``ValueError`` for an unknown one."""
    try:
        return POPULATIONS[name]
    except KeyError:
        raise ValueError(f"unknown population {name!r} (known: {', '.join(POPULATIONS)})") from None
