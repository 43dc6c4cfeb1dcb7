"""Ingest: raw messages in from a :class:`ReadingSource` (MQTT, or a list), validated
messages out to a :class:`ReadingSink` (the store, or a list) and the detectors.

Every message is validated against wire contract v1; a broken one goes to the dead-letter
record with its reason and the pipeline runs on.
"""

from ._deadletters import DeadLetter, DeadLetterRecorder
from ._device_health import DeviceHealthRecorder
from ._mqtt_source import MqttSource
from ._seen import SeenLog, SiteTime
from ._service import IngestService, IngestStats, MessageHandler, TickHandler
from ._source import ListSink, ListSource, RawMessage, ReadingSink, ReadingSource, Received

__all__ = [
    "DeadLetter",
    "DeadLetterRecorder",
    "DeviceHealthRecorder",
    "IngestService",
    "IngestStats",
    "ListSink",
    "ListSource",
    "MessageHandler",
    "MqttSource",
    "RawMessage",
    "ReadingSink",
    "ReadingSource",
    "Received",
    "SeenLog",
    "SiteTime",
    "TickHandler",
]
