"""Quantiles of the small samples the household detectors learn from."""

from __future__ import annotations

import math
from collections.abc import Iterable


def linear_quantile(values: Iterable[int], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` by linear interpolation between the closest
    ranks: ``numpy.quantile``'s default method, to the bit, for integers below 2 ** 53
    (epoch or duration milliseconds).

    The same arithmetic in plain floats, step by step as numpy does it: on a few dozen
    values numpy's call costs ~20 us, this ~1 us.

    Examples
    --------
    >>> linear_quantile([4, 1, 3, 2], 0.5), linear_quantile([7], 0.9)
    (2.5, 7.0)
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("the quantile of no values")
    n = len(ordered)
    virtual = (n - 1) * q
    previous = math.floor(virtual)
    if virtual >= n - 1:
        previous = following = -1  # at or past the last rank: the largest value
    elif virtual < 0:
        previous = following = 0
    else:
        following = previous + 1
    gamma = virtual - previous
    low, high = ordered[previous], ordered[following]
    step = high - low
    if gamma >= 0.5:
        # numpy interpolates back from the upper value past half way (its _lerp)
        return high - step * (1 - gamma)
    return low + step * gamma
