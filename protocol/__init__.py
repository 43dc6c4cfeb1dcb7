"""Wire contract v1 of safehood: topics, payloads, registry, replay and alert models.

Devices, the simulator, ingest, the detectors and the offline tools all speak it;
validation happens here, once, and everything after sees typed objects.
"""

from ._alerts import (
    Alert,
    AlertDecision,
    AlertEvent,
    AlertNotification,
    AlertStatus,
    AlertType,
    DecisionAction,
    Severity,
)
from ._dedup import DuplicateFilter
from ._errors import ContractViolation, Reason
from ._messages import Message
from ._payloads import decode_reading, parse_message
from ._readings import (
    ButtonReading,
    DeviceEvent,
    DoorReading,
    MotionReading,
    Reading,
    Sample,
    Scalar,
    SmokeReading,
    StatusReading,
    Telemetry,
    WaterReading,
    WearableWindow,
)
from ._registry import (
    Device,
    DeviceId,
    DeviceIn,
    EntityId,
    Household,
    HouseholdIn,
    Registry,
    RegistryFile,
    Resident,
    ResidentIn,
    SiteId,
    in_window,
    parse_hhmm,
)
from ._replay import Label, ReplayRecord, read_jsonl, read_labels, read_replay, write_jsonl
from ._time import format_ts, parse_ts_ms
from ._topics import DEVICE_ID_RE, SITE_RE, Topic, build_topic, deadletter_topic, parse_topic

__all__ = [
    "DEVICE_ID_RE",
    "SITE_RE",
    "Alert",
    "AlertDecision",
    "AlertEvent",
    "AlertNotification",
    "AlertStatus",
    "AlertType",
    "ButtonReading",
    "ContractViolation",
    "DecisionAction",
    "Device",
    "DeviceEvent",
    "DeviceId",
    "DeviceIn",
    "DoorReading",
    "DuplicateFilter",
    "EntityId",
    "Household",
    "HouseholdIn",
    "Label",
    "Message",
    "MotionReading",
    "Reading",
    "Reason",
    "Registry",
    "RegistryFile",
    "ReplayRecord",
    "Resident",
    "ResidentIn",
    "Sample",
    "Scalar",
    "Severity",
    "SiteId",
    "SmokeReading",
    "StatusReading",
    "Telemetry",
    "Topic",
    "WaterReading",
    "WearableWindow",
    "build_topic",
    "deadletter_topic",
    "decode_reading",
    "format_ts",
    "in_window",
    "parse_hhmm",
    "parse_message",
    "parse_topic",
    "parse_ts_ms",
    "read_jsonl",
    "read_labels",
    "read_replay",
    "write_jsonl",
]
