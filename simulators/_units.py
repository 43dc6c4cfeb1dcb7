"""Message generation for one household (or one building's shared spaces).

A unit turns its residents' routines, its devices' own schedules and the edits of the
scenarios applied to it into raw emissions ``(ts, device_id, channel, payload, flags)``;
per time window it sorts them and hands them to its :class:`._transmitter.Transmitter`,
whose lines sort as bytes by publish time, then by content: the order is total and does not
depend on how units are grouped into chunks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, assert_never
from zoneinfo import ZoneInfo

import orjson

from ._community import BuildingSpec, HouseholdSpec
from ._edits import (
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
    Status,
    Visit,
    Wet,
)
from ._population import DeviceTraits
from ._rng import between, np_rng, py_rng
from ._routines import Routines
from ._sensors import Bands, FrontDoor, MotionSensors, SmokeDetectors, WaterSensors, offset_s
from ._timeline import (
    STILL,
    Segment,
)
from ._transmitter import Radio, Raw, Transmitter
from .const import (
    BATTERY_LOW_PCT,
    DAY_MS,
    HOUR_MS,
    LEAK_PERIOD_MS,
    MINUTE_MS,
    SMOKE_PERIOD_MS,
    STATUS_PERIOD_MAX_S,
    STATUS_PERIOD_MIN_S,
)

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_TS = itemgetter(0)


@dataclass(slots=True)
class _StatusSpec:
    device_id: str
    kind: str
    period_ms: int
    phase_ms: int
    rssi: int
    battery0: float
    drain_per_day: float
    rechargeable: bool
    low_at: int | None = None  # battery_low scenario: when it crosses BATTERY_LOW_PCT
    jitter: float = 0.0  # each interval is period_ms times 1 +- up to this
    next_ms: int | None = None  # a jittered heartbeat's next report


class _Unit:
    """What households and buildings share: status heartbeats, the radio, serialisation."""

    def __init__(self, key: tuple[object, ...], seed: int, radio: Radio, prefix: str, site: str,
                 origin_ms: int, end_ms: int | None) -> None:
        self.seed = seed
        self.site = site
        self.origin_ms = origin_ms
        self.end_ms = end_ms
        self.rng = py_rng(seed, "unit", *key)
        self.transmitter = Transmitter(key, seed, radio, prefix, site)
        self.nrng = np_rng(seed, "physics", *key)
        self.raw: list[Raw] = []
        self.pending_raw: list[Raw] = []
        self.statuses: list[_StatusSpec] = []
        self.stats: Counter[str] = Counter()
        self.labels: list[dict[str, Any]] = []
        self.finishers: list[Callable[[], bool]] = []
        self.skipped: list[str] = []
        self.window_end = origin_ms

    # -- building blocks -------------------------------------------------------------------

    def add_status(self, device_id: str, kind: str, traits: DeviceTraits | None = None) -> None:
        rng = py_rng(self.seed, "status", device_id)
        period = rng.randint(STATUS_PERIOD_MIN_S, STATUS_PERIOD_MAX_S) * 1000
        rechargeable = kind == "wearable"
        spec = _StatusSpec(
            device_id=device_id, kind=kind, period_ms=period, phase_ms=rng.randrange(period),
            rssi=rng.randint(-85, -45),
            battery0=rng.uniform(40, 100) if rechargeable else rng.uniform(35, 100),
            drain_per_day=rng.uniform(6, 10) if rechargeable else rng.uniform(0.005, 0.05),
            rechargeable=rechargeable,
        )
        if traits is not None:
            spec.period_ms = traits.status_period_ms
            spec.phase_ms = rng.randrange(traits.status_period_ms)
            spec.jitter = traits.jitter
            self.transmitter.drops[device_id] = traits.drop
            if traits.skew_ms:
                self.transmitter.skews[device_id] = traits.skew_ms
        self.statuses.append(spec)

    def status_spec(self, device_id: str) -> _StatusSpec:
        for spec in self.statuses:
            if spec.device_id == device_id:
                return spec
        raise KeyError(device_id)

    def battery(self, spec: _StatusSpec, t: int) -> float:
        days = (t - self.origin_ms) / DAY_MS
        if spec.low_at is not None:
            # A failing cell: about 1.2 points an hour, crossing the low mark at ``low_at``.
            level = BATTERY_LOW_PCT + (spec.low_at - t) / HOUR_MS * 1.2
            return round(max(1.0, min(spec.battery0, level)), 1)
        level = spec.battery0 - spec.drain_per_day * days
        if spec.rechargeable:
            # Put on the charger when it gets to about 30 %: back to full.
            level = 30.0 + (level - 30.0) % 70.0
        return round(max(1.0, level), 1)

    def emit(self, ts: int, device_id: str, channel: str, payload: dict[str, Any],
             flags: int = 0) -> None:
        self.raw.append((ts, device_id, channel, payload, flags))

    def status(self, spec: _StatusSpec, t: int, online: bool = True) -> None:
        payload: dict[str, Any] = {"ts": t, "online": online, "battery": self.battery(spec, t),
                                   "rssi": spec.rssi + between(self.rng, -3, 3)}
        self.emit(t, spec.device_id, "status", payload)

    def _statuses(self, a: int, b: int) -> None:
        for spec in self.statuses:
            if spec.jitter:
                self._jittered(spec, a, b)
                continue
            k = math.ceil((a - spec.phase_ms) / spec.period_ms)
            t = spec.phase_ms + k * spec.period_ms
            while t < b:
                self.status(spec, t)
                t += spec.period_ms

    def _jittered(self, spec: _StatusSpec, a: int, b: int) -> None:
        t = spec.next_ms if spec.next_ms is not None else self.origin_ms + spec.phase_ms
        rng = self.rng
        while t < b:
            if t >= a:
                self.status(spec, t)
            t += int(spec.period_ms * (1.0 + spec.jitter * (2.0 * rng.random() - 1.0)))
        spec.next_ms = t

    def label(self, **fields: Any) -> dict[str, Any]:
        """Record a ground-truth label; times are clipped to the recording."""
        label = {"site": self.site, **{k: v for k, v in fields.items() if v is not None}}
        self.labels.append(label)
        return label

    def _clip_labels(self, labels: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for label in labels:
            start = max(label["start"], self.origin_ms)
            end = label["end"]
            if self.end_ms is not None:
                end = min(end, self.end_ms - 1)
                if start >= self.end_ms:
                    self.skipped.append(f"{label.get('scenario', label['type'])} in "
                                        f"{label.get('household')}: could only happen after "
                                        "the end of the simulated period")
                    continue
            out.append({**label, "start": start, "end": max(start, end)})
        return out

    # -- per window ------------------------------------------------------------------------

    def finalize(self, a: int, b: int) -> tuple[list[bytes], list[dict[str, Any]]]:
        """Lines published in ``[a, b)`` (publish-time prefixed, sorted), and finished labels."""
        raw = self.raw
        raw.extend(self.pending_raw)
        self.raw = []
        # Before the start of the simulation nothing is sent: the in-progress activities of
        # the first window generate from their own start, and what falls before is dropped.
        origin = self.origin_ms
        now = [r for r in raw if origin <= r[0] < b]
        self.pending_raw = [r for r in raw if r[0] >= b]
        now.sort(key=_TS)
        lines = self.transmitter.send(now, b, self.stats)
        self.window_end = b
        self.finishers = [f for f in self.finishers if not f()]
        done = [label for label in self.labels if label.get("end") is not None]
        self.labels = [label for label in self.labels if label.get("end") is None]
        return lines, self._clip_labels(done)

    def leftover(self) -> int:
        """Messages due after the end of the recording (retries, duplicates, spill)."""
        return len(self.pending_raw) + len(self.transmitter.pending)


# -- households ---------------------------------------------------------------------------

class HouseholdUnit(_Unit):
    """One household's devices, driven by its residents' routines and its scenarios."""

    def __init__(self, spec: HouseholdSpec, seed: int, radio: Radio, prefix: str,
                 origin_ms: int, end_ms: int | None) -> None:
        super().__init__(("household", spec.index), seed, radio, prefix, spec.site, origin_ms,
                         end_ms)
        self.spec = spec
        d = spec.devices
        self.routines = Routines(spec, seed, origin_ms, end_ms)
        rng = py_rng(seed, "household-devices", spec.index)
        smoke_phases = {dev: rng.randrange(SMOKE_PERIOD_MS) for dev in (d.smoke_kitchen, d.smoke_hall)}
        leak_phase = rng.randrange(LEAK_PERIOD_MS)
        meter_phase = rng.randrange(15) * MINUTE_MS
        self.door = FrontDoor(d, self.rng, self.emit)
        self.bands = Bands(self.rng, self.nrng, self.emit)
        self.motion = MotionSensors(d, self.rng, self.emit)
        self.water = WaterSensors(d, self.rng, self.emit, meter_phase, leak_phase)
        self.smoke = SmokeDetectors(d, self.rng, self.emit, spec.zone, smoke_phases,
                                    rng.uniform(-1.5, 1.5), self.routines.cooking_at)
        for device_id in spec.device_ids():
            self.add_status(device_id, spec.kind_of(device_id), spec.device_traits.get(device_id))

    # -- edits -----------------------------------------------------------------------------------

    def apply(self, edits: Iterable[Edit]) -> None:
        """Carry out a scenario's edits, in order (see :mod:`._edits`)."""
        for edit in edits:
            match edit:
                case Emit(ts, device_id, channel, payload, flags):
                    self.emit(ts, device_id, channel, payload, flags)
                case BandWindow(resident, t, window, activity, flags):
                    self.bands.window(resident, t, window, activity, flags)
                case DoorCycle(t, credential, open_ms, lock, unlock, then):
                    closed = self.door.cycle(t, credential, open_ms, lock, unlock)
                    if then is not None:
                        self.apply(then(closed))
                case Override(resident_id, start, end, segments):
                    self.routines.override(resident_id, start, end, segments)
                case Flow(t, seconds, lpm):
                    self.water.add_flow(t, seconds, lpm)
                case Wet(start, end):
                    self.water.wet.append((start, end))
                case Smoke(device_id, profile):
                    self.smoke.profiles[device_id].append(profile)
                case Arrive(visit):
                    self.routines.visits.append(visit)
                case HoldDoor(start, end):
                    self.door.holds.append((start, end))
                case BandOff(resident_id, start, end):
                    self.bands.off.setdefault(resident_id, []).append((start, end))
                case LetIn(resident_id, t, credential):
                    self.door.credentials[(resident_id, t)] = credential
                case Silence(device_id, start, end):
                    self.transmitter.dead.setdefault(device_id, []).append((start, end))
                case Status(device_id, t):
                    self.status(self.status_spec(device_id), t)
                case FailingBattery(device_id, low_at):
                    self.status_spec(device_id).low_at = low_at
                case Label(fields, done):
                    self._pending_label(self.label(**fields), done)
                case SilentDeathLabel(device_id, death, back, fields):
                    self._silent_death(device_id, death, back, self.label(**fields))
                case Skip(why):
                    self.stats["skipped"] += 1
                    self.skipped.append(why)
                case _:
                    assert_never(edit)

    def _pending_label(self, label: dict[str, Any],
                       done: Callable[[], dict[str, int] | None] | None) -> None:
        if done is None:
            return

        def finish() -> bool:
            last = done()
            if last is None:
                return False
            label.update(last)
            return True

        self.finishers.append(finish)

    def _silent_death(self, device_id: str, death: int, back: int, label: dict[str, Any]) -> None:
        watch = self.transmitter.watch
        watch[device_id] = (death, self.origin_ms)

        def finish() -> bool:
            death, last = watch[device_id]
            if self.window_end <= death:
                return False
            label["start"] = last
            label["end"] = back
            return True

        self.finishers.append(finish)

    # -- per window ----------------------------------------------------------------------------

    def run(self, a: int, b: int) -> tuple[list[bytes], list[dict[str, Any]]]:
        """Everything published in ``[a, b)`` and the labels finished by then.

        The edits of the scenarios due must have been applied first (:meth:`apply`).
        """
        routines = self.routines
        routines.ensure(b + 2 * DAY_MS)
        routines.forget_before(a)
        self._residents(a, b)
        for visit in routines.visits:
            if a <= visit.start < b and self._admitted(visit):
                self.motion.visit(visit)
        self.motion.run(b)
        self.smoke.run(a, b)
        self.water.run(a, b)
        self._statuses(a, b)
        return self.finalize(a, b)

    def _residents(self, a: int, b: int) -> None:
        transitions: list[tuple[int, str]] = []
        wearers = {r.id: r for r in self.spec.wearers}
        for r in self.spec.residents:
            timeline = self.routines.timelines[r.id]
            prev: Segment | None = None
            segments = timeline.starting_in(a, b)
            current = timeline.at(a)
            if a == self.origin_ms and current is not None and current.start < a:
                segments.insert(0, current)
            for seg in segments:
                if prev is None:
                    prev = timeline.before(seg)
                self.motion.segment(prev, seg)
                self.water.segment(seg)
                if seg.start >= a and prev is not None and prev.home != seg.home:
                    if seg.home:
                        transitions.append((seg.start, self.door.credential(r.id, seg.start)))
                    else:
                        transitions.append((seg.start, "inside"))
                if r.id in wearers:
                    self.bands.segment(wearers[r.id], prev, seg)
                prev = seg
        for visit in self.routines.visits:
            if not visit.door or not self._admitted(visit):
                continue
            if a <= visit.start < b:
                transitions.append((visit.start, visit.credential))
            if a <= visit.end < b:
                transitions.append((visit.end, "inside"))
        self.door.pass_through(transitions)

    def _admitted(self, visit: Visit) -> bool:
        """A guest only gets in if someone at home is able to open the door."""
        if visit.credential != "inside":
            return True
        for timeline in self.routines.timelines.values():
            seg = timeline.at(visit.start)
            if seg is not None and seg.home and seg.act not in STILL:
                return True
        return False


class BuildingUnit(_Unit):
    """A building's shared spaces: the stairwell smoke detector and the main door.

    The main door's traffic is drawn on its own (busy by day, rare at night); it is not tied
    to the residents' own comings and goings.
    """

    def __init__(self, spec: BuildingSpec, seed: int, radio: Radio, prefix: str,
                 origin_ms: int, end_ms: int | None, timezone: str) -> None:
        super().__init__(("building", spec.index), seed, radio, prefix, spec.site, origin_ms,
                         end_ms)
        self.spec = spec
        self.zone = ZoneInfo(timezone)
        self.phase = py_rng(seed, "building-phase", spec.index).randrange(SMOKE_PERIOD_MS)
        self.add_status(spec.stair_smoke, "smoke", spec.device_traits.get(spec.stair_smoke))
        self.add_status(spec.main_door, "door", spec.device_traits.get(spec.main_door))

    def run(self, a: int, b: int) -> tuple[list[bytes], list[dict[str, Any]]]:
        rng = self.rng
        t = self.phase + math.ceil((a - self.phase) / SMOKE_PERIOD_MS) * SMOKE_PERIOD_MS
        while t < b:
            self.emit(t, self.spec.stair_smoke, "telemetry", {
                "ts": t, "kind": "smoke", "smoke": round(max(0.0, rng.gauss(0.1, 0.04)), 2),
                "temp_c": round(rng.gauss(16.0, 0.3), 1), "co_ppm": round(max(0.0, rng.gauss(0.8, 0.4)), 1),
            })
            t += SMOKE_PERIOD_MS
        self._door_traffic(a, b)
        self._statuses(a, b)
        return self.finalize(a, b)

    def _door_traffic(self, a: int, b: int) -> None:
        rng = self.rng
        door = self.spec.main_door
        t = a
        closed_until = a
        while True:
            hour = (t // 1000 + offset_s(self.zone, t)) % 86400 / 3600
            per_hour = self.spec.households * (0.45 if 7 <= hour < 21 else 0.02)
            t += int(rng.expovariate(per_hour / HOUR_MS)) + 1 if per_hour > 0 else HOUR_MS
            if t >= b:
                return
            if t < closed_until + 2000:
                continue
            closed = t + between(rng, 4000, 15000)
            self.emit(t, door, "event", {"ts": t, "kind": "door", "event": "open"})
            self.emit(t, door, "telemetry", {"ts": t, "kind": "door", "open": True})
            self.emit(closed, door, "event", {"ts": closed, "kind": "door", "event": "close"})
            self.emit(closed, door, "telemetry", {"ts": closed, "kind": "door", "open": False})
            closed_until = closed


