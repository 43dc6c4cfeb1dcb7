from __future__ import annotations

import math

import numpy as np
import pytest

from safehood.detectors.quantiles import linear_quantile

QS = [0.0, 0.1, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 0.8, 0.9, 0.95, 0.97, 0.99, 0.999, 1.0]


@pytest.mark.parametrize("q", QS)
def test_linear_quantile_is_numpys_to_the_bit(q: float) -> None:
    rng = np.random.default_rng(int(q * 100))
    for n in [*range(1, 40), 64, 101, 512]:
        for scale in (10, 86_400_000, 2**52):
            values = rng.integers(0, scale, n).tolist()
            ours, numpys = linear_quantile(values, q), float(np.quantile(values, q))
            assert math.copysign(1, ours) == math.copysign(1, numpys)
            assert ours == numpys, (n, scale, values)


def test_linear_quantile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        linear_quantile([], 0.5)
