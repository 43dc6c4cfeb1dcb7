"""Features of wearable accelerometer windows, computed for many windows at once.

Windows differ in length and sample rate (a 2 s activity window at 25 Hz, a 4 s impact window
at 50 Hz), so a batch holds them zero-padded to the longest, with each window's length and
rate beside it; every feature is one numpy expression over the whole batch, masked by
position. The rule path of the fall detector (``detectors.fall.window_features``) reads its
impact, stillness and posture from the same functions, on a batch of one, so each feature
has one definition.

Any change to what a feature means, or to :data:`FEATURE_NAMES`, must bump
:data:`FEATURE_VERSION`: a model trained on other features is refused at load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FEATURE_VERSION = "fall-features-2"

# Samples around the impact itself (the body hitting the floor, bouncing) belong to neither
# the posture before nor the stillness after.
IMPACT_SETTLE_S = 0.5
# The classifier's impact is the last sample at or above this (else the window's peak): low
# enough to find a soft fall, high enough to pass over a footstep.
FEATURE_IMPACT_G = 1.8
# Below this magnitude the wearer is in free fall (support lost).
FREE_FALL_G = 0.6
# How far before the impact a free fall is looked for.
FREE_FALL_LOOKBACK_S = 1.0
# How far either side of the peak its width is measured.
IMPACT_SPAN_S = 0.3
# Micro-motion after the impact is measured on the samples averaged over this long: a band's
# own sensor noise (white) averages out, a body's breathing and tilting does not.
MICRO_MOTION_S = 0.4
# The band's axis that points up when its wearer stands.
UP_AXIS = np.array([0.0, 1.0, 0.0])

FEATURE_NAMES: tuple[str, ...] = (
    "peak_g",  # impact peak
    "free_fall_depth_g",  # 1 - lowest magnitude in the second before the impact
    "free_fall_s",  # time below FREE_FALL_G in that second
    "jerk_max_g_per_s",  # steepest change of magnitude
    "std_g",  # variation of the magnitude over the window
    "pre_std_g",  # activity before the impact
    "after_std_g",  # post-impact stillness (breathing and tremor, or a dead-still band)
    "after_mean_g",  # a body at rest reads 1 g
    "posture_change_deg",  # direction of gravity before vs after the impact
    "turn_deg",  # direction of gravity, first second vs last second
    "after_s",  # how much of the window follows the impact
    "impact_width_s",  # time above half the peak: a hard object rings for one sample, a
    # body on a floor for a few, a sofa or a mattress for many
    "after_motion_g",  # post-impact micro-motion: breathing and tilting, none on a table
    "after_tilt_deg",  # the band's up axis from vertical after the impact: sitting or lying
)


@dataclass(frozen=True, slots=True)
class WindowBatch:
    """Accelerometer windows in g: ``accel`` ``(m, n, 3)`` zero-padded past each window's
    ``lengths`` (``(m,)``), sampled at ``hz`` (``(m,)``)."""

    accel: np.ndarray
    lengths: np.ndarray
    hz: np.ndarray

    @classmethod
    def of(cls, windows: Sequence[object], hz: Sequence[float] | np.ndarray | float) -> WindowBatch:
        """Pad ``windows`` (each ``[[x, y, z], ...]`` or an ``(n, 3)`` array) into a batch."""
        if len(windows) == 1:
            # The rule path's batch of one, a window a message: nothing to pad.
            accel = np.array(windows[0], dtype=float).reshape(1, -1, 3)
            return cls(accel, np.array([accel.shape[1]]), np.array([hz], dtype=float).reshape(1))
        arrays = [np.asarray(w, dtype=float).reshape(-1, 3) for w in windows]
        lengths = np.array([len(a) for a in arrays], dtype=int)
        accel = np.zeros((len(arrays), int(lengths.max(initial=0)), 3))
        for row, array in enumerate(arrays):
            accel[row, : len(array)] = array
        rates = np.broadcast_to(np.asarray(hz, dtype=float), (len(arrays),)).copy()
        return cls(accel, lengths, rates)

    def __len__(self) -> int:
        return len(self.lengths)

    def magnitude(self) -> np.ndarray:
        """Acceleration magnitude (g) of every sample, ``(m, n)``; 0 past each window's end."""
        return np.sqrt(np.einsum("mnk,mnk->mn", self.accel, self.accel))


@dataclass(frozen=True, slots=True)
class Aftermath:
    """Per window of a batch (each array's first axis): the impact and what surrounds it.

    ``impact`` is the index of the last sample at or above the impact level, or of the peak
    when none is (``has_impact`` False); ``first_impact`` likewise the first. Directions are
    unit vectors of the mean acceleration (gravity), NaN where there are no samples to
    average (or they cancel out). ``after_count`` samples follow the impact and its settling.
    """

    magnitude: np.ndarray
    peak_g: np.ndarray
    std_g: np.ndarray
    has_impact: np.ndarray
    impact: np.ndarray
    first_impact: np.ndarray
    settle: np.ndarray
    after_count: np.ndarray
    after_std_g: np.ndarray
    after_mean_g: np.ndarray
    before_direction: np.ndarray
    after_direction: np.ndarray
    head_direction: np.ndarray
    tail_direction: np.ndarray


def aftermath(batch: WindowBatch, impact_g: float, *, only_impacts: bool = False) -> Aftermath:
    """Impact, stillness after it and directions of gravity of every window of ``batch``.

    ``only_impacts``: when no window of the batch reaches ``impact_g``, leave what follows
    and precedes the peak unmeasured (NaN, ``after_count`` 0). The rule path reads those
    only after an impact, and most windows of a band have none: measuring them would double
    the cost of each one.
    """
    accel, lengths, hz = batch.accel, batch.lengths, batch.hz
    m = len(lengths)
    position = np.arange(accel.shape[1])[None, :]
    valid = position < lengths[:, None]
    magnitude = batch.magnitude()
    filled = np.where(valid, magnitude, -np.inf)
    peak_index = np.argmax(filled, axis=1) if accel.shape[1] else np.zeros(m, int)
    peak = np.where(lengths > 0, np.max(filled, axis=1, initial=-np.inf), 0.0)
    above = valid & (magnitude >= impact_g)
    has_impact = np.asarray(above.any(axis=1))
    settle = np.maximum(1, np.round(IMPACT_SETTLE_S * hz)).astype(int)
    second = np.maximum(1, hz.astype(int))
    head = valid & (position < second[:, None])
    tail = _last_second(batch, position, valid)
    if only_impacts and not has_impact.any():
        # Without an impact, the impact (first and last) is the peak.
        head_direction, tail_direction = _directions(accel, np.stack([head, tail]))
        unmeasured = np.full(m, np.nan)
        return Aftermath(
            magnitude=magnitude, peak_g=peak, std_g=_masked_std(magnitude, valid),
            has_impact=has_impact, impact=peak_index, first_impact=peak_index, settle=settle,
            after_count=np.zeros(m, int), after_std_g=unmeasured, after_mean_g=unmeasured,
            before_direction=np.full((m, 3), np.nan), after_direction=np.full((m, 3), np.nan),
            head_direction=head_direction, tail_direction=tail_direction,
        )
    last_above = accel.shape[1] - 1 - np.argmax(above[:, ::-1], axis=1)
    impact = np.where(has_impact, last_above, peak_index)
    first_impact = np.where(has_impact, np.argmax(above, axis=1), peak_index)
    after = valid & (position >= (impact + settle)[:, None])
    before = position < np.maximum(0, first_impact - settle)[:, None]
    before_direction, after_direction, head_direction, tail_direction = _directions(
        accel, np.stack([before, after, head, tail]))
    return Aftermath(
        magnitude=magnitude,
        peak_g=peak,
        std_g=_masked_std(magnitude, valid),
        has_impact=has_impact,
        impact=impact,
        first_impact=first_impact,
        settle=settle,
        after_count=after.sum(axis=1),
        after_std_g=_masked_std(magnitude, after),
        after_mean_g=_masked_mean(magnitude, after),
        before_direction=np.where((before.sum(axis=1) >= 2)[:, None], before_direction, np.nan),
        after_direction=after_direction,
        head_direction=head_direction,
        tail_direction=tail_direction,
    )


def tail_directions(batch: WindowBatch) -> np.ndarray:
    """:attr:`Aftermath.tail_direction` alone, ``(m, 3)``: the same masks and sums, so the
    same bits, for a window whose other features nobody reads."""
    position = np.arange(batch.accel.shape[1])[None, :]
    valid = position < batch.lengths[:, None]
    return _directions(batch.accel, _last_second(batch, position, valid)[None])[0]


def _last_second(batch: WindowBatch, position: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mask of each window's last second of samples (at least one)."""
    second = np.maximum(1, batch.hz.astype(int))
    return valid & (position >= (batch.lengths - second)[:, None])


def feature_matrix(batch: WindowBatch) -> np.ndarray:
    """The classifier's features of every window, ``(m, len(FEATURE_NAMES))``, all finite.

    Examples
    --------
    >>> upright = [(0.0, 1.0, 0.0)] * 50
    >>> lying = [(1.0, 0.0, 0.0)] * 50
    >>> batch = WindowBatch.of([upright + [(3.0, 0.0, 0.0)] + lying, upright * 2], hz=25)
    >>> features = dict(zip(FEATURE_NAMES, feature_matrix(batch).T.round(1)))
    >>> features["peak_g"].tolist(), features["posture_change_deg"].tolist()
    ([3.0, 1.0], [90.0, 0.0])
    >>> features["after_tilt_deg"].tolist(), features["after_motion_g"].tolist()
    ([90.0, 0.0], [0.0, 0.0])
    """
    found = aftermath(batch, FEATURE_IMPACT_G)
    magnitude, hz = found.magnitude, batch.hz
    position = np.arange(batch.accel.shape[1])[None, :]
    valid = position < batch.lengths[:, None]
    lookback = np.round(FREE_FALL_LOOKBACK_S * hz).astype(int)
    falling = valid & (position < found.first_impact[:, None]) \
        & (position >= (found.first_impact - lookback)[:, None])
    lowest = np.min(np.where(falling, magnitude, np.inf), axis=1, initial=np.inf)
    free_fall_depth = np.where(np.isfinite(lowest), 1.0 - lowest, 0.0)
    free_fall_s = (falling & (magnitude < FREE_FALL_G)).sum(axis=1) / hz
    steps = np.abs(np.diff(magnitude, axis=1)) * hz[:, None]
    jerk = np.max(np.where(valid[:, 1:], steps, 0.0), axis=1, initial=0.0)
    pre = valid & (position < np.maximum(0, found.first_impact - lookback)[:, None])
    before = np.where(np.isnan(found.before_direction), found.head_direction,
                      found.before_direction)
    columns = (
        found.peak_g,
        free_fall_depth,
        free_fall_s,
        jerk,
        found.std_g,
        _masked_std(magnitude, pre),
        found.after_std_g,
        found.after_mean_g,
        angle_deg(before, found.after_direction),
        angle_deg(found.head_direction, found.tail_direction),
        found.after_count / hz,
        _impact_width(magnitude, valid, found.peak_g, hz) / hz,
        _micro_motion(batch, found),
        angle_deg(found.after_direction, UP_AXIS),
    )
    # No samples to measure (an impact at the very end, a window too short): the feature
    # reads as nothing happened.
    return np.nan_to_num(np.column_stack(columns), nan=0.0, posinf=0.0, neginf=0.0)


def _impact_width(magnitude: np.ndarray, valid: np.ndarray, peak: np.ndarray,
                  hz: np.ndarray) -> np.ndarray:
    """Samples within ``IMPACT_SPAN_S`` of each window's peak at or above half of it (over
    1 g)."""
    position = np.arange(magnitude.shape[1])[None, :]
    peak_index = np.argmax(np.where(valid, magnitude, -np.inf), axis=1)[:, None]
    near = np.abs(position - peak_index) <= np.round(IMPACT_SPAN_S * hz)[:, None]
    half = (1.0 + (peak - 1.0) / 2)[:, None]
    return (valid & near & (magnitude >= half)).sum(axis=1)


def _micro_motion(batch: WindowBatch, found: Aftermath) -> np.ndarray:
    """Spread (g) of the samples after the impact, averaged over ``MICRO_MOTION_S`` per axis
    (a running mean from a cumulative sum, its length each window's own): the root of the
    summed variances of the three axes."""
    accel, lengths = batch.accel, batch.lengths
    m, n, _ = accel.shape
    span = np.maximum(1, np.round(MICRO_MOTION_S * batch.hz)).astype(int)
    total = np.concatenate([np.zeros((m, 1, 3)), np.cumsum(accel, axis=1)], axis=1)
    position = np.arange(n)[None, :]
    ends = np.minimum(position + span[:, None], n)
    mean = (np.take_along_axis(total, ends[:, :, None], axis=1) - total[:, :n]) \
        / span[:, None, None]
    start = (found.impact + found.settle)[:, None]
    whole = (position >= start) & (position + span[:, None] <= lengths[:, None])
    variance = sum(_masked_std(mean[:, :, axis], whole) ** 2 for axis in range(3))
    return np.sqrt(variance)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) between unit vectors, row by row; NaN where either is unknown."""
    dot = np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(dot))


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    count = mask.sum(axis=1)
    total = np.einsum("mn,mn->m", mask.astype(float), values)
    return np.divide(total, count, out=np.full(len(count), np.nan), where=count > 0)


def _masked_std(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask.astype(float)
    count = weights.sum(axis=1)
    per = 1.0 / np.maximum(count, 1.0)
    deviation = values - (np.einsum("mn,mn->m", weights, values) * per)[:, None]
    variance = np.einsum("mn,mn->m", weights, deviation * deviation) * per
    return np.where(count > 0, np.sqrt(variance), np.nan)


def _directions(accel: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Mean direction of the masked samples of each window for each of ``masks``
    ``(k, m, n)``: ``(k, m, 3)``; NaN where there are none (or they cancel out)."""
    count = masks.sum(axis=2)[:, :, None]
    mean = np.einsum("kmn,mnj->kmj", masks.astype(float), accel) / np.maximum(count, 1)
    norm = np.sqrt(np.einsum("kmj,kmj->km", mean, mean))[:, :, None]
    usable = (count > 0) & (norm > 1e-6)
    return np.divide(mean, norm, out=np.full(mean.shape, np.nan), where=usable)
