"""Vendor dialects: devices as they are sold (Zigbee2MQTT, Shelly ...) made into contract v1.

A dialect is a declarative mapping file (YAML, see ``mappings/``); a registry device that
names its ``source_topic`` and ``dialect`` is translated at the ingest boundary, before
validation, by a :class:`SourceRouter`. Simulators use the same mappings in reverse.
"""

from ._discovery import TopicShape, suggest
from ._mapping import Dialect, DialectSpec, MappingError, Translation
from ._router import RoutedMessage, SourceRouter, load_dialects

__all__ = [
    "Dialect",
    "DialectSpec",
    "MappingError",
    "RoutedMessage",
    "SourceRouter",
    "TopicShape",
    "Translation",
    "load_dialects",
    "suggest",
]
