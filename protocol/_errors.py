from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a message broke the contract. Each is counted on its own in the dead-letter record."""

    BAD_TOPIC = "bad_topic"
    OVERSIZED = "oversized"
    BAD_ENCODING = "bad_encoding"
    BAD_JSON = "bad_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    UNKNOWN_KIND = "unknown_kind"
    UNKNOWN_EVENT = "unknown_event"
    BAD_TYPE = "bad_type"
    OUT_OF_RANGE = "out_of_range"
    BAD_TIMESTAMP = "bad_timestamp"
    UNKNOWN_DEVICE = "unknown_device"
    KIND_MISMATCH = "kind_mismatch"
    SITE_MISMATCH = "site_mismatch"
    STORE_REJECTED = "store_rejected"
    UNCLAIMED_SOURCE = "unclaimed_source"


class ContractViolation(ValueError):
    """A message that breaks wire contract v1.

    ``reason`` is the machine-readable category; ``detail`` says what exactly was wrong.
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
