"""Routes vendor topics to the registry's devices, and loads the dialects."""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from safehood.protocol import ContractViolation, Device, Reason, Registry, Scalar, build_topic

from ._mapping import Dialect, Translation
from .const import MAPPINGS_PACKAGE

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoutedMessage:
    """One contract message made from a vendor message: its contract topic and payload
    (still to be validated), whether its event time is the receipt time, and the vendor's
    readings no rule of the dialect took."""

    topic: str
    payload: bytes
    ts_from_receipt: bool
    extras: tuple[tuple[str, Scalar], ...]


def load_dialects(extra_dir: str | Path | None = None) -> dict[str, Dialect]:
    """The shipped dialects, and those of ``extra_dir`` (``*.yaml``; one with the name of a
    shipped one replaces it). Raises :class:`MappingError` for a mapping file that is not
    valid."""
    dialects: dict[str, Dialect] = {}
    files = [f for f in importlib.resources.files(MAPPINGS_PACKAGE).iterdir()
             if f.name.endswith(".yaml")]
    for file in sorted(files, key=lambda f: f.name):
        with importlib.resources.as_file(file) as path:
            dialect = Dialect.load(path)
        dialects[dialect.name] = dialect
    if extra_dir is not None:
        for path in sorted(Path(extra_dir).glob("*.yaml")):
            dialect = Dialect.load(path)
            dialects[dialect.name] = dialect
    return dialects


class SourceRouter:
    """Which registry device a vendor topic belongs to, and its translation into contract v1.

    Built from the dialects and one registry (build a new one when the registry changes).
    A device claims its ``source_topic`` (and its dialect's availability topic); a topic of a
    dialect that no device claims is refused with reason ``unclaimed_source``.
    """

    def __init__(self, dialects: Mapping[str, Dialect], registry: Registry,
                 topic_prefix: str) -> None:
        self.dialects = dialects
        self.topic_prefix = topic_prefix
        self._state: dict[str, tuple[Device, Dialect]] = {}
        self._availability: dict[str, tuple[Device, Dialect]] = {}
        for device in registry.devices.values():
            if device.source_topic is None or device.dialect is None:
                continue
            dialect = dialects.get(device.dialect)
            if dialect is None:
                log.warning("device %s names dialect %r, which is not loaded (known: %s)",
                            device.device_id, device.dialect, ", ".join(sorted(dialects)))
                continue
            self._state[device.source_topic] = (device, dialect)
            availability = dialect.availability_topic(device.source_topic)
            if availability is not None:
                self._availability[availability] = (device, dialect)

    @property
    def filters(self) -> list[str]:
        """Subscriptions for every dialect's topics, and the claimed topics those miss (a
        Zigbee2MQTT name with a slash). Never two filters for one topic: the broker would
        deliver a message once for each."""
        topics = [t for d in self.dialects.values() for t in d.filters]
        topics += [t for t in (*self._state, *self._availability)
                   if not any(d.matches(t) for d in self.dialects.values())]
        return list(dict.fromkeys(topics))

    def route(self, topic: str, payload: bytes, received_ms: int) -> list[RoutedMessage] | None:
        """The contract messages of a vendor message, or ``None`` for a topic of no dialect
        (a contract topic). Raises :class:`ContractViolation` for an unclaimed vendor topic
        or a payload its dialect cannot read."""
        claimed = self._state.get(topic)
        if claimed is not None:
            device, dialect = claimed
            return self._routed(device, dialect.translate(payload, device.kind, received_ms))
        claimed = self._availability.get(topic)
        if claimed is not None:
            device, dialect = claimed
            return self._routed(device, dialect.translate_availability(payload))
        for dialect in self.dialects.values():
            if dialect.matches(topic):
                raise ContractViolation(
                    Reason.UNCLAIMED_SOURCE,
                    f"{topic!r} is a {dialect.name} topic that no registered device claims "
                    "(give a device source_topic and dialect)")
        return None

    def _routed(self, device: Device, translation: Translation) -> list[RoutedMessage]:
        return [
            RoutedMessage(
                build_topic(device.site, device.device_id, channel, self.topic_prefix),
                orjson.dumps(body), translation.ts_from_receipt,
                translation.extras if i == 0 else ())
            for i, (channel, body) in enumerate(translation.payloads)
        ]
