"""A household's devices that follow what its people do: motion, water, smoke, the front
door, the bands.

Each group keeps its own state and sends through the unit's ``send`` (so the unit numbers
and transmits everything), drawing from the unit's random source in the order the unit
calls it: the traffic of a seed does not depend on how the work is split up.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np

from . import _physics as physics
from ._community import HouseholdDevices, ResidentSpec
from ._edits import RELIABLE, SmokeProfile, Visit
from ._rng import between, inside
from ._timeline import (
    AWAY,
    CHORES,
    CLEAN,
    COLLAPSED,
    COOK,
    EAT,
    FALLEN,
    NAP,
    SHOWER,
    SIT,
    SLEEP,
    TOILET,
    VISIT,
    WANDER,
    WASH,
    Segment,
)
from .const import (
    HOUR_MS,
    LEAK_PERIOD_MS,
    METER_ACTIVE_LPM,
    METER_PERIOD_MS,
    MINUTE_MS,
    OCCUPANCY_TIMEOUT_MS,
    OUT,
    PIR_BLIND_MS,
    SMOKE_ALARM,
    SMOKE_FAST_PERIOD_MS,
    SMOKE_MAX,
    SMOKE_PERIOD_MS,
    SMOKE_PREALARM,
    WEARABLE_ASLEEP_PERIOD_MS,
    WEARABLE_AWAKE_PERIOD_MS,
)


class Send(Protocol):
    """Hand one raw message to the unit that numbers and transmits it."""

    def __call__(self, ts: int, device_id: str, channel: str, payload: dict[str, Any],
                 flags: int = 0, /) -> None: ...


# act -> seconds between motion detections while someone does it (None: no motion at all)
_MOTION_GAP_S: dict[str, tuple[int, int] | None] = {
    SLEEP: (1800, 5400), NAP: (1200, 3000),
    SIT: (180, 600), EAT: (120, 360), VISIT: (120, 420),
    COOK: (75, 240), CLEAN: (75, 240), CHORES: (75, 240), WASH: (75, 180),
    SHOWER: (90, 240), TOILET: (75, 180),
    FALLEN: None, COLLAPSED: None, AWAY: None, WANDER: None,
}


class _HouseholdSensors:
    """What every household sensor group starts from: the household's device ids, the
    unit's random source and its ``send``."""

    def __init__(self, devices: HouseholdDevices, rng: random.Random, send: Send) -> None:
        self.devices = devices
        self.rng = rng
        self.emit = send


class MotionSensors(_HouseholdSensors):
    """The household's PIR sensors: detections queued per sensor, sent with blind time and
    the occupancy they imply."""

    def __init__(self, devices: HouseholdDevices, rng: random.Random, send: Send) -> None:
        super().__init__(devices, rng, send)
        self.pending: dict[str, list[int]] = {dev: [] for _, dev in devices.motion}
        self.state: dict[str, tuple[int | None, bool]] = {dev: (None, False) for _, dev in devices.motion}

    def segment(self, prev: Segment | None, seg: Segment) -> None:
        rng = self.rng
        pending = self.pending
        d = self.devices
        hall = d.motion_in("hall")
        if prev is not None and prev.place != seg.place and hall is not None:
            if seg.home and prev.home and "hall" not in (seg.place, prev.place):
                pending[hall].append(seg.start - between(rng, 1000, 4000))
            elif seg.home and not prev.home:
                pending[hall].append(seg.start + between(rng, 3000, 8000))
            elif prev.home and not seg.home:
                pending[hall].append(seg.start - between(rng, 15000, 30000))
        gap = _MOTION_GAP_S.get(seg.act)
        sensor = d.motion_in(seg.place) if seg.home else None
        if gap is None or sensor is None:
            return
        times = pending[sensor]
        lo, hi = gap
        t = seg.start + between(rng, 2000, 8000)
        end = seg.end
        while t < end:
            times.append(t)
            t += between(rng, lo, hi) * 1000

    def visit(self, visit: Visit) -> None:
        rng = self.rng
        d = self.devices
        hall = d.motion_in("hall")
        if hall is not None:
            self.pending[hall].append(visit.start + between(rng, 3000, 8000))
            self.pending[hall].append(visit.end - rng.randint(10000, 30000))
        span = (visit.end - visit.start) // len(visit.rooms)
        for i, room in enumerate(visit.rooms):
            sensor = d.motion_in(room)
            if sensor is None:
                continue
            t = visit.start + i * span + rng.randint(5000, 15000)
            end = visit.start + (i + 1) * span
            while t < end:
                self.pending[sensor].append(t)
                t += rng.randint(60, 300) * 1000

    def run(self, b: int) -> None:
        for sensor, pending in self.pending.items():
            if not pending:
                continue
            pending.sort()
            cut = bisect.bisect_left(pending, b)
            now, self.pending[sensor] = pending[:cut], pending[cut:]
            last, occupied = self.state[sensor]
            for t in now:
                if last is not None and t - last < PIR_BLIND_MS:
                    continue
                if occupied and last is not None and t - last >= OCCUPANCY_TIMEOUT_MS:
                    off = last + OCCUPANCY_TIMEOUT_MS
                    self.emit(off, sensor, "telemetry", {"ts": off, "kind": "motion", "occupancy": False})
                    occupied = False
                self.emit(t, sensor, "event", {"ts": t, "kind": "motion", "event": "motion"})
                if not occupied:
                    self.emit(t, sensor, "telemetry", {"ts": t, "kind": "motion", "occupancy": True})
                    occupied = True
                last = t
            if occupied and last is not None and last + OCCUPANCY_TIMEOUT_MS < b \
                    and not self.pending[sensor]:
                off = last + OCCUPANCY_TIMEOUT_MS
                self.emit(off, sensor, "telemetry", {"ts": off, "kind": "motion", "occupancy": False})
                occupied = False
            self.state[sensor] = (last, occupied)


class WaterSensors(_HouseholdSensors):
    """The main water meter (flow per minute, 15-minute averages) and the leak sensor."""

    def __init__(self, devices: HouseholdDevices, rng: random.Random, send: Send, meter_phase_ms: int,
                 leak_phase_ms: int) -> None:
        super().__init__(devices, rng, send)
        self.phase = {devices.meter: meter_phase_ms, devices.leak: leak_phase_ms}
        self.flows: dict[int, float] = {}  # minute -> litres
        self.wet: list[tuple[int, int]] = []

    def add_flow(self, t: int, seconds: float, lpm: float) -> None:
        """Water through the main meter from ``t`` for ``seconds`` at ``lpm`` litres a minute."""
        flows = self.flows
        end = t + int(seconds * 1000)
        cursor = t
        while cursor < end:
            minute = cursor // MINUTE_MS
            upto = min(end, (minute + 1) * MINUTE_MS)
            flows[minute] = flows.get(minute, 0.0) + lpm * (upto - cursor) / MINUTE_MS
            cursor = upto

    def segment(self, seg: Segment) -> None:
        rng = self.rng
        act = seg.act
        dur_s = (seg.end - seg.start) / 1000
        if act == TOILET:
            self.add_flow(seg.end - 60_000, 40, 9.0)
            self.add_flow(seg.end - 18_000, 15, 4.0)
        elif act == WASH:
            self.add_flow(seg.start + 30_000, min(180, max(20, dur_s - 60)), 4.0)
        elif act == SHOWER:
            self.add_flow(seg.start + 60_000, max(60, dur_s - 180), rng.uniform(7, 9))
        elif act == COOK:
            self.add_flow(seg.start + 60_000, 30, 5.0)
            self.add_flow(seg.start + int(dur_s * 500), 20, 5.0)
        elif act == CLEAN:
            self.add_flow(seg.start + 30_000, min(240, max(30, dur_s - 60)), 5.0)

    def run(self, a: int, b: int) -> None:
        d = self.devices
        flows = self.flows
        rng = self.rng
        for minute in sorted(m for m in flows if a <= (m + 1) * MINUTE_MS < b):
            litres = flows[minute]
            if litres >= METER_ACTIVE_LPM:
                t = (minute + 1) * MINUTE_MS + between(rng, 500, 2500)
                self.emit(t, d.meter, "telemetry",
                          {"ts": t, "kind": "water", "flow_lpm": round(litres, 2)})
        phase = self.phase[d.meter]
        tick = phase + math.ceil((a - phase) / METER_PERIOD_MS) * METER_PERIOD_MS
        while tick < b:
            first = tick // MINUTE_MS - 15
            litres = sum(flows.get(m, 0.0) for m in range(first, first + 15))
            t = tick + 31_000
            self.emit(t, d.meter, "telemetry",
                      {"ts": t, "kind": "water", "flow_lpm": round(litres / 15, 2)})
            tick += METER_PERIOD_MS
        stale = (a - 2 * HOUR_MS) // MINUTE_MS
        for minute in [m for m in flows if m < stale]:
            del flows[minute]
        phase = self.phase[d.leak]
        t = phase + math.ceil((a - phase) / LEAK_PERIOD_MS) * LEAK_PERIOD_MS
        while t < b:
            if not inside(self.wet, t):
                self.emit(t, d.leak, "telemetry", {"ts": t, "kind": "water", "leak": False})
            t += LEAK_PERIOD_MS


class SmokeDetectors(_HouseholdSensors):
    """The kitchen and hall smoke detectors: room air by routine (cooking warms the kitchen),
    and the smoke episodes scenarios add."""

    def __init__(self, devices: HouseholdDevices, rng: random.Random, send: Send, zone: ZoneInfo,
                 phases_ms: dict[str, int], warmth: float,
                 cooking_at: Callable[[int], bool]) -> None:
        super().__init__(devices, rng, send)
        self.zone = zone
        self.phase = phases_ms
        self.warmth = warmth
        self.cooking_at = cooking_at
        self.profiles: dict[str, list[SmokeProfile]] = {dev: [] for dev in phases_ms}
        self._offsets: dict[int, int] = {}

    def ambient(self, t: int, room: str) -> float:
        """Room temperature: a daily swing around the household's own level."""
        hour = (t // 1000 + self._utc_offset_s(t)) % 86400 / 3600
        base = 20.5 + self.warmth + 1.5 * math.sin(2 * math.pi * (hour - 9) / 24)
        return base - (0.5 if room == "hall" else 0.0)

    def _utc_offset_s(self, t: int) -> int:
        hour = t // HOUR_MS
        offset = self._offsets.get(hour)
        if offset is None:
            offset = offset_s(self.zone, hour * HOUR_MS)
            self._offsets[hour] = offset
        return offset

    def run(self, a: int, b: int) -> None:
        d = self.devices
        rng = self.rng
        for device_id, room in ((d.smoke_kitchen, "kitchen"), (d.smoke_hall, "hall")):
            profiles = self.profiles[device_id]
            for profile in profiles:
                if a <= profile.start < b:
                    self._profile(device_id, room, profile)
            phase = self.phase[device_id]
            t = phase + math.ceil((a - phase) / SMOKE_PERIOD_MS) * SMOKE_PERIOD_MS
            while t < b:
                if not profiles or not any(p.start <= t < p.end for p in profiles):
                    cooking = room == "kitchen" and self.cooking_at(t)
                    # Sensor noise is drawn uniform: cheaper than gauss, and just as plausible.
                    u = rng.random()
                    smoke = 0.3 + 0.4 * u if cooking else 0.05 + 0.15 * u
                    temp = self.ambient(t, room) + (1.0 + 1.5 * u if cooking else 0.0)
                    self.emit(t, device_id, "telemetry", {
                        "ts": t, "kind": "smoke", "smoke": round(smoke, 2),
                        "temp_c": round(temp + 0.2 * rng.random() - 0.1, 1),
                        "co_ppm": round(0.2 + 1.6 * rng.random(), 1),
                    })
                t += SMOKE_PERIOD_MS

    def _profile(self, device_id: str, room: str, profile: SmokeProfile) -> None:
        """Sample a smoke episode every 10 s; report fast while above the pre-alarm level."""
        rng = self.rng
        alarmed = False
        last_report = -(10**15)
        t = profile.start
        while t < profile.end:
            s = (t - profile.start) / 1000
            smoke = min(SMOKE_MAX, max(0.0, rng.gauss(0.12, 0.04) + profile.smoke(s)))
            temp = min(200.0, self.ambient(t, room) + profile.temp(s) + rng.gauss(0, 0.1))
            co = min(10_000.0, max(0.0, rng.gauss(1.0, 0.5) + profile.co(s)))
            if smoke >= SMOKE_PREALARM or t - last_report >= SMOKE_PERIOD_MS:
                self.emit(t, device_id, "telemetry", {
                    "ts": t, "kind": "smoke", "smoke": round(smoke, 2), "temp_c": round(temp, 1),
                    "co_ppm": round(co, 1),
                })
                last_report = t
            if smoke >= SMOKE_PREALARM:
                profile.result.setdefault("prealarm", t)
                profile.result["above_prealarm_until"] = t + SMOKE_FAST_PERIOD_MS
            if not alarmed and smoke >= SMOKE_ALARM:
                alarmed = True
                profile.result.setdefault("alarm", t)
                self.emit(t, device_id, "event", {"ts": t, "kind": "smoke", "event": "alarm"}, RELIABLE)
            elif alarmed and smoke < SMOKE_ALARM * 0.75:
                alarmed = False
                profile.result["clear"] = t
                self.emit(t, device_id, "event", {"ts": t, "kind": "smoke", "event": "clear"}, RELIABLE)
            t += SMOKE_FAST_PERIOD_MS
        profile.result["done"] = 1


class FrontDoor(_HouseholdSensors):
    """The front door's contact and its lock: who comes and goes by which credential, and
    when the door stands open so that people walk through without a cycle."""

    def __init__(self, devices: HouseholdDevices, rng: random.Random, send: Send) -> None:
        super().__init__(devices, rng, send)
        self.credentials: dict[tuple[str, int], str] = {}  # (resident, arrival) -> credential
        self.holds: list[tuple[int, int]] = []

    def credential(self, resident_id: str, t: int) -> str:
        """What ``resident_id``, coming home at ``t``, unlocks the door with."""
        return self.credentials.get((resident_id, t), f"fingerprint:{resident_id}")

    def pass_through(self, transitions: list[tuple[int, str]]) -> None:
        """A door cycle for each ``(time, credential)`` of people coming or going."""
        transitions.sort(key=lambda x: x[0])
        last = -(10**15)
        for t, credential in transitions:
            if t - last < 60_000:
                continue  # walked through together with the one before
            last = t
            if any(lo - 30_000 <= t < hi + 30_000 for lo, hi in self.holds):
                continue  # the door stands open: they walk through it
            self.cycle(t, credential)

    def cycle(self, t: int, credential: str | None, open_ms: int | None = None,
                   lock: bool = True, unlock: bool = True) -> int:
        """Unlock, open at ``t``, close, lock again; returns when the door closed."""
        d = self.devices
        rng = self.rng
        if unlock and credential is not None:
            unlocked = t - between(rng, 4000, 10000)
            self.emit(unlocked, d.lock, "event", {"ts": unlocked, "kind": "door", "event": "unlock",
                                                 "credential": credential}, RELIABLE)
        self._door(t, True)
        closed = t + (open_ms if open_ms is not None else between(rng, 4000, 12000))
        self._door(closed, False)
        if lock:
            locked = closed + between(rng, 8000, 20000)
            self.emit(locked, d.lock, "event", {"ts": locked, "kind": "door", "event": "lock"},
                      RELIABLE)
        return closed

    def _door(self, t: int, is_open: bool) -> None:
        door = self.devices.door
        self.emit(t, door, "event", {"ts": t, "kind": "door", "event": "open" if is_open else "close"},
                  RELIABLE)
        self.emit(t, door, "telemetry", {"ts": t, "kind": "door", "open": is_open})


# act -> (window when it starts, periodic window, period); acts of one posture share a plan.
_LYING = ("lie_down", "lying", WEARABLE_ASLEEP_PERIOD_MS)
_SITTING = ("sit_down", "sitting", WEARABLE_AWAKE_PERIOD_MS)
_ON_FOOT = ("walking", "standing", WEARABLE_AWAKE_PERIOD_MS)
_WEAR: dict[str, tuple[str, str, int]] = {
    **dict.fromkeys((SLEEP, NAP), _LYING),
    **dict.fromkeys((SIT, EAT, VISIT), _SITTING),
    AWAY: ("stairs", "walking", WEARABLE_AWAKE_PERIOD_MS),
    WANDER: ("stairs", "walking", 10 * MINUTE_MS),
    **dict.fromkeys((COOK, CLEAN, CHORES, WASH, SHOWER, TOILET), _ON_FOOT),
}


class Bands:
    """The residents' wearable bands: accelerometer windows by activity, off the wrist at
    times."""

    def __init__(self, rng: random.Random, nrng: np.random.Generator, send: Send) -> None:
        self.rng = rng
        self.nrng = nrng
        self.emit = send
        self.off: dict[str, list[tuple[int, int]]] = {}  # resident -> times off the wrist

    def window(self, resident: ResidentSpec, t: int, window: physics.Window, activity: str,
               flags: int = RELIABLE) -> None:
        """Send an accelerometer window from ``resident``'s band, starting at ``t``."""
        assert resident.wearable is not None
        payload: dict[str, Any] = {"ts": t, "kind": "wearable", "accel": window.accel,
                                   "hz": window.hz}
        if window.worn:
            lo, hi = physics.HEART_RATE_BPM[activity]
            payload["hr_bpm"] = between(self.rng, lo, hi)
        self.emit(t, resident.wearable, "telemetry", payload, flags)

    def segment(self, r: ResidentSpec, prev: Segment | None, seg: Segment) -> None:
        plan = _WEAR.get(seg.act)
        if plan is None:
            return
        change, periodic, period = plan
        rng = self.rng
        off = self.off.get(r.id)
        if prev is not None and prev.place == OUT and seg.home:
            change = "stairs"
        if prev is not None and prev.act == seg.act and prev.place == seg.place:
            change = ""
        t = seg.start + between(rng, 1000, 5000)
        if change and t < seg.end and not (off and inside(off, t)):
            self.window(r, t, physics.ACTIVITY_WINDOWS[change](self.nrng), change, 0)
        t = seg.start + period
        while t < seg.end - 30_000:
            kind = periodic
            if seg.act == AWAY and rng.random() < 0.3:
                kind = "sitting"
            if off and inside(off, t):
                kind = "off_wrist"
            self.window(r, t, physics.ACTIVITY_WINDOWS[kind](self.nrng), kind, 0)
            t += period


def offset_s(zone: ZoneInfo, t: int) -> int:
    """``zone``'s UTC offset at ``t`` (epoch ms), in seconds."""
    offset = datetime.fromtimestamp(t / 1000, tz=UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0
