"""Wire contract v1 of safehood: topics, payloads, registry, replay and alert models.

Devices, the simulator, ingest, the detectors and the offline tools all speak it;
validation happens here, once, and everything after sees typed objects.
"""

from ._alerts import (
    Alert,
    AlertDecision,
    AlertEvent,
    AlertStatus,
    AlertType,
    DecisionAction,
    Severity,
)
from ._dedup import DuplicateFilter
from ._errors import ContractViolation, Reason
from ._messages import Message, Scalar
from ._payloads import decode_payload, parse_message, validate_payload
from ._registry import (
    Device,
    DeviceId,
    EntityId,
    Household,
    Registry,
    RegistryFile,
    Resident,
    SiteId,
    in_window,
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
    "AlertStatus",
    "AlertType",
    "ContractViolation",
    "DecisionAction",
    "Device",
    "DeviceId",
    "DuplicateFilter",
    "EntityId",
    "Household",
    "Label",
    "Message",
    "Reason",
    "Registry",
    "RegistryFile",
    "ReplayRecord",
    "Resident",
    "Scalar",
    "Severity",
    "SiteId",
    "Topic",
    "build_topic",
    "deadletter_topic",
    "decode_payload",
    "format_ts",
    "in_window",
    "parse_message",
    "parse_topic",
    "parse_ts_ms",
    "read_jsonl",
    "read_labels",
    "read_replay",
    "validate_payload",
    "write_jsonl",
]
