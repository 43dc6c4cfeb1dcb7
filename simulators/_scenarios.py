"""Incidents the simulator injects, each written down as a ground-truth label.

Every scenario has a name (what ``--scenarios`` takes), the label type it produces (an alert
type of DESIGN.md, or ``nuisance_smoke`` / ``fall_negative`` for things that must *not*
raise that alert), the households it can happen in, the local hours at which random
placement puts it, and how it changes the household's traffic: it reads the household's
routines and returns edits (:mod:`._edits`) that the household's unit applies. Label ``start`` is when the
incident physically starts; the descriptions below say what that is for each.
"""

from __future__ import annotations

import copy
import math
import random
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np

from safehood.protocol import in_window

from . import _physics as physics
from ._community import Community, HouseholdSpec, ResidentSpec
from ._edits import (
    RELIABLE,
    WILL,
    Arrive,
    BandOff,
    BandWindow,
    DoorCycle,
    Edit,
    Emit,
    FailingBattery,
    Flow,
    HoldDoor,
    Label,
    LetIn,
    Override,
    Silence,
    SilentDeathLabel,
    Skip,
    Smoke,
    SmokeProfile,
    Status,
    Visit,
    Wet,
)
from ._rng import np_rng, py_rng
from ._routines import Routines
from ._timeline import (
    AWAY,
    CHORES,
    COLLAPSED,
    COOK,
    FALLEN,
    NAP,
    RESTING,
    SHOWER,
    SIT,
    SLEEP,
    STILL,
    TOILET,
    WANDER,
    Segment,
    dates_between,
    local_date,
    local_midnight,
    plan_day,
)
from .const import (
    BATTERY_LOW_PCT,
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    OUT,
    SMOKE_ALARM,
    SMOKE_PREALARM,
)


@dataclass(frozen=True, slots=True)
class ScenarioRequest:
    """A scenario asked for at a chosen time, optionally in a chosen household."""

    name: str
    at_ms: int
    household: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioInstance(ScenarioRequest):
    """One planned incident: a request placed, with its household, resident and device
    chosen (the simulator may move it a little later to when it can happen, e.g. when the
    resident is at home)."""

    index: int
    household: str
    resident: str | None = None
    device: str | None = None


# Reads the household, returns what changes: the edits its unit applies.
Apply = Callable[[Routines, ScenarioInstance, random.Random, np.random.Generator], list[Edit]]
Pick = Callable[[HouseholdSpec, random.Random], tuple[str | None, str | None]]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A kind of incident the simulator can inject (see the module docstring)."""

    name: str
    label: str
    description: str
    eligible: Callable[[HouseholdSpec], bool]
    hours: tuple[tuple[float, float], ...]  # local hours for random placement; () = night
    min_ms: int  # how long it needs before the recording ends
    pick: Pick
    apply: Apply
    needs: str = "any household"
    lead_ms: int = HOUR_MS  # how long after the recording starts it may begin


# -- helpers --------------------------------------------------------------------------------------


def _awake_home(seg: Segment) -> bool:
    return seg.home and seg.act not in RESTING and seg.act not in STILL and seg.act != SHOWER


# A wearable scenario's edits for the band ``band`` of its wearer ``r``, who is at home and
# awake from ``t`` (in ``seg``).
OnWearer = Callable[[Routines, ScenarioInstance, random.Random, np.random.Generator,
                     ResidentSpec, str, int, Segment], list[Edit]]


def _on_wearer(body: OnWearer) -> Apply:
    """The scenario ``body``, applied at the first moment within 12 h of ``inst.at_ms`` that
    the wearer is at home and awake; a skip if never."""

    def apply(home: Routines, inst: ScenarioInstance, rng: random.Random,
              nrng: np.random.Generator) -> list[Edit]:
        assert inst.resident is not None
        r = home.resident(inst.resident)
        found = home.find_time(r.id, inst.at_ms, _awake_home, within_ms=12 * HOUR_MS)
        if found is None or r.wearable is None:
            return [_skip(inst, "the resident is never at home and awake")]
        t, seg = found
        return body(home, inst, rng, nrng, r, r.wearable, t, seg)

    return apply


def _skip(inst: ScenarioInstance, why: str) -> Skip:
    return Skip(f"{inst.name} in {inst.household}: {why}")


def _event(t: int, device_id: str, kind: str, event: str, **extra: Any) -> Emit:
    return Emit(t, device_id, "event", {"ts": t, "kind": kind, "event": event, **extra}, RELIABLE)


def _fields(inst: ScenarioInstance, type_: str, start: int, end: int | None,
            **extra: Any) -> dict[str, Any]:
    return {"type": type_, "household": inst.household, "start": start, "end": end,
            "scenario": inst.name, **extra}


def _label(inst: ScenarioInstance, type_: str, start: int, end: int | None,
           **extra: Any) -> Label:
    return Label(_fields(inst, type_, start, end, **extra))


def _posture(window: physics.Window) -> np.ndarray:
    tail = window.accel[-int(window.hz * 0.5):].mean(axis=0)
    return np.asarray(tail / np.linalg.norm(tail))


def _staff(home: Routines, t: int, room: str, minutes: float) -> Arrive:
    rooms = (room,) if home.spec.devices.motion_in(room) else ("living",)
    return Arrive(Visit(t, t + int(minutes * MINUTE_MS), rooms, credential="card:staff"))


# -- smoke ------------------------------------------------------------------------------------------


def _fire_profile(start: int, out: int, smax: float, tau: float, alarm_s: float, temp_max: float,
                  temp_delay: float, co_max: float) -> SmokeProfile:
    mid = alarm_s + tau * math.log(smax / SMOKE_ALARM - 1)
    out_s = (out - start) / 1000

    def logistic(s: float) -> float:
        return smax / (1 + math.exp(-(s - mid) / tau))

    base = logistic(0.0)
    peak = logistic(out_s) - base

    def smoke(s: float) -> float:
        if s <= out_s:
            return logistic(s) - base
        return peak * math.exp(-(s - out_s) / 150)

    def temp(s: float) -> float:
        rise = s - temp_delay
        if rise <= 0:
            return 0.0
        top = temp_max * (1 - math.exp(-min(rise, out_s - temp_delay) / 240))
        return top if s <= out_s else top * math.exp(-(s - out_s) / 400)

    def co(s: float) -> float:
        return co_max * smoke(s) / smax

    return SmokeProfile(start, out + 30 * MINUTE_MS, smoke, temp, co)


def _fire(home: Routines, inst: ScenarioInstance, rng: random.Random,
          _: np.random.Generator) -> list[Edit]:
    t0 = inst.at_ms
    d = home.spec.devices
    out = t0 + int(rng.uniform(25, 45) * MINUTE_MS)
    tau = rng.uniform(35, 60)
    alarm_s = rng.uniform(120, 300)
    kitchen = _fire_profile(t0, out, rng.uniform(24, 29.5), tau, alarm_s, rng.uniform(35, 80), 60,
                            rng.uniform(150, 400))
    lag = rng.uniform(60, 180)
    hall = _fire_profile(t0, out, rng.uniform(14, 24), tau * 1.3, alarm_s + lag, rng.uniform(8, 25),
                         lag + 60, rng.uniform(80, 200))
    edits: list[Edit] = [Smoke(d.smoke_kitchen, kitchen), Smoke(d.smoke_hall, hall)]
    # Whoever is at home gets out once the alarm sounds, and comes back after the fire brigade.
    for r in home.spec.residents:
        leave = t0 + int((alarm_s + rng.uniform(30, 150)) * 1000)
        seg = home.segment_at(r.id, leave)
        if seg is not None and seg.home:
            back = out + int(rng.uniform(15, 40) * MINUTE_MS)
            edits.append(Override(r.id, leave, back, [Segment(leave, back, OUT, AWAY)]))

    def cleared() -> dict[str, int] | None:
        if "done" not in kitchen.result or "done" not in hall.result:
            return None
        return {"end": max(kitchen.result.get("clear", out), hall.result.get("clear", out))}

    fields = _fields(inst, "fire", t0, None, device_id=d.smoke_kitchen,
                     devices=[d.smoke_kitchen, d.smoke_hall])
    edits.append(Label(fields, cleared))
    return edits


def _cooking_smoke(home: Routines, inst: ScenarioInstance, rng: random.Random,
                   _: np.random.Generator) -> list[Edit]:
    d = home.spec.devices
    t0 = inst.at_ms
    cook = next((r for r in home.spec.residents if r.cook), home.spec.residents[0])
    found = home.find_time(cook.id, inst.at_ms - 90 * MINUTE_MS, lambda s: s.act == COOK,
                           within_ms=3 * HOUR_MS, margin_ms=60_000)
    if found is not None and found[0] >= home.origin_ms:
        t, seg = found
        t0 = t + int(rng.uniform(0.0, 0.6) * max(0, seg.end - t - 3 * MINUTE_MS))
    peak = rng.uniform(8.5, 14.0) if rng.random() < 0.75 else rng.uniform(3.0, 7.0)
    rise = rng.uniform(20, 45)
    tau_r = rise / 3
    tau_d = rng.uniform(12, 25)
    norm = 1 - math.exp(-rise / tau_r)

    def smoke(s: float) -> float:
        if s < rise:
            return peak * (1 - math.exp(-s / tau_r)) / norm
        return peak * math.exp(-(s - rise) / tau_d)

    end_s = rise + tau_d * math.log(peak / 0.1)
    below = t0 + int((rise + tau_d * math.log(peak / SMOKE_PREALARM)) * 1000)
    return [
        Smoke(d.smoke_kitchen, SmokeProfile(t0, t0 + int(end_s * 1000) + 10_000, smoke)),
        _label(inst, "nuisance_smoke", t0, below, device_id=d.smoke_kitchen, negative=True,
               peak=round(peak, 1), alarm=peak >= SMOKE_ALARM),
    ]


# -- wearable ---------------------------------------------------------------------------------------


def _fall(recovered: bool) -> Apply:
    def apply(home: Routines, inst: ScenarioInstance, rng: random.Random,
              nrng: np.random.Generator, r: ResidentSpec, band: str, t: int,
              seg: Segment) -> list[Edit]:
        window = physics.fall(nrng)
        impact = t + int(window.impact_s * 1000) if window.impact_s else t
        edits: list[Edit] = [BandWindow(r, t, window, "fall")]
        if rng.random() < 0.85:  # the band's own detector misses some falls
            edits.append(_event(impact + rng.randint(800, 2500), band, "wearable", "fall"))
        posture = _posture(window)
        room = seg.place
        if recovered:
            up = impact + rng.randint(15_000, 90_000)
            return [*edits,
                    Override(r.id, t, up + 3000, [Segment(t, up + 3000, room, FALLEN)]),
                    BandWindow(r, up, physics.get_up(nrng, posture=posture), "get_up"),
                    _label(inst, "fall", impact, up, resident=r.id, device_id=band,
                           recovered=True)]
        help_at = impact + int(rng.uniform(20, 45) * MINUTE_MS)
        up = help_at + int(rng.uniform(2, 5) * MINUTE_MS)
        edits.append(Override(r.id, t, up + 5000, [
            Segment(t, up + 5000, room, FALLEN),
            Segment(up + 5000, up + 30 * MINUTE_MS, "living", SIT)]))
        tick = impact + 2 * MINUTE_MS
        while tick < up - 30_000:
            edits.append(BandWindow(r, tick, physics.lying(nrng, posture=posture), "lying"))
            tick += 2 * MINUTE_MS
        edits.append(BandWindow(r, up, physics.get_up(nrng, posture=posture), "get_up"))
        edits.append(_staff(home, help_at, room, rng.uniform(20, 40)))
        edits.append(_label(inst, "fall", impact, up, resident=r.id, device_id=band,
                            recovered=False))
        return edits

    return _on_wearer(apply)


def _negative(variant: str) -> Apply:
    def apply(home: Routines, inst: ScenarioInstance, rng: random.Random,
              nrng: np.random.Generator, r: ResidentSpec, band: str, t: int,
              seg: Segment) -> list[Edit]:
        make = physics.HARD_NEGATIVE_WINDOWS[variant]
        if variant in physics.WEARER_HARD_NEGATIVES:
            window = make(nrng, wearer=physics.Wearer.draw(np_rng(home.seed, "wearer", r.id)))
        else:
            window = make(nrng)
        impact = t + int((window.impact_s or 0.0) * 1000)
        edits: list[Edit] = [BandWindow(r, t, window, "fall" if variant == "drop" else variant)]
        end = t + window.duration_ms
        if variant == "drop":
            end += rng.randint(5_000, 40_000)
            edits.append(BandWindow(r, end, physics.pick_up(nrng), "pick_up"))
            if rng.random() < 0.2:  # the band's own detector is fooled now and then
                edits.append(_event(impact + rng.randint(800, 2500), band, "wearable",
                                    "fall"))
        elif variant == "sit_hard":
            sit_end = t + int(rng.uniform(5, 20) * MINUTE_MS)
            edits.append(Override(r.id, t, sit_end, [Segment(t, sit_end, seg.place, SIT)]))
        elif variant == "sit_hard_still":
            end = t + int(rng.uniform(10, 40) * MINUTE_MS)
            edits.append(_settled(r, t, end, seg.place, SIT))
        elif variant == "bed_flop":
            end = t + int(rng.uniform(30, 120) * MINUTE_MS)
            edits.append(_settled(r, t, end, r.bedroom, NAP))
        elif variant == "take_off":
            end = t + int(rng.uniform(1, 4) * HOUR_MS)
            edits.append(BandOff(r.id, t + window.duration_ms, end))
            edits.append(BandWindow(r, end, physics.pick_up(nrng), "pick_up"))
        edits.append(_label(inst, "fall_negative", impact, end, resident=r.id,
                            device_id=band, negative=True, variant=variant))
        return edits

    return _on_wearer(apply)


def _settled(r: ResidentSpec, t: int, end: int, place: str, act: str) -> Override:
    """``r`` does ``act`` at ``place`` from ``t`` to ``end``, having just got there: the hard
    negative's window at ``t`` is the band's window of the change, so the routine must not
    draw another (a sit-down or lie-down window would read as moving again). A first
    segment too short to hold a change window, then the act itself, which continues it."""
    return Override(r.id, t, end, [Segment(t, t + 500, place, act), Segment(t + 500, end, place, act)])


def _sos(home: Routines, inst: ScenarioInstance, rng: random.Random,
         _: np.random.Generator) -> list[Edit]:
    assert inst.resident is not None and inst.device is not None
    kind = "wearable" if inst.device.endswith("-band") else "button"
    # Whoever is at home presses the household's button; a band's SOS is its owner's.
    people = [inst.resident] if kind == "wearable" else [inst.resident] + [
        r.id for r in home.spec.residents if r.id != inst.resident]
    options = [(found, person) for person in people
               if (found := home.find_time(person, inst.at_ms, _awake_home,
                                           within_ms=12 * HOUR_MS)) is not None]
    if not options:
        return [_skip(inst, "nobody is at home and awake")]
    (t, seg), resident = min(options, key=lambda option: option[0][0])
    edits: list[Edit] = [_event(t, inst.device, kind, "sos")]
    if rng.random() < 0.5:
        edits.append(_event(t + rng.randint(20_000, 60_000), inst.device, kind, "sos"))
    help_at = t + int(rng.uniform(8, 25) * MINUTE_MS)
    edits.append(_staff(home, help_at, seg.place, rng.uniform(15, 40)))
    edits.append(_label(inst, "sos", t, help_at, resident=resident, device_id=inst.device))
    return edits


# -- water ------------------------------------------------------------------------------------------


def _leak_reading(t: int, device_id: str, wet: bool) -> Emit:
    return Emit(t, device_id, "telemetry", {"ts": t, "kind": "water", "leak": wet})


def _water_leak(home: Routines, inst: ScenarioInstance, rng: random.Random,
                _: np.random.Generator) -> list[Edit]:
    d = home.spec.devices
    t0 = inst.at_ms
    t1 = t0 + int(rng.uniform(30, 120) * MINUTE_MS)
    edits: list[Edit] = [
        Wet(t0, t1 + 1),
        Flow(t0, (t1 - t0) / 1000, rng.uniform(2.0, 6.0)),
        _leak_reading(t0, d.leak, True),
        _event(t0, d.leak, "water", "leak"),
    ]
    tick = t0 + 10 * MINUTE_MS
    while tick < t1:
        edits.append(_leak_reading(tick, d.leak, True))
        tick += 10 * MINUTE_MS
    return [*edits,
            _leak_reading(t1, d.leak, False),
            _event(t1, d.leak, "water", "dry"),
            _label(inst, "water_leak", t0, t1, device_id=d.leak, devices=[d.leak, d.meter],
                   variant="sensor")]


def _slow_leak(home: Routines, inst: ScenarioInstance, rng: random.Random,
               _: np.random.Generator) -> list[Edit]:
    t0 = inst.at_ms
    t1 = t0 + int(rng.uniform(8, 16) * HOUR_MS)
    return [Flow(t0, (t1 - t0) / 1000, rng.uniform(0.2, 0.8)),
            _label(inst, "water_leak", t0, t1, device_id=home.spec.devices.meter, variant="slow")]


# -- doors ------------------------------------------------------------------------------------------


def _forced_entry(home: Routines, inst: ScenarioInstance, rng: random.Random,
                  _: np.random.Generator) -> list[Edit]:
    d = home.spec.devices
    t0 = inst.at_ms
    # Burglars come when nobody is at home, if that happens within a few hours.
    for t in range(inst.at_ms, inst.at_ms + 8 * HOUR_MS, 5 * MINUTE_MS):
        if not home.someone_home(t) and not home.someone_home(t + 30 * MINUTE_MS):
            t0 = t + rng.randint(0, 4 * MINUTE_MS)
            break
    edits: list[Edit] = []
    if rng.random() < 0.5:
        denied = t0 - rng.randint(20_000, 60_000)
        edits.append(_event(denied, d.lock, "door", "denied", credential="pin"))
    edits.append(_event(t0, d.lock, "door", "forced"))
    edits.append(DoorCycle(t0 + rng.randint(1000, 3000), None, open_ms=rng.randint(20_000, 60_000),
                           lock=False, unlock=False))
    leave = t0 + int(rng.uniform(5, 15) * MINUTE_MS)
    edits.append(Arrive(Visit(t0 + 30_000, leave, ("hall", "living", "bedroom"), door=False)))

    def left(closed: int) -> list[Edit]:
        return [HoldDoor(t0 - 60_000, closed),
                _label(inst, "forced_entry", t0, closed, device_id=d.lock,
                       devices=[d.lock, d.door])]

    edits.append(DoorCycle(leave, None, lock=False, unlock=False, then=left))
    return edits


def _door_left_open(home: Routines, inst: ScenarioInstance, rng: random.Random,
                    _: np.random.Generator) -> list[Edit]:
    t0 = inst.at_ms
    open_ms = int(rng.uniform(15, 60) * MINUTE_MS)
    closed = t0 + open_ms
    return [DoorCycle(t0, "inside", open_ms=open_ms),
            HoldDoor(t0 - 15_000, closed + 25_000),
            _label(inst, "door_left_open", t0, closed, device_id=home.spec.devices.door)]


def _night_wandering(home: Routines, inst: ScenarioInstance, rng: random.Random,
                     _: np.random.Generator) -> list[Edit]:
    assert inst.resident is not None
    r = home.resident(inst.resident)
    d = home.spec.devices
    found = home.find_time(r.id, inst.at_ms, lambda s: s.act == SLEEP, within_ms=HOUR_MS,
                           margin_ms=20 * MINUTE_MS)
    if found is None:
        return [_skip(inst, "the resident is not asleep at that time")]
    wake, sleep = found
    t0 = wake + int(rng.uniform(3, 8) * MINUTE_MS)
    back = t0 + int(rng.uniform(20, 90) * MINUTE_MS)
    settle = back + int(rng.uniform(10, 20) * MINUTE_MS)
    end = max(sleep.end, settle + 10 * MINUTE_MS)
    return [
        Override(r.id, wake, end, [
            Segment(wake, wake + 2 * MINUTE_MS, r.bedroom, CHORES),
            Segment(wake + 2 * MINUTE_MS, t0, "hall", CHORES),
            Segment(t0, back, OUT, WANDER),
            Segment(back, settle, "living", SIT),
            Segment(settle, end, r.bedroom, SLEEP),
        ]),
        # Brought back by a neighbour or the night guard, who lets them in.
        LetIn(r.id, back, "card:staff"),
        _label(inst, "night_wandering", t0, back, resident=r.id, device_id=d.door,
               devices=[d.door, d.lock] + ([r.wearable] if r.wearable else [])),
    ]


# -- inactivity -------------------------------------------------------------------------------------


def _inactivity(home: Routines, inst: ScenarioInstance, rng: random.Random,
                nrng: np.random.Generator) -> list[Edit]:
    r = home.spec.residents[0]
    found = home.find_time(r.id, inst.at_ms, _awake_home, within_ms=4 * HOUR_MS)
    if found is None:
        return [_skip(inst, "the resident is never at home and awake")]
    t0, seg = found
    zone = home.zone
    late = local_midnight(zone, local_date(zone, t0)) + int(20.5 * HOUR_MS)
    found_at = min(t0 + int(rng.uniform(5, 9) * HOUR_MS), late)
    found_at = max(found_at, t0 + 4 * HOUR_MS)
    gone = found_at + 20 * MINUTE_MS
    # Taken to hospital, back two days later.
    edits: list[Edit] = [Override(r.id, t0, gone + 2 * DAY_MS, [
        Segment(t0, gone, seg.place, COLLAPSED),
        Segment(gone, gone + 2 * DAY_MS, OUT, AWAY),
    ])]
    worn = rng.random() < 0.5
    if r.wearable is not None:
        edits.append(BandOff(r.id, gone, gone + 2 * DAY_MS))  # left at home
        if not worn:
            edits.append(BandOff(r.id, t0 - rng.randint(10, 60) * MINUTE_MS, gone))
        posture = physics.SITTING if seg.act in (SIT,) else physics.LYING[0]
        tick = t0 + 20 * MINUTE_MS
        while tick < found_at:
            window = physics.lying(nrng, posture=posture) if worn else physics.off_wrist(nrng)
            edits.append(BandWindow(r, tick, window, "lying", 0))
            tick += 20 * MINUTE_MS
    edits.append(_staff(home, found_at, seg.place, 20))
    edits.append(_label(inst, "inactivity", t0, found_at, resident=r.id,
                        variant="band_worn" if worn and r.wearable else "band_off"))
    return edits


# -- routine changes (abnormal_routine) -------------------------------------------------------------

# A routine change needs a routine to change: this many days of ordinary life come first.
ROUTINE_LEAD_DAYS = 9
WITHDRAWAL_DAYS = 14
NIGHT_TRIP_DAYS = 10
NIGHT_TRIP_RAMP = 4  # nights over which the extra trips come in
# A night's trips start this far apart at least: 15 minutes back in bed after a trip of up
# to 6. A draw too close to another is drawn again, this many times at most.
NIGHT_TRIP_SPACING_MS = 21 * MINUTE_MS
NIGHT_TRIP_DRAWS = 20


def _ahead(home: Routines, resident_id: str, until: int) -> list[Segment]:
    """The resident's segments until ``until``, read from a copy of the routines generated
    that far: a scenario reads, only its edits change the household."""
    preview = copy.deepcopy(home)
    preview.ensure(until)
    return preview.timelines[resident_id].segments


def _resident_day(home: Routines, inst: ScenarioInstance) -> tuple[ResidentSpec, date]:
    assert inst.resident is not None
    return home.resident(inst.resident), local_date(home.zone, inst.at_ms)


def _not_getting_up(home: Routines, inst: ScenarioInstance, rng: random.Random,
                    _: np.random.Generator) -> list[Edit]:
    r, day = _resident_day(home, inst)
    plan = plan_day(home.seed, home.spec, r, day)
    asleep = [seg for seg in _ahead(home, r.id, plan.bed)
              if seg.start < plan.wake - MINUTE_MS < seg.end]
    if not asleep or asleep[0].act != SLEEP:
        return [_skip(inst, "the resident is not in bed that morning")]
    all_day = rng.random() < 0.3
    up = plan.bed if all_day else plan.wake + int(rng.uniform(4, 9) * HOUR_MS)
    return [Override(r.id, plan.wake, up, [Segment(plan.wake, up, r.bedroom, SLEEP)]),
            _label(inst, "abnormal_routine", plan.wake, up, resident=r.id,
                   variant="all_day" if all_day else "late", reason="not_up")]


def _withdrawal(home: Routines, inst: ScenarioInstance, rng: random.Random,
                _: np.random.Generator) -> list[Edit]:
    r, first = _resident_day(home, inst)
    start = plan_day(home.seed, home.spec, r, first).wake
    end = plan_day(home.seed, home.spec, r, first + timedelta(days=WITHDRAWAL_DAYS)).wake
    changed: list[Segment] = []
    for seg in _ahead(home, r.id, end + DAY_MS):
        if seg.end <= start or seg.start >= end:
            continue
        seg = Segment(max(seg.start, start), min(seg.end, end), seg.place, seg.act)
        # How far along: outings stop first, then more and more of the day is spent in bed.
        progress = (seg.start - start) / (end - start)
        if seg.act == AWAY:
            to_bed = min(1.0, 1.5 * progress + 0.1)
        else:
            to_bed = 0.7 * progress if seg.act in (SIT, CHORES) and seg.home else 0.0
        if rng.random() < to_bed:
            seg = Segment(seg.start, seg.end, r.bedroom, NAP)
        changed.append(seg)
    return [Override(r.id, start, end, changed),
            _label(inst, "abnormal_routine", start, end, resident=r.id, reason="withdrawal")]


def _night_trips(home: Routines, inst: ScenarioInstance, rng: random.Random,
                 _: np.random.Generator) -> list[Edit]:
    r, first = _resident_day(home, inst)
    edits: list[Edit] = []
    begin: int | None = None
    last = 0
    segments_ahead = _ahead(home, r.id, local_midnight(home.zone, first) + (NIGHT_TRIP_DAYS + 2) * DAY_MS)
    for n in range(NIGHT_TRIP_DAYS):
        day = first + timedelta(days=n)
        bed = plan_day(home.seed, home.spec, r, day).bed
        wake = plan_day(home.seed, home.spec, r, day + timedelta(days=1)).wake
        night = [seg for seg in segments_ahead if bed <= seg.start < wake]
        if not night or any(seg.act not in (SLEEP, TOILET) for seg in night):
            continue  # another scenario's night
        trips = [seg.start for seg in night if seg.act == TOILET]
        if rng.random() >= (n + 1) / NIGHT_TRIP_RAMP:
            continue
        # Twice the usual trips and one more, each drawn clear of the others: a trip too
        # close to the one before is dropped below, and the night would fall short.
        for _trip in range(len(trips) + 1):
            for _draw in range(NIGHT_TRIP_DRAWS):
                t = bed + int(rng.uniform(45 * MINUTE_MS, max(wake - bed - 40 * MINUTE_MS,
                                                              50 * MINUTE_MS)))
                if all(abs(t - other) >= NIGHT_TRIP_SPACING_MS for other in trips):
                    break
            trips.append(t)
        trips.sort()
        segments: list[Segment] = []
        cursor = bed
        for t in trips:
            if t < cursor + 15 * MINUTE_MS or t > wake - 20 * MINUTE_MS:
                continue
            back = t + int(rng.uniform(3, 6) * MINUTE_MS)
            segments += [Segment(cursor, t, r.bedroom, SLEEP), Segment(t, back, "bathroom", TOILET)]
            cursor = back
        segments.append(Segment(cursor, wake, r.bedroom, SLEEP))
        edits.append(Override(r.id, bed, wake, segments))
        begin = bed if begin is None else begin
        last = wake
    if begin is None:
        return [_skip(inst, "no night of the resident's own to change")]
    return [*edits, _label(inst, "abnormal_routine", begin, last, resident=r.id,
                           reason="night_trips")]


# -- device health ----------------------------------------------------------------------------------


def _offline(last_will: bool) -> Apply:
    def apply(home: Routines, inst: ScenarioInstance, rng: random.Random,
              _: np.random.Generator) -> list[Edit]:
        assert inst.device is not None
        device_id = inst.device
        t0 = inst.at_ms
        back = t0 + int(rng.uniform(2, 8) * HOUR_MS)
        edits: list[Edit] = [Silence(device_id, t0, back), Status(device_id, back)]  # back on line
        if last_will:
            return [*edits,
                    Emit(t0, device_id, "status", {"ts": t0, "online": False, "will": True}, WILL),
                    _label(inst, "device_offline", t0, back, device_id=device_id,
                           variant="last_will")]
        fields = _fields(inst, "device_offline", t0, None, device_id=device_id, variant="silent")
        return [*edits, SilentDeathLabel(device_id, t0, back, fields)]

    return apply


def _battery_low(home: Routines, inst: ScenarioInstance, rng: random.Random,
                 _: np.random.Generator) -> list[Edit]:
    assert inst.device is not None
    t0 = inst.at_ms
    report = t0 + 5 * MINUTE_MS  # the first report below the mark
    end = home.end_ms if home.end_ms is not None else report + DAY_MS
    return [FailingBattery(inst.device, t0), Status(inst.device, report),
            _label(inst, "battery_low", report, end, device_id=inst.device,
                   threshold=BATTERY_LOW_PCT)]


def _tamper(home: Routines, inst: ScenarioInstance, rng: random.Random,
            _: np.random.Generator) -> list[Edit]:
    assert inst.device is not None
    t0 = inst.at_ms
    back = t0 + int(rng.uniform(5, 40) * MINUTE_MS)
    return [_event(t0, inst.device, "smoke", "tamper"),
            _event(back, inst.device, "smoke", "test"),  # put back on its base: self test
            _label(inst, "tamper", t0, back, device_id=inst.device)]


# -- choosing who and what ---------------------------------------------------------------------------


def _any(_: HouseholdSpec) -> bool:
    return True


def _has_wearer(h: HouseholdSpec) -> bool:
    return bool(h.wearers)


def _has_dementia(h: HouseholdSpec) -> bool:
    return any(r.dementia for r in h.residents)


def _pick_wearer(h: HouseholdSpec, rng: random.Random) -> tuple[str | None, str | None]:
    r = rng.choice(h.wearers)
    return r.id, r.wearable


def _pick_nothing(h: HouseholdSpec, rng: random.Random) -> tuple[str | None, str | None]:
    return None, None


def _pick_sos(h: HouseholdSpec, rng: random.Random) -> tuple[str | None, str | None]:
    if h.wearers and rng.random() < 0.4:
        r = rng.choice(h.wearers)
        return r.id, r.wearable
    elderly = [r for r in h.residents if r.elderly] or list(h.residents)
    return rng.choice(elderly).id, h.devices.button


def _pick_dementia(h: HouseholdSpec, rng: random.Random) -> tuple[str | None, str | None]:
    return rng.choice([r for r in h.residents if r.dementia]).id, None


def _alone(h: HouseholdSpec) -> bool:
    return h.lives_alone


def _pick_alone(h: HouseholdSpec, rng: random.Random) -> tuple[str | None, str | None]:
    return h.residents[0].id, None


def _pick_device(h: HouseholdSpec, rng: random.Random) -> tuple[str | None, str | None]:
    d = h.devices
    choices = [d.smoke_kitchen, d.smoke_hall, d.leak, d.meter, d.door, d.lock,
               *(device_id for _, device_id in d.motion)]
    return None, rng.choice(choices)


def _pick_battery(h: HouseholdSpec, rng: random.Random) -> tuple[str | None, str | None]:
    d = h.devices
    return None, rng.choice([d.smoke_kitchen, d.smoke_hall, d.leak, d.door, d.lock, d.button,
                             *(device_id for _, device_id in d.motion)])


def _pick_smoke(h: HouseholdSpec, rng: random.Random) -> tuple[str | None, str | None]:
    return None, rng.choice([h.devices.smoke_kitchen, h.devices.smoke_hall])


_DAY = ((8.0, 20.0),)
_ALWAYS = ((0.0, 24.0),)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("fire", "fire",
             "a real fire in the kitchen: obscuration rises over minutes past the alarm level on "
             "the kitchen detector, then on the hall detector, temperature and CO rise; the "
             "residents leave. Start: ignition (first smoke rise); end: both detectors clear.",
             _any, _ALWAYS, 45 * MINUTE_MS, _pick_nothing, _fire),
    Scenario("cooking_smoke", "nuisance_smoke",
             "burnt food while cooking: a short spike on the kitchen detector only (mostly past "
             "the alarm level) that clears within about two minutes, no temperature rise. "
             "Start: spike begins; end: back below the pre-alarm level.",
             _any, ((6.75, 7.5), (11.0, 12.25), (17.0, 18.75)), 10 * MINUTE_MS, _pick_nothing,
             _cooking_smoke),
    Scenario("fall", "fall",
             "a fall that the resident cannot get up from: free fall, impact, lying still "
             "(the band reports every 2 min) until staff arrive. Start: impact; end: helped up.",
             # Early enough that the staff who come to help have left before night hours.
             _has_wearer, ((8.0, 19.5),), 60 * MINUTE_MS, _pick_wearer, _fall(False),
             "an elderly resident with a band"),
    Scenario("fall_recovered", "fall",
             "a fall the resident gets up from after 15-90 s. Start: impact; end: up again.",
             _has_wearer, _DAY, 10 * MINUTE_MS, _pick_wearer, _fall(True),
             "an elderly resident with a band"),
    Scenario("drop_wearable", "fall_negative",
             "hard negative: the band slips off and hits the floor (free fall and impact, then "
             "dead still and flat, no heart rate) and is picked up again. Start: the impact; "
             "end: picked up.",
             _has_wearer, _DAY, 10 * MINUTE_MS, _pick_wearer, _negative("drop"),
             "an elderly resident with a band"),
    Scenario("sit_hard", "fall_negative",
             "hard negative: dropping heavily onto a chair (no free fall, peak below 2.5 g). "
             "Start: hitting the seat.",
             _has_wearer, _DAY, 10 * MINUTE_MS, _pick_wearer, _negative("sit_hard"),
             "an elderly resident with a band"),
    Scenario("jump", "fall_negative",
             "hard negative: a jump (flight and a landing above 2.5 g, but upright throughout). "
             "Start: the landing.",
             _has_wearer, _DAY, 10 * MINUTE_MS, _pick_wearer, _negative("jump"),
             "an elderly resident with a band"),
    Scenario("sit_hard_still", "fall_negative",
             "hard negative the rules fall for: slumping onto a sofa (a cushioned impact of "
             "2.3-3.6 g, the resident's own) and sitting still there for 10-40 min. Start: "
             "hitting the seat; end: getting up.",
             _has_wearer, _DAY, 10 * MINUTE_MS, _pick_wearer, _negative("sit_hard_still"),
             "an elderly resident with a band"),
    Scenario("take_off", "fall_negative",
             "hard negative the rules fall for: the band taken off and dropped on a table "
             "(free fall, a sharp impact, then flat for 1-4 h, its sensor's own noise only) "
             "and put on again. Start: the impact; end: put on again.",
             _has_wearer, _DAY, 10 * MINUTE_MS, _pick_wearer, _negative("take_off"),
             "an elderly resident with a band"),
    Scenario("bed_flop", "fall_negative",
             "hard negative the rules fall for: flopping onto the bed (a soft, wide impact "
             "and a mattress rebound) and napping for 30-120 min. Start: landing on the "
             "bed; end: getting up.",
             _has_wearer, _DAY, 10 * MINUTE_MS, _pick_wearer, _negative("bed_flop"),
             "an elderly resident with a band"),
    Scenario("sos", "sos",
             "an SOS press on the household's button or a resident's band (sometimes twice). "
             "Start: the press; end: staff arrive.",
             _any, ((8.0, 20.0),), 30 * MINUTE_MS, _pick_sos, _sos),
    Scenario("water_leak", "water_leak",
             "a leak under the kitchen sink: the leak sensor reports wet (telemetry and a "
             "'leak' event) and the meter sees 2-6 l/min until it is fixed ('dry').",
             _any, _ALWAYS, 60 * MINUTE_MS, _pick_nothing, _water_leak),
    Scenario("slow_leak", "water_leak",
             "a running toilet: 0.2-0.8 l/min on the main water meter for 8-16 hours, nights "
             "included; no leak sensor sees it.",
             _any, _ALWAYS, 6 * HOUR_MS, _pick_nothing, _slow_leak),
    Scenario("forced_entry", "forced_entry",
             "a break-in while nobody is home if possible: the lock reports 'forced' (maybe "
             "after a 'denied'), the door opens with no unlock, an intruder moves about. "
             "Start: 'forced'; end: the intruder leaves.",
             _any, ((9.0, 16.0),), 30 * MINUTE_MS, _pick_nothing, _forced_entry),
    Scenario("door_left_open", "door_left_open",
             "the front door is left open for 15-60 minutes. Start: opening; end: closing.",
             _any, _DAY, 70 * MINUTE_MS, _pick_nothing, _door_left_open),
    Scenario("night_wandering", "night_wandering",
             "a resident with dementia gets up in the household's night hours and leaves by the "
             "front door for 20-90 minutes, then is brought back. Start: the door opening; "
             "end: back in.",
             _has_dementia, (), 2 * HOUR_MS, _pick_dementia, _night_wandering,
             "a resident with dementia"),
    Scenario("inactivity", "inactivity",
             "an elderly person living alone collapses at home: all activity stops (no motion, "
             "water or door; the band, if worn, lies still) until found hours later. "
             "Start: the last activity; end: found.",
             lambda h: h.elderly_alone, ((9.0, 14.0),), 5 * HOUR_MS, _pick_alone, _inactivity,
             "an elderly person living alone"),
    Scenario("device_offline", "device_offline",
             "a device's connection is cut: the broker publishes its last will "
             "{\"online\": false} (live mode runs it on its own MQTT connection and cuts the "
             "socket); it comes back 2-8 h later. Start: the cut.",
             _any, _ALWAYS, 3 * HOUR_MS, _pick_device, _offline(True)),
    Scenario("device_silent", "device_offline",
             "a device dies silently (no last will): its messages and heartbeats just stop, "
             "for 2-8 h. Start: its last message.",
             _any, _ALWAYS, 3 * HOUR_MS, _pick_device, _offline(False)),
    Scenario("battery_low", "battery_low",
             f"a failing battery drains about 1.2 points an hour past {BATTERY_LOW_PCT:g} %. "
             "Start: the first status report below it.",
             _any, _ALWAYS, 60 * MINUTE_MS, _pick_battery, _battery_low),
    Scenario("tamper", "tamper",
             "a smoke detector is taken off its base ('tamper' event) and put back 5-40 min "
             "later ('test'). Start: 'tamper'; end: put back.",
             _any, ((8.0, 22.0),), 45 * MINUTE_MS, _pick_smoke, _tamper),
    Scenario("not_getting_up", "abnormal_routine",
             "a resident living alone stays in bed one morning: 4-9 hours past their wake time, "
             "or (3 in 10) all day until bedtime, with only the bedroom sensor seeing them "
             "turn over (unlike inactivity: alive, not collapsed). Start: their planned wake "
             "time; end: up.",
             _alone, ((3.5, 4.5),), DAY_MS, _pick_alone, _not_getting_up,
             "a resident living alone", ROUTINE_LEAD_DAYS * DAY_MS),
    Scenario("withdrawal", "abnormal_routine",
             f"a resident living alone slowly withdraws over {WITHDRAWAL_DAYS} days: outings "
             "stop (the last days not leaving home at all) and ever more of the day is spent "
             "in bed. Start: the first day's wake time; end: the last day's.",
             _alone, ((3.5, 4.5),), (WITHDRAWAL_DAYS + 1) * DAY_MS, _pick_alone, _withdrawal,
             "a resident living alone", ROUTINE_LEAD_DAYS * DAY_MS),
    Scenario("night_trips", "abnormal_routine",
             f"a resident living alone gets up at night more and more: over {NIGHT_TRIP_RAMP} "
             "nights their bathroom trips grow to twice the usual and one more, for "
             f"{NIGHT_TRIP_DAYS} nights. Start: bedtime of the first night; end: waking after "
             "the last changed one.",
             _alone, ((12.0, 14.0),), (NIGHT_TRIP_DAYS + 1) * DAY_MS, _pick_alone, _night_trips,
             "a resident living alone", ROUTINE_LEAD_DAYS * DAY_MS),
)}

#: Multi-week changes of a resident's routine (label ``abnormal_routine``), chosen by name or
#: as ``routine``; the other scenarios are the ``incidents``.
ROUTINE_SCENARIOS: tuple[str, ...] = ("not_getting_up", "withdrawal", "night_trips")
# Hard negatives the fall rules take for a fall. Out of the default mix, which the detectors'
# defaults (the rules) are tested and benched against; bench/evaluate_fall.py, ``safehood
# train --input`` recordings and ``--scenarios all`` (the demo) bring them in by name.
RULE_FOOLING_SCENARIOS: tuple[str, ...] = ("sit_hard_still", "take_off", "bed_flop")
INCIDENT_SCENARIOS: tuple[str, ...] = tuple(
    n for n in SCENARIOS if n not in ROUTINE_SCENARIOS and n not in RULE_FOOLING_SCENARIOS)


def scenario_edits(home: Routines, inst: ScenarioInstance) -> list[Edit]:
    """What ``inst`` changes in ``home``'s routine and traffic, with its label."""
    return SCENARIOS[inst.name].apply(home, inst, py_rng(home.seed, "scenario", inst.index),
                                      np_rng(home.seed, "scenario", inst.index))


class ScenarioQueue:
    """One household's planned incidents that have not been applied yet."""

    def __init__(self, instances: Iterable[ScenarioInstance] = ()) -> None:
        self._pending: list[ScenarioInstance] = list(instances)

    def add(self, inst: ScenarioInstance) -> None:
        self._pending.append(inst)

    def take_due(self, before_ms: int) -> list[ScenarioInstance]:
        """The incidents planned before ``before_ms``, in time order; they leave the queue."""
        due = sorted((inst for inst in self._pending if inst.at_ms < before_ms),
                     key=lambda inst: inst.at_ms)
        if due:
            self._pending = [inst for inst in self._pending if inst.at_ms >= before_ms]
        return due


def describe_scenarios() -> str:
    """The scenario list for ``--help``, generated from :data:`SCENARIOS`."""
    lines = []
    for s in SCENARIOS.values():
        where = "" if s.needs == "any household" else f"; needs {s.needs}"
        lines.append(f"  {s.name} (label {s.label}{where})")
        lines.extend(textwrap.wrap(s.description, width=88, initial_indent="      ",
                                   subsequent_indent="      "))
    return "\n".join(lines)


def parse_scenario_names(text: str) -> tuple[str, ...]:
    """``incidents`` (the short incidents), ``routine`` (the routine changes), ``all``,
    ``none`` or a comma-separated list of scenario names."""
    text = text.strip()
    if text == "all":
        return tuple(SCENARIOS)
    if text == "incidents":
        return INCIDENT_SCENARIOS
    if text == "routine":
        return ROUTINE_SCENARIOS
    if text in ("none", ""):
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return names


# -- planning ----------------------------------------------------------------------------------------


def _windows(kind: Scenario, h: HouseholdSpec, start: int, end: int) -> list[tuple[int, int]]:
    """Where ``kind`` may start in ``h``: its local hours, an hour after the recording starts,
    and early enough to play out before it ends."""
    lo_limit = start + kind.lead_ms
    hi_limit = end - kind.min_ms
    if hi_limit <= lo_limit:
        return []
    zone = h.zone
    out: list[tuple[int, int]] = []
    for day in dates_between(zone, start - DAY_MS, end):
        midnight = local_midnight(zone, day)
        if kind.hours:
            spans = [(midnight + int(a * HOUR_MS), midnight + int(b * HOUR_MS)) for a, b in kind.hours]
        else:
            ns = _minutes(h.night[0])
            ne = _minutes(h.night[1])
            following = local_midnight(zone, day + timedelta(days=1))
            spans = [(midnight + (ns + 30) * MINUTE_MS, following + (ne - 60) * MINUTE_MS)]
        for a, b in spans:
            a, b = max(a, lo_limit), min(b, hi_limit)
            if b > a:
                out.append((a, b))
    return out


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def in_night(h: HouseholdSpec, t: int) -> bool:
    """Whether ``t`` falls in ``h``'s night hours (local time), as the protocol reads them."""
    local = datetime.fromtimestamp(t / 1000, h.zone).time()
    return in_window(local, time.fromisoformat(h.night[0]), time.fromisoformat(h.night[1]))


def plan_scenarios(
    community: Community,
    *,
    seed: int,
    start_ms: int,
    end_ms: int,
    names: Sequence[str],
    rate: float,
    requests: Sequence[ScenarioRequest] = (),
    first_index: int = 0,
    each_once: bool = True,
) -> tuple[list[ScenarioInstance], list[str]]:
    """Place incidents: ``rate`` per 100 household-days in all (and each of ``names`` at
    least once when ``each_once``), at most one random incident per household and local day;
    plus ``requests``.

    Returns the instances and a note for each scenario that could not be placed. Raises
    ``ValueError`` for a request that cannot be honoured (unknown household, outside the
    recording, a household where it cannot happen, night wandering by day).
    """
    rng = py_rng(seed, "plan", start_ms)
    instances: list[ScenarioInstance] = []
    notes: list[str] = []
    index = first_index
    by_id = {h.id: h for h in community.households}
    for request in requests:
        kind = SCENARIOS.get(request.name)
        if kind is None:
            raise ValueError(f"unknown scenario {request.name!r}; known: {', '.join(SCENARIOS)}")
        if not start_ms <= request.at_ms < end_ms:
            raise ValueError(f"{request.name}: the time is outside the simulated period")
        if request.household is not None:
            if request.household not in by_id:
                raise ValueError(f"{request.name}: unknown household {request.household!r}")
            household = by_id[request.household]
            if not kind.eligible(household):
                raise ValueError(f"{request.name} needs {kind.needs}; {household.id} has none")
        else:
            eligible = [h for h in community.households if kind.eligible(h)]
            if not eligible:
                raise ValueError(f"{request.name} needs {kind.needs}; the community has none")
            if not kind.hours:
                eligible = [h for h in eligible if in_night(h, request.at_ms)] or eligible
            household = rng.choice(eligible)
        if not kind.hours and not in_night(household, request.at_ms):
            raise ValueError(f"{request.name} happens in night hours; the time is outside "
                             f"{household.id}'s ({household.night[0]}-{household.night[1]})")
        resident, device = kind.pick(household, rng)
        instances.append(ScenarioInstance(request.name, request.at_ms, household=household.id,
                                          index=index, resident=resident, device=device))
        index += 1

    if not names:
        return instances, notes
    days = (end_ms - start_ms) / DAY_MS
    expected = rate * len(community.households) * days / 100
    # Whole incidents: the fraction becomes one more incident with that probability.
    count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
    order = list(names) if each_once else []
    rng.shuffle(order)
    order += [rng.choice(names) for _ in range(max(0, count - len(order)))]
    used: set[tuple[str, date]] = set()
    changed: set[str] = set()  # households whose routine a scenario changes
    eligible_cache: dict[str, list[HouseholdSpec]] = {}
    for name in order:
        kind = SCENARIOS[name]
        eligible = eligible_cache.setdefault(
            name, [h for h in community.households if kind.eligible(h)])
        if not eligible:
            notes.append(f"{name}: no household with {kind.needs}")
            continue
        placed = False
        for _ in range(30):
            household = rng.choice(eligible)
            windows = _windows(kind, household, start_ms, end_ms)
            total = sum(b - a for a, b in windows)
            if total <= 0:
                break
            pick = rng.randrange(total)
            for a, b in windows:
                if pick < b - a:
                    at = a + pick
                    break
                pick -= b - a
            key = (household.id, local_date(household.zone, at))
            if key in used or (name in ROUTINE_SCENARIOS and household.id in changed):
                continue
            used.add(key)
            if name in ROUTINE_SCENARIOS:
                changed.add(household.id)  # one routine change at a time
            resident, device = kind.pick(household, rng)
            instances.append(ScenarioInstance(name, at, household=household.id, index=index,
                                              resident=resident, device=device))
            index += 1
            placed = True
            break
        if not placed:
            notes.append(f"{name}: no room for it in the simulated period")
    return instances, notes

