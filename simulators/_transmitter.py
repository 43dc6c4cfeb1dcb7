"""The radio link of one unit: what its devices send, as the broker receives it.

Per window, the unit's raw emissions (sorted by event time) are made unique per device and
channel in event time, numbered (``seq``), lost, retried or seen twice as the radio draws,
and serialised as replay lines prefixed with their 13-digit publish time, so that sorting
lines as bytes sorts them by publish time, then by content.

Payloads stay plain dicts serialised by orjson, not the protocol's msgspec readings: a
reading encodes its tag first and would change every recording's bytes, a band window's
numpy samples would have to become tuples, and ``ts``/``seq`` are set here, after the unit
built the payload. The tests decode every simulated payload into the protocol's readings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from safehood.protocol import build_topic

from ._edits import RELIABLE, WILL
from ._rng import py_rng
from .const import DUPLICATE_DELAY_MS, RETRIES, RETRY_DELAY_MS

Raw = tuple[int, str, str, dict[str, Any], int]  # (ts, device_id, channel, payload, flags)

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


@dataclass(frozen=True, slots=True)
class Radio:
    """The radio link of every device: the share of messages lost and seen twice."""

    drop: float = 0.005
    duplicate: float = 0.002

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate"):
            value = getattr(self, name)
            if not 0.0 <= value < 0.5:
                raise ValueError(f"radio {name} probability must be in [0, 0.5), got {value}")


class Transmitter:
    """Sends one unit's messages over ``radio``; ``key`` and ``seed`` seed its draws."""

    def __init__(self, key: tuple[object, ...], seed: int, radio: Radio, prefix: str,
                 site: str) -> None:
        self.radio = radio
        self.prefix = prefix
        self.site = site
        self.rng = py_rng(seed, "radio", *key)
        self.pending: list[bytes] = []  # lines due after the window: retries, duplicates
        self.seq: dict[str, int] = {}
        self.last_ts: dict[tuple[str, str], int] = {}
        self.topics: dict[tuple[str, str], bytes] = {}
        # device -> times it sends nothing (a scenario's silent death)
        self.dead: dict[str, list[tuple[int, int]]] = {}
        # device -> (time of its silent death, event time of its last delivered message before)
        self.watch: dict[str, tuple[int, int]] = {}
        # Per device, where the population drew them: radio loss and clock skew.
        self.drops: dict[str, float] = {}
        self.skews: dict[str, int] = {}

    def send(self, now: list[Raw], b: int, stats: Counter[str]) -> list[bytes]:
        """Lines published before ``b`` of ``now`` (sorted by event time) and of what was
        pending; the rest waits. Counts go to ``stats``."""
        pending = [(int(line[:13]), line) for line in self.pending]
        lines = [line for pub, line in pending if pub < b]
        self.pending = [line for pub, line in pending if pub >= b]
        radio_rng = self.rng
        random_ = radio_rng.random
        radio_drop, dup = self.radio.drop, self.radio.duplicate
        drops = self.drops
        skews = self.skews
        last_ts = self.last_ts
        seqs = self.seq
        topics = self.topics
        dead = self.dead
        watch = self.watch
        late = self.pending
        counts = {"telemetry": 0, "event": 0, "status": 0}
        dropped = duplicates = retries = wills = 0
        dumps = orjson.dumps
        for ts, device_id, channel, payload, flags in now:
            if flags & WILL:
                lines.append(self._line(ts, device_id, channel, dumps(payload)))
                wills += 1
                continue
            if dead and device_id in dead and self._dead_at(device_id, ts):
                continue
            key = (device_id, channel)
            previous = last_ts.get(key)
            if previous is not None and ts <= previous:
                # The store keys readings by (device, channel, event time): never reuse one.
                ts = previous + 1
                payload["ts"] = ts
            last_ts[key] = ts
            if skews and device_id in skews:
                payload["ts"] = ts + skews[device_id]
            if channel != "status":
                seq = seqs.get(device_id, 0)
                seqs[device_id] = seq + 1
                payload["seq"] = seq
                tail = b"}\n"
            else:
                tail = b',"retain":true}\n'
            topic = topics.get(key)
            if topic is None:
                topic = self._topic(device_id, channel)
            middle = b'{"topic":"' + topic + b'","payload":' + dumps(payload, option=_NUMPY) + tail
            counts[channel] += 1
            drop = drops.get(device_id, radio_drop) if drops else radio_drop
            u = random_()
            pub = ts
            if u < drop:
                if not flags & RELIABLE:
                    dropped += 1
                    continue
                # A reliable message is sent again until it gets through (the last try does).
                for attempt in range(RETRIES):
                    pub += radio_rng.randint(*RETRY_DELAY_MS)
                    retries += 1
                    if attempt == RETRIES - 1 or random_() >= drop:
                        break
            (lines if pub < b else late).append(b"%013d" % pub + middle)
            if watch and device_id in watch:
                death, last = watch[device_id]
                if ts < death:
                    watch[device_id] = (death, max(last, ts))
            # Only numbered messages are seen twice: the device's retransmissions. (A repeated
            # status heartbeat could not be told from a new one; the contract gives it no seq.)
            if drop <= u < drop + dup and channel != "status":
                duplicates += 1
                pub = ts + radio_rng.randint(*DUPLICATE_DELAY_MS)
                (lines if pub < b else late).append(b"%013d" % pub + middle)
        stats.update(counts)
        stats.update(dropped=dropped, duplicates=duplicates, retries=retries, wills=wills)
        return lines

    def _dead_at(self, device_id: str, t: int) -> bool:
        return any(lo <= t < hi for lo, hi in self.dead.get(device_id, ()))

    def _topic(self, device_id: str, channel: str) -> bytes:
        key = (device_id, channel)
        topic = self.topics.get(key)
        if topic is None:
            topic = build_topic(self.site, device_id, channel, self.prefix).encode()
            self.topics[key] = topic
        return topic

    def _line(self, pub: int, device_id: str, channel: str, body: bytes) -> bytes:
        topic = self._topic(device_id, channel)
        retain = b',"retain":true}\n' if channel == "status" else b"}\n"
        return b"%013d" % pub + b'{"topic":"' + topic + b'","payload":' + body + retain
