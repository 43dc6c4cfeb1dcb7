"""Labelled accelerometer windows for training and evaluating the fall classifier.

Two sources: the simulator's window physics drawn directly with a seed per resident
(:func:`simulate_windows`), or a recording and its labels (:func:`recorded_windows`), where a
wearable window holding the start (the impact) of a ``fall`` label is a fall and one holding
the start of a ``fall_negative`` label is a hard negative of that label's ``variant``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from safehood.protocol import Label, parse_ts_ms, read_labels
from safehood.simulators import _physics as physics
from safehood.simulators.const import WEARABLE_ASLEEP_PERIOD_MS, WEARABLE_AWAKE_PERIOD_MS

from ._features import WindowBatch

FALL = "fall"
HARD_NEGATIVES: tuple[str, ...] = tuple(physics.HARD_NEGATIVE_WINDOWS)
ORDINARY = "ordinary"

# Lengths (s) of the windows that hold a fall or a hard negative. The simulator's own are
# 3-4 s, but a band cuts its stream wherever it is: a 2 s window (its activity window) can
# end within a second of the impact, before the stillness after it shows.
IMPACT_WINDOW_S: tuple[float, ...] = (2.0, 3.0, 4.0)

# Ordinary windows a band sends in a day at the simulator's cadence (16 h awake, 8 h asleep):
# turns a rate of false alarms per window into false alarms per resident-day.
ORDINARY_WINDOWS_PER_DAY = 16 * 3_600_000 / WEARABLE_AWAKE_PERIOD_MS \
    + 8 * 3_600_000 / WEARABLE_ASLEEP_PERIOD_MS


@dataclass(frozen=True, slots=True)
class WindowSet:
    """Windows with what each one is: ``is_fall`` ``(m,)``; ``kind`` ``(m,)`` names the fall,
    hard negative (:data:`HARD_NEGATIVES`) or daily activity; ``group`` ``(m,)``
    is the seed or wearable it came from (folds never split a group)."""

    windows: list[np.ndarray]
    hz: np.ndarray
    is_fall: np.ndarray
    kind: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def batch(self) -> WindowBatch:
        return WindowBatch.of(self.windows, self.hz)

    def take(self, rows: np.ndarray) -> WindowSet:
        return WindowSet([self.windows[i] for i in rows], self.hz[rows], self.is_fall[rows],
                         self.kind[rows], self.group[rows])

    def counts(self) -> dict[str, int]:
        kinds, counts = np.unique(self.kind, return_counts=True)
        return {str(k): int(c) for k, c in zip(kinds, counts, strict=True)}

    @property
    def is_hard_negative(self) -> np.ndarray:
        return np.isin(self.kind, HARD_NEGATIVES)


def _gather(items: Iterable[tuple[np.ndarray, float, bool, str, int]]) -> WindowSet:
    rows = list(items)
    return WindowSet(
        [r[0] for r in rows],
        np.array([r[1] for r in rows], dtype=float),
        np.array([r[2] for r in rows], dtype=bool),
        np.array([r[3] for r in rows], dtype=object),
        np.array([r[4] for r in rows], dtype=int),
    )


def simulate_windows(
    seeds: Sequence[int], *, falls: int, hard_negatives: int, ordinary: int,
    window_s: Sequence[float] = IMPACT_WINDOW_S, progress: Callable[[int], None] | None = None,
) -> WindowSet:
    """Per seed: ``falls`` fall windows, ``hard_negatives`` of each hard negative (each of a
    length drawn from ``window_s``) and ``ordinary`` windows of daily activity (every kind
    of the simulator's, in turn), drawn by the simulator's window physics from
    ``numpy.random.default_rng(seed)``; a seed is one wearer (:class:`~physics.Wearer`).
    ``progress`` is called with 1 after each seed."""
    activities = list(physics.ACTIVITY_WINDOWS.items())

    def draw() -> Iterable[tuple[np.ndarray, float, bool, str, int]]:
        for seed in seeds:
            rng = np.random.default_rng(seed)
            wearer = {"wearer": physics.Wearer.draw(rng)}
            for _ in range(falls):
                window = physics.fall(rng, seconds=float(rng.choice(window_s)))
                yield window.accel, window.hz, True, FALL, seed
            for variant, make in physics.HARD_NEGATIVE_WINDOWS.items():
                own = wearer if variant in physics.WEARER_HARD_NEGATIVES else {}
                for _ in range(hard_negatives):
                    window = make(rng, seconds=float(rng.choice(window_s)), **own)
                    yield window.accel, window.hz, False, variant, seed
            for index in range(ordinary):
                name, make_activity = activities[index % len(activities)]
                window = make_activity(rng)
                yield window.accel, window.hz, False, name, seed
            if progress is not None:
                progress(1)

    return _gather(draw())


def recorded_windows(traffic: Path, labels: Path) -> WindowSet:
    """Every wearable accelerometer window of a recording (the replay format), labelled by
    the simulator's ``fall`` and ``fall_negative`` labels (a window holding a label's start,
the impact, is of that label); ``group`` numbers the wearables.

    Raises ``ValueError`` on a line that is not JSON."""
    marks = [label for label in read_labels(labels) if label.type in (FALL, "fall_negative")]
    by_device: dict[str, list[Label]] = {}
    for label in marks:
        if label.device_id is not None:
            by_device.setdefault(label.device_id, []).append(label)
    devices: dict[str, int] = {}

    def read() -> Iterable[tuple[np.ndarray, float, bool, str, int]]:
        with open(traffic, "rb") as handle:
            for number, line in enumerate(handle, 1):
                if b'"accel"' not in line:
                    continue
                try:
                    record = orjson.loads(line)
                    payload = record["payload"]
                    accel = np.asarray(payload["accel"], dtype=float).reshape(-1, 3)
                    hz = float(payload["hz"])
                    device = str(record["topic"]).split("/")[-2]
                    start_ms = parse_ts_ms(payload["ts"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise ValueError(f"{traffic}:{number}: not a wearable window: {exc}") from None
                if len(accel) == 0 or hz <= 0:
                    continue
                end_ms = start_ms + len(accel) / hz * 1000
                held = [label for label in by_device.get(device, ())
                        if start_ms <= label.start <= end_ms]
                kind = ORDINARY
                if held:
                    # Two incidents on one band at once (the simulator may move both to the
                    # same free moment): the window is the one whose impact is its peak.
                    peak_ms = start_ms + int(np.argmax(np.linalg.norm(accel, axis=1))) / hz * 1000
                    label = min(held, key=lambda item: abs(item.start - peak_ms))
                    kind = FALL if label.type == FALL else str(
                        getattr(label, "variant", None) or "fall_negative")
                group = devices.setdefault(device, len(devices))
                yield accel, hz, kind == FALL, kind, group

    return _gather(read())

