"""Accelerometer windows of a wrist-worn band, in g, as its sensor would report them.

A resting accelerometer reads 1 g pointing up in its own frame; which axis that is depends on
the posture of the forearm. Every window is built as a direction (posture, possibly rotating)
times a magnitude profile, plus the movement of the activity and sensor noise:

- walking: a vertical bounce at the step rate (1.6-2.0 Hz) and the arm swing at half of it,
  so that ``|a|`` stays within about 0.7-1.35 g;
- sitting down / lying down: the posture rotates; sitting down ends with a small bump (<1.6 g);
- a fall: free fall (``|a|`` dips to 0.15-0.45 g for 0.3-0.5 s), an impact (2.8-6 g), then
  the body lies still at a posture at least 60 degrees from upright, with breathing and tremor;
- hard negatives: a dropped band (true free fall near 0 g, a sharp impact, then the band lies
  flat and dead still, with no heart rate), sitting down hard (no free fall, peak below 2.4 g),
  and a jump (flight and a landing above 2.5 g, but upright before and after);
- hard negatives that pass the rule path's impact, stillness and posture tests, as real
  wearers' false alarms do (Bagala 2012; Palmerini 2020; the FARSEEING falls database):
  slumping hard onto a sofa and staying there (a cushioned, wide impact, then sitting, not
  lying), taking the band off and dropping it on a table (a sharp one-sample impact, then flat
  with only the sensor's own noise, no breathing), and flopping onto a bed to sleep (a soft,
  wide impact with a mattress rebound). Each resident does them their own way
  (:class:`Wearer`).

A body at rest breathes: the magnitude sways a little and the band tilts with each breath,
which a band lying on a table never does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .const import ACCEL_DECIMALS, ACTIVITY_HZ, ACTIVITY_WINDOW_S, IMPACT_HZ


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


UPRIGHT = _unit(np.array([0.10, 0.97, 0.22]))
SITTING = _unit(np.array([0.30, 0.40, 0.87]))
LYING = (
    _unit(np.array([0.95, -0.05, -0.30])),
    _unit(np.array([-0.90, 0.10, -0.42])),
    _unit(np.array([0.05, -0.15, -0.99])),
)
FLAT = (np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, -1.0]))

HUMAN_NOISE_G = 0.015  # tremor and breathing of a wearer at rest
SENSOR_NOISE_G = 0.004  # the sensor's own noise: all a band lying on the floor shows


@dataclass(frozen=True, slots=True)
class Window:
    """One accelerometer window: ``accel`` is ``(n, 3)`` in g, sampled at ``hz``.

    ``impact_s`` is the offset of the impact within the window (falls and hard negatives).
    ``worn`` is False when the band is off the wrist (no heart rate then).
    """

    accel: np.ndarray
    hz: float
    impact_s: float | None = None
    worn: bool = True

    @property
    def duration_ms(self) -> int:
        return int(len(self.accel) / self.hz * 1000)


def _jitter(rng: np.random.Generator, v: np.ndarray, amount: float = 0.12) -> np.ndarray:
    """The posture ``v`` turned by a few degrees, as no two arms rest exactly alike."""
    return _unit(v + rng.normal(0.0, amount, 3))


def _lying(rng: np.random.Generator) -> np.ndarray:
    return _jitter(rng, LYING[int(rng.integers(len(LYING)))], 0.08)


def _slerp(u: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Directions turning from ``u`` to ``v`` for fractions ``s`` (shape ``(n,)``)."""
    dot = float(np.clip(np.dot(u, v), -1.0, 1.0))
    angle = np.arccos(dot)
    if angle < 1e-6:
        return np.tile(u, (len(s), 1))
    sin = np.sin(angle)
    a = np.sin((1.0 - s) * angle) / sin
    b = np.sin(s * angle) / sin
    return a[:, None] * u + b[:, None] * v


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _perpendicular(rng: np.random.Generator, u: np.ndarray) -> np.ndarray:
    w = np.cross(u, rng.normal(0.0, 1.0, 3))
    return w / np.linalg.norm(w)


def _finish(rng: np.random.Generator, a: np.ndarray, noise: float) -> np.ndarray:
    a = a + rng.normal(0.0, noise, a.shape)
    return np.round(a, ACCEL_DECIMALS)


def _n(hz: float, seconds: float) -> int:
    return max(1, round(hz * seconds))


class _Impact(NamedTuple):
    """Sample counts of an impact window of ``n`` samples: ``pre`` before the band loses its
    support, ``ff`` falling (or tipping) until ``impact``; ``up`` is the upright posture it
    starts from."""

    n: int
    pre: int
    ff: int
    impact: int
    up: np.ndarray


def _impact(rng: np.random.Generator, hz: float, seconds: float,
            pre_s: tuple[float, float], ff_s: tuple[float, float]) -> _Impact:
    n = _n(hz, seconds)
    pre = _n(hz, rng.uniform(*pre_s))
    ff = _n(hz, rng.uniform(*ff_s))
    return _Impact(n, pre, ff, pre + ff, _jitter(rng, UPRIGHT))


def _gait(rng: np.random.Generator, t: np.ndarray, up: np.ndarray, step_hz: float,
          bounce: float, swing: float) -> np.ndarray:
    phase = rng.uniform(0.0, 2 * np.pi, 3)
    w = _perpendicular(rng, up)
    vertical = 1.0 + bounce * np.sin(2 * np.pi * step_hz * t + phase[0]) \
        + 0.03 * np.sin(4 * np.pi * step_hz * t + phase[1])
    lateral = swing * np.sin(np.pi * step_hz * t + phase[2])
    return vertical[:, None] * up + lateral[:, None] * w


def _walk(rng: np.random.Generator, hz: float, seconds: float, step_hz: tuple[float, float],
          bounce: tuple[float, float], swing: tuple[float, float]) -> Window:
    """A gait whose cadence (steps a second), vertical bounce and swing (g) are drawn from
    the ranges given."""
    t = np.arange(_n(hz, seconds)) / hz
    up = _jitter(rng, UPRIGHT)
    a = _gait(rng, t, up, rng.uniform(*step_hz), rng.uniform(*bounce), rng.uniform(*swing))
    return Window(_finish(rng, a, 0.02), hz)


def walking(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
            seconds: float = ACTIVITY_WINDOW_S) -> Window:
    return _walk(rng, hz, seconds, (1.6, 2.0), (0.15, 0.25), (0.2, 0.35))


def stairs(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
           seconds: float = ACTIVITY_WINDOW_S) -> Window:
    """Climbing or descending stairs: a slower cadence and a stronger vertical bounce."""
    return _walk(rng, hz, seconds, (1.2, 1.5), (0.22, 0.28), (0.1, 0.2))


# How far the band tilts with each breath, per unit of the breathing sway of the magnitude.
BREATH_TILT_PER_SWAY = 3.0


def _still(rng: np.random.Generator, n: int, hz: float, posture: np.ndarray,
           sway: float) -> np.ndarray:
    """At rest in ``posture``: the magnitude sways with breathing and the band tilts with it
    (about an axis fixed by the posture, so no extra draw changes what a seed makes)."""
    t = np.arange(n) / hz
    breath = np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 2 * np.pi))
    side = np.cross(posture, np.array([1.0, 0.0, 0.0]))
    side = side / max(float(np.linalg.norm(side)), 1e-9)
    tilted = posture + (BREATH_TILT_PER_SWAY * sway * breath)[:, None] * side
    return (1.0 + sway * breath)[:, None] * _unit(tilted)


def standing(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
             seconds: float = ACTIVITY_WINDOW_S) -> Window:
    """Standing at the stove or sink: upright with small arm movements."""
    n = _n(hz, seconds)
    t = np.arange(n) / hz
    up = _jitter(rng, UPRIGHT)
    w = _perpendicular(rng, up)
    a = _still(rng, n, hz, up, 0.03) + (0.08 * np.sin(2 * np.pi * rng.uniform(0.5, 1.2) * t))[:, None] * w
    return Window(_finish(rng, a, 0.02), hz)


def sitting(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
            seconds: float = ACTIVITY_WINDOW_S) -> Window:
    n = _n(hz, seconds)
    return Window(_finish(rng, _still(rng, n, hz, _jitter(rng, SITTING), 0.02), HUMAN_NOISE_G), hz)


def lying(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
          seconds: float = ACTIVITY_WINDOW_S, posture: np.ndarray | None = None) -> Window:
    """Lying still (asleep, or on the floor after a fall): breathing and tremor only."""
    n = _n(hz, seconds)
    p = _lying(rng) if posture is None else _jitter(rng, posture, 0.03)
    return Window(_finish(rng, _still(rng, n, hz, p, 0.01), HUMAN_NOISE_G), hz)


def off_wrist(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
              seconds: float = ACTIVITY_WINDOW_S) -> Window:
    """The band lying on a table or a charger: flat and dead still."""
    n = _n(hz, seconds)
    flat = FLAT[int(rng.integers(2))]
    return Window(_finish(rng, np.tile(flat, (n, 1)), SENSOR_NOISE_G), hz, worn=False)


def _transition(rng: np.random.Generator, hz: float, seconds: float, start: np.ndarray,
                end: np.ndarray, begin_s: float, turn_s: float, dip: float,
                bump: float) -> np.ndarray:
    n = _n(hz, seconds)
    t = np.arange(n) / hz
    s = _smoothstep((t - begin_s) / turn_s)
    direction = _slerp(start, end, s)
    magnitude = 1.0 - dip * np.sin(np.pi * np.clip((t - begin_s) / turn_s, 0.0, 1.0))
    contact = int((begin_s + turn_s) * hz)
    if bump > 0 and contact < n:
        magnitude[contact:contact + 2] = bump
    return magnitude[:, None] * direction


def sit_down(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
             seconds: float = ACTIVITY_WINDOW_S) -> Window:
    """Sitting down normally: a controlled descent and a soft landing on the seat."""
    a = _transition(rng, hz, seconds, _jitter(rng, UPRIGHT), _jitter(rng, SITTING),
                    rng.uniform(0.4, 0.6), rng.uniform(0.6, 0.8), rng.uniform(0.12, 0.2),
                    rng.uniform(1.3, 1.5))
    return Window(_finish(rng, a, 0.015), hz)


def lie_down(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
             seconds: float = ACTIVITY_WINDOW_S) -> Window:
    """Lying down in bed: a slow turn from upright to lying, no impact."""
    a = _transition(rng, hz, seconds, _jitter(rng, UPRIGHT), _lying(rng),
                    rng.uniform(0.2, 0.4), rng.uniform(1.2, 1.5), rng.uniform(0.05, 0.12), 0.0)
    return Window(_finish(rng, a, 0.015), hz)


def get_up(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
           seconds: float = ACTIVITY_WINDOW_S, posture: np.ndarray | None = None) -> Window:
    """Getting up from lying: from lying to upright, a few pushes, then standing."""
    start = _lying(rng) if posture is None else posture
    a = _transition(rng, hz, seconds, start, _jitter(rng, UPRIGHT),
                    rng.uniform(0.2, 0.4), rng.uniform(1.0, 1.3), -0.2, 0.0)
    return Window(_finish(rng, a, 0.02), hz)


def pick_up(rng: np.random.Generator, hz: float = ACTIVITY_HZ,
            seconds: float = ACTIVITY_WINDOW_S) -> Window:
    """A dropped band picked up and put back on: flat, handled, then on an upright arm."""
    flat = FLAT[int(rng.integers(2))]
    a = _transition(rng, hz, seconds, flat, _jitter(rng, UPRIGHT),
                    rng.uniform(0.4, 0.7), rng.uniform(0.6, 0.9), -0.25, 0.0)
    return Window(_finish(rng, a, 0.02), hz)


def fall(rng: np.random.Generator, hz: float = IMPACT_HZ, seconds: float = 4.0) -> Window:
    """A fall: walking, free fall, impact, lying still at a new posture."""
    n, pre, ff, impact, up = _impact(rng, hz, seconds, (1.0, 1.4), (0.3, 0.5))
    t = np.arange(n) / hz
    down = _lying(rng)
    direction = np.empty((n, 3))
    magnitude = np.ones(n)
    a = np.empty((n, 3))
    a[:pre] = _gait(rng, t[:pre], up, rng.uniform(1.5, 1.9), 0.15, 0.2)
    # Free fall: support is lost within ~0.1 s, and the body starts to tumble.
    s = np.arange(ff) / ff
    floor = rng.uniform(0.15, 0.45)
    magnitude[pre:impact] = 1.0 - (1.0 - floor) * _smoothstep(s / 0.3)
    direction[pre:impact] = _slerp(up, down, 0.6 * s)
    a[pre:impact] = magnitude[pre:impact, None] * direction[pre:impact]
    # Impact and a short rebound, along the lying posture's vertical.
    peak = rng.uniform(2.8, 6.0)
    shape = np.array([0.55 * peak, peak, 0.5 * peak, 1.6, 0.7, 1.2])[: n - impact]
    hit = _jitter(rng, down, 0.25)
    a[impact:impact + len(shape)] = shape[:, None] * hit
    rest = impact + len(shape)
    a[rest:] = _still(rng, n - rest, hz, down, 0.01)
    return Window(_finish(rng, a, HUMAN_NOISE_G), hz, impact_s=(impact + 1) / hz)


def drop(rng: np.random.Generator, hz: float = IMPACT_HZ, seconds: float = 3.0) -> Window:
    """The band slips off and hits the floor: it then lies flat and dead still, off the wrist."""
    n, pre, ff, impact, up = _impact(rng, hz, seconds, (0.6, 1.0), (0.3, 0.45))
    t = np.arange(n) / hz
    flat = FLAT[int(rng.integers(2))]
    a = np.empty((n, 3))
    a[:pre] = _still(rng, pre, hz, up, 0.05) + 0.05 * np.sin(2 * np.pi * t[:pre])[:, None] * up
    # Nothing holds the band: a true free fall reads close to 0 g on every axis.
    a[pre:impact] = rng.uniform(0.02, 0.06) * _slerp(up, flat, np.linspace(0, 1, ff))
    peak = rng.uniform(4.0, 9.0)
    shape = np.array([peak, 1.8, 0.4, 1.3])[: n - impact]
    a[impact:impact + len(shape)] = shape[:, None] * flat
    rest = impact + len(shape)
    a[rest:] = np.tile(flat, (n - rest, 1))
    a = np.round(a + rng.normal(0.0, SENSOR_NOISE_G, a.shape), ACCEL_DECIMALS)
    # The wrist movement before the drop is a person's; only that part gets human noise.
    a[:pre] = np.round(a[:pre] + rng.normal(0.0, 0.015, (pre, 3)), ACCEL_DECIMALS)
    return Window(a, hz, impact_s=(impact) / hz, worn=False)


def sit_hard(rng: np.random.Generator, hz: float = IMPACT_HZ, seconds: float = 3.0) -> Window:
    """Dropping heavily onto a chair: a quick descent (no free fall) and a hard seat contact."""
    n = _n(hz, seconds)
    t = np.arange(n) / hz
    begin = rng.uniform(0.8, 1.0)
    turn = rng.uniform(0.3, 0.4)
    up = _jitter(rng, UPRIGHT)
    seat = _jitter(rng, SITTING)
    direction = _slerp(up, seat, _smoothstep((t - begin) / turn))
    magnitude = 1.0 - rng.uniform(0.2, 0.3) * np.sin(np.pi * np.clip((t - begin) / turn, 0, 1))
    contact = _n(hz, begin + turn)
    peak = rng.uniform(1.8, 2.3)
    bump = np.array([0.7 * peak, peak, 0.75 * peak, 1.2])[: n - contact]
    magnitude[contact:contact + len(bump)] = bump
    return Window(_finish(rng, magnitude[:, None] * direction, 0.015), hz, impact_s=(contact + 1) / hz)


def jump(rng: np.random.Generator, hz: float = IMPACT_HZ, seconds: float = 3.0) -> Window:
    """A jump (off a step, or for joy): crouch, push-off, flight, landing, upright throughout."""
    n = _n(hz, seconds)
    t = np.arange(n) / hz
    up = _jitter(rng, UPRIGHT)
    magnitude = np.ones(n)
    i = _n(hz, rng.uniform(0.6, 0.8))
    crouch = _n(hz, 0.15)
    magnitude[i:i + crouch] = rng.uniform(0.75, 0.85)
    i += crouch
    push = _n(hz, 0.12)
    magnitude[i:i + push] = rng.uniform(1.6, 2.0)
    i += push
    flight = _n(hz, rng.uniform(0.25, 0.35))
    magnitude[i:i + flight] = rng.uniform(0.05, 0.3)
    i += flight
    landing = i
    peak = rng.uniform(2.6, 4.0)
    magnitude[i:i + 4] = [0.6 * peak, peak, 0.6 * peak, 1.4]
    i += 4
    a = magnitude[:, None] * up
    walk_from = min(n, i + _n(hz, 0.6))
    if walk_from < n:
        a[walk_from:] = _gait(rng, t[walk_from:], up, rng.uniform(1.6, 2.0), 0.18, 0.25)
    return Window(_finish(rng, a, 0.02), hz, impact_s=(landing + 1) / hz)


@dataclass(frozen=True, slots=True)
class Wearer:
    """How one resident and their band differ from the next, drawn once per resident: their
    hard negatives vary around a way of their own, never one fixed shape."""

    sensor_noise_g: float  # the band's own noise lying still (sensor model, range, mounting)
    seat_peak_g: float  # how hard they land on their sofa
    seat_cushion_s: float  # how long the cushion takes to stop them
    bed_peak_g: float  # how hard they land on their bed
    bed_bounce_hz: float  # their mattress's rebound
    breath_sway: float  # breathing, as a fraction of the magnitude

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Wearer:
        # Low-power MEMS accelerometers read 4-20 mg rms lying still, so some bands on a
        # table show more variation than a worn band's lower bound.
        return cls(sensor_noise_g=float(rng.uniform(0.004, 0.02)),
                   seat_peak_g=float(rng.uniform(2.3, 3.6)),
                   seat_cushion_s=float(rng.uniform(0.06, 0.16)),
                   bed_peak_g=float(rng.uniform(2.2, 3.8)),
                   bed_bounce_hz=float(rng.uniform(2.5, 4.5)),
                   breath_sway=float(rng.uniform(0.006, 0.02)))


def _cushioned(hz: float, peak: float, seconds: float) -> np.ndarray:
    """A soft landing's magnitude: a half-sine from 1 g up to ``peak`` over ``seconds``."""
    width = max(2, round(seconds * hz))
    return 1.0 + (peak - 1.0) * np.sin(np.pi * (np.arange(width) + 0.5) / width)


def sit_hard_still(rng: np.random.Generator, hz: float = IMPACT_HZ, seconds: float = 4.0,
                   wearer: Wearer | None = None) -> Window:
    """Slumping onto a sofa and staying there: the legs give way (no free fall), a cushioned
    impact above 2.3 g, then sitting still and breathing, upright enough to be no lying."""
    wearer = wearer or Wearer.draw(rng)
    n = _n(hz, seconds)
    t = np.arange(n) / hz
    begin = rng.uniform(0.6, 0.9)
    turn = rng.uniform(0.25, 0.4)
    up = _jitter(rng, UPRIGHT)
    # Sitting, leant back by up to a third of the way to lying: never flat.
    seat = _jitter(rng, _slerp(SITTING, LYING[0], np.array([rng.uniform(0.0, 0.33)]))[0], 0.1)
    direction = _slerp(up, seat, _smoothstep((t - begin) / turn))
    magnitude = 1.0 - rng.uniform(0.25, 0.45) * np.sin(np.pi * np.clip((t - begin) / turn, 0, 1))
    a = magnitude[:, None] * direction
    contact = _n(hz, begin + turn)
    pulse = _cushioned(hz, wearer.seat_peak_g * rng.uniform(0.85, 1.15),
                       wearer.seat_cushion_s * rng.uniform(0.8, 1.25))[: n - contact]
    a[contact:contact + len(pulse)] = pulse[:, None] * seat
    rest = contact + len(pulse)
    a[rest:] = _still(rng, n - rest, hz, seat, wearer.breath_sway)
    return Window(_finish(rng, a, HUMAN_NOISE_G), hz,
                  impact_s=(contact + len(pulse) // 2) / hz)


def take_off(rng: np.random.Generator, hz: float = IMPACT_HZ, seconds: float = 4.0,
             wearer: Wearer | None = None) -> Window:
    """The wearer takes the band off and drops it on a table or the floor: handling, a true
    free fall, a sharp impact with a bounce, then flat with only the sensor's own noise.

    ``worn`` stays True: the heart rate a window carries is the band's running estimate,
    from before it came off; only the next windows have none.
    """
    wearer = wearer or Wearer.draw(rng)
    n = _n(hz, seconds)
    t = np.arange(n) / hz
    pre = _n(hz, rng.uniform(1.0, 1.6))
    fall_s = rng.uniform(0.08, 0.35)  # dropped from 3 cm to 60 cm
    ff = _n(hz, fall_s)
    impact = pre + ff
    up = _jitter(rng, UPRIGHT)
    held = _jitter(rng, _perpendicular(rng, up), 0.3)
    a = np.empty((n, 3))
    turning = _slerp(up, held, _smoothstep(t[:pre] / t[pre - 1] if pre > 1 else np.ones(1)))
    handling = 1.0 + rng.uniform(0.08, 0.2) * np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * t[:pre])
    a[:pre] = handling[:, None] * turning + rng.normal(0.0, HUMAN_NOISE_G, (pre, 3))
    flat = _jitter(rng, FLAT[int(rng.integers(2))], 0.04)
    a[pre:impact] = rng.uniform(0.02, 0.08) * _slerp(held, flat, np.linspace(0, 1, ff))
    peak = 2.0 + 12.0 * fall_s * rng.uniform(0.8, 1.4)
    shape = np.array([peak, rng.uniform(0.2, 0.6), 1.0 + rng.uniform(0.3, 1.0),
                      rng.uniform(0.6, 0.9)])[: n - impact]
    a[impact:impact + len(shape)] = shape[:, None] * flat
    rest = impact + len(shape)
    a[rest:] = flat
    a[pre:] += rng.normal(0.0, wearer.sensor_noise_g, (n - pre, 3))
    return Window(np.round(a, ACCEL_DECIMALS), hz, impact_s=impact / hz)


def bed_flop(rng: np.random.Generator, hz: float = IMPACT_HZ, seconds: float = 4.0,
             wearer: Wearer | None = None) -> Window:
    """Flopping onto a bed to sleep: standing, tipping back a short way (a shallow dip), a
    soft wide landing, the mattress's rebound dying out, then lying and breathing."""
    wearer = wearer or Wearer.draw(rng)
    n, pre, tip, impact, up = _impact(rng, hz, seconds, (1.0, 1.5), (0.25, 0.45))
    down = _lying(rng)
    a = np.empty((n, 3))
    a[:pre] = _still(rng, pre, hz, up, 0.03)
    s = np.arange(tip) / tip
    dip = 1.0 - rng.uniform(0.3, 0.65) * np.sin(np.pi * s)
    a[pre:impact] = dip[:, None] * _slerp(up, down, _smoothstep(s))
    pulse = _cushioned(hz, wearer.bed_peak_g * rng.uniform(0.85, 1.15),
                       rng.uniform(0.1, 0.2))[: n - impact]
    a[impact:impact + len(pulse)] = pulse[:, None] * down
    rest = impact + len(pulse)
    after = np.arange(n - rest) / hz
    rebound = rng.uniform(0.15, 0.3) * (pulse.max() - 1.0) * np.exp(-after / rng.uniform(0.1, 0.2)) \
        * np.sin(2 * np.pi * wearer.bed_bounce_hz * after)
    a[rest:] = _still(rng, n - rest, hz, down, wearer.breath_sway) \
        + rebound[:, None] * down
    return Window(_finish(rng, a, HUMAN_NOISE_G), hz, impact_s=(impact + len(pulse) // 2) / hz)


HARD_NEGATIVE_WINDOWS: dict[str, Callable[..., Window]] = {
    "drop": drop,
    "sit_hard": sit_hard,
    "jump": jump,
    "sit_hard_still": sit_hard_still,
    "take_off": take_off,
    "bed_flop": bed_flop,
}
"""Hard negatives by variant (the ``variant`` of their ``fall_negative`` labels); each takes
``(rng, seconds=...)``, and those of :data:`WEARER_HARD_NEGATIVES` a ``wearer`` too."""

# The hard negatives drawn the resident's own way (:class:`Wearer`); after them the wearer,
# or the band, stays put.
WEARER_HARD_NEGATIVES = frozenset({"sit_hard_still", "take_off", "bed_flop"})

ACTIVITY_WINDOWS = {
    "walking": walking,
    "stairs": stairs,
    "standing": standing,
    "sitting": sitting,
    "lying": lying,
    "sit_down": sit_down,
    "lie_down": lie_down,
    "get_up": get_up,
    "pick_up": pick_up,
    "off_wrist": off_wrist,
}

HEART_RATE_BPM = {
    "walking": (82, 100),
    "stairs": (95, 115),
    "standing": (68, 82),
    "sitting": (62, 76),
    "lying": (55, 66),
    "sit_down": (65, 80),
    "lie_down": (58, 70),
    "get_up": (80, 100),
    "pick_up": (70, 85),
    "fall": (90, 120),
    "sit_hard": (70, 85),
    "jump": (90, 110),
    "sit_hard_still": (65, 80),
    "take_off": (68, 82),
    "bed_flop": (60, 72),
}
