"""A started process settles its heap: the garbage collector skips what start-up built."""

from __future__ import annotations

import gc
import platform

import pytest

from safehood._heap import YOUNG_GENERATION_THRESHOLD, return_large_blocks, settle_heap


def test_settling_freezes_what_lives_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    gc.unfreeze()
    long_lived = [{"device": n} for n in range(1000)]
    try:
        settle_heap()
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > len(long_lived)
        assert not any(o is long_lived for o in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_glibc_takes_the_large_block_threshold() -> None:
    # Process-wide and permanent, as in every long-running safehood process.
    assert return_large_blocks()
