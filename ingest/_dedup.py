from __future__ import annotations

from collections import OrderedDict, deque

from protocol import Message

from .const import DEDUP_WINDOW_PER_DEVICE


class SeqDeduplicator:
    """Drops repeats of a device's message, recognised by ``(seq, ts)``.

    The key includes event time as well as ``seq`` so that a device whose counter restarts
    after a reboot is not mistaken for a repeat. It remembers the last ``window`` keys per
    device and at most ``max_devices`` devices (least recently heard forgotten first).
    Messages without ``seq`` cannot be told apart and always pass. Not thread safe.
    """

    def __init__(self, window: int = DEDUP_WINDOW_PER_DEVICE, max_devices: int = 1_000_000) -> None:
        self.window = window
        self.max_devices = max_devices
        self._seen: OrderedDict[str, tuple[deque[tuple[int, int]], set[tuple[int, int]]]] = (
            OrderedDict()
        )

    def is_duplicate(self, message: Message) -> bool:
        if message.seq is None:
            return False
        key = (message.seq, message.ts_ms)
        entry = self._seen.get(message.device_id)
        if entry is None:
            entry = (deque(), set())
            self._seen[message.device_id] = entry
            if len(self._seen) > self.max_devices:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(message.device_id)
        order, keys = entry
        if key in keys:
            return True
        order.append(key)
        keys.add(key)
        if len(order) > self.window:
            keys.discard(order.popleft())
        return False
