"""Seeded random sources derived from (seed, what, ...), so that nothing depends on the order
in which households, residents or days are generated."""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(*parts: object) -> int:
    """A stable 64-bit seed from ints and strings (``repr`` of both is stable across runs)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def py_rng(*parts: object) -> random.Random:
    return random.Random(derive_seed(*parts))


def np_rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(*parts))


def between(rng: random.Random, lo: int, hi: int) -> int:
    """``rng.randint(lo, hi)`` without its overhead (it shows in the profile)."""
    return lo + int(rng.random() * (hi - lo + 1))


def inside(intervals: list[tuple[int, int]], t: int) -> bool:
    """Whether ``t`` falls in one of the half-open ``intervals``."""
    return any(lo <= t < hi for lo, hi in intervals)
