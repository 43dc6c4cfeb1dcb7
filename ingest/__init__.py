"""Ingest: MQTT in, validated messages out to the store and the detectors.

Every message is validated against wire contract v1; a broken one goes to the dead-letter
record with its reason and the pipeline runs on.
"""

from ._deadletters import DeadLetter, DeadLetterRecorder
from ._device_health import DeviceHealthRecorder
from ._mqtt_source import BrokerUnreachable, MqttSource, RawMessage, make_client, probe_protocol
from ._service import IngestService, IngestStats, MessageHandler, TickHandler

__all__ = [
    "BrokerUnreachable",
    "DeadLetter",
    "DeadLetterRecorder",
    "DeviceHealthRecorder",
    "IngestService",
    "IngestStats",
    "MessageHandler",
    "MqttSource",
    "RawMessage",
    "TickHandler",
    "make_client",
    "probe_protocol",
]
