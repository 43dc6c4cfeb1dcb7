"""A base for detector state that lost its instance dict to ``__slots__``."""

from __future__ import annotations

from typing import Any


class Slotted:
    """Loads the pickled state of a slotted class in either layout: its own
    ``(None, {slot: value})`` or the ``{name: value}`` of the class before it was slotted.

    The scale-out detector workers restore each site's engine from a checkpoint pickled by
    whatever code wrote it (see :mod:`safehood.scaleout`), so a class that drops its
    ``__dict__`` must still load what the dict-based class wrote.
    """

    __slots__ = ()

    def __setstate__(self, state: dict[str, Any] | tuple[None, dict[str, Any]]) -> None:
        if isinstance(state, tuple):
            state = state[1]
        for name, value in state.items():
            object.__setattr__(self, name, value)
