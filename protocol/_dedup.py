from __future__ import annotations

from ._messages import Message

DeliveryKey = tuple[str, int | None, int, str | None]
"""``(channel, seq, ts_ms, event)`` of one delivery."""


class DuplicateFilter:
    """Recognises repeated deliveries of a device's message (ingest and the detectors both
    use it: the offline detector reads recordings that never went through ingest).

    The key is ``(channel, seq, ts, event)``: a repeat has all of them equal, while a device
    whose counter restarted after a reboot sends a new time. Messages without ``seq`` are
    keyed on the rest, so an exact repeat of an event is still caught; a status stamped on
    receipt has no identity of its own and always passes. Keeps the last ``window`` keys per
    device, for at most ``max_devices`` devices (the least recently heard forgotten first).
    With ``retention_s``, a device's keys more than that behind the event time of its key
    just heard are forgotten too (oldest heard first): redeliveries come within minutes, and
    ``window`` keys held for every device of a large registry cost gigabytes.
    Not thread safe.
    """

    def __init__(
        self, window: int = 256, max_devices: int = 1_000_000, retention_s: float | None = None,
    ) -> None:
        self.window = window
        self.max_devices = max_devices
        self.retention_ms = None if retention_s is None else int(retention_s * 1000)
        # Per device, least recently heard first: its one key, or once it has sent two, its
        # last keys in arrival order (one dict is both the set and the order). Most devices
        # of a large registry are heard a few times, and a dict costs over 200 bytes.
        self._seen: dict[str, DeliveryKey | dict[DeliveryKey, None]] = {}

    def is_duplicate(self, message: Message) -> bool:
        """Whether ``message`` was seen before; remembers it when not."""
        if message.ts_from_receipt:
            return False
        return self.remember(message.device_id, self.key_of(message))

    @staticmethod
    def key_of(message: Message) -> DeliveryKey:
        """What makes a delivery of ``message`` a repeat of another (see the class)."""
        return (message.channel, message.seq, message.ts_ms, message.event)

    def remember(self, device_id: str, key: DeliveryKey) -> bool:
        """Note ``key`` of ``device_id``; returns whether it was known already (a filter
        restored from disk is filled this way, oldest key first)."""
        seen = self._seen
        # Taken out and put back last: the least recently heard device stays first.
        keys = seen.pop(device_id, None)
        if keys is None:
            seen[device_id] = key
            if len(seen) > self.max_devices:
                del seen[next(iter(seen))]
            return False
        if isinstance(keys, tuple):
            if keys == key:
                seen[device_id] = keys
                return True
            seen[device_id] = key if self.window == 1 else {keys: None, key: None}
            return False
        seen[device_id] = keys
        if key in keys:
            return True
        keys[key] = None
        if len(keys) > self.window:
            del keys[next(iter(keys))]
        if self.retention_ms is not None:
            horizon = key[2] - self.retention_ms
            oldest = next(iter(keys))
            # Stops at the key just heard at the latest: its time is past the horizon.
            while oldest[2] < horizon:
                del keys[oldest]
                oldest = next(iter(keys))
        return False
