"""The garbage collector of a long-running process: settled once start-up is done."""

from __future__ import annotations

import ctypes
import gc
from typing import Final

# CPython's default is 700. A 500-alert page holds tens of thousands of objects while it
# is built: at 700 the collector ran dozens of young passes a request and promoted the
# page to the old generation, whose full passes (every 3-5 s under the API benchmark) then
# scanned it. At 50,000 a request's objects are freed by reference counting first.
YOUNG_GENERATION_THRESHOLD: Final = 50_000


# glibc's mallopt parameter, and the size from which a block gets pages of its own (the
# default at which glibc starts, before it raises it to the largest block freed so far).
_M_MMAP_THRESHOLD: Final = -3
LARGE_BLOCK_BYTES: Final = 128 * 1024


def return_large_blocks() -> bool:
    """Give every block of :data:`LARGE_BLOCK_BYTES` or more pages of its own, handed back
    to the system when it is freed, for the rest of the process. Returns whether the C
    library took it (glibc does; elsewhere nothing changes).

    Call it first thing in a long-running process. glibc otherwise raises that threshold
    to the largest block freed so far: once start-up has freed a few large tables, the
    hash tables of dicts keyed by device grow in the heap, and the tables they outgrow
    stay in the process as holes (0.4 KiB a device of the live pipeline's resident memory
    at 100,000 devices, ``bench/registry_scale.py``)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES))


def settle_heap() -> None:
    """Keep everything alive now (registry, detectors, modules, the API's routes and
    cached registry) out of the collector's passes for good, and let the young generation
    grow to :data:`YOUNG_GENERATION_THRESHOLD` before a pass. (No collection first: the
    few cycles of garbage left from start-up are frozen with the rest; a collection here
    took up to 0.9 s in the test suite's long-lived processes, at every pipeline start.)

    Call it once a process has started (it is process-wide). Each full pass of the
    collector stops every thread: over the 270,000 objects of the API's process under
    ``bench/api_load.py`` one took 0.15-0.2 s of CPU, every 3-5 s."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
