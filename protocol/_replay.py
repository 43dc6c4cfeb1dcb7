"""Replay files (JSON Lines of ``{"topic", "payload"}``) and label files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import msgspec
import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._time import parse_ts_ms


class ReplayRecord(BaseModel):
    """One line of a replay file. ``payload`` is normally a JSON object; any JSON value is kept
    so that recordings of broken traffic replay as they were."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    topic: str = Field(min_length=1)
    payload: Any
    retain: bool = False

    def payload_bytes(self) -> bytes:
        if isinstance(self.payload, str) and not self.payload.lstrip().startswith(("{", "[")):
            return self.payload.encode()
        return orjson.dumps(self.payload)


class _ReplayLine(msgspec.Struct):
    # ReplayRecord's fields, strictly; the payload is kept as the bytes it was written as.
    topic: Annotated[str, msgspec.Meta(min_length=1)]
    payload: msgspec.Raw
    retain: bool = False


_REPLAY_LINE = msgspec.json.Decoder(_ReplayLine)


def decode_replay_line(raw: bytes) -> tuple[str, bytes]:
    """The topic and payload bytes of one replay line: what
    ``ReplayRecord.model_validate(orjson.loads(raw))`` and ``payload_bytes()`` give, without
    decoding the payload twice (its JSON text is passed on as written).

    Raises ``orjson.JSONDecodeError`` for a line that is not JSON and pydantic's
    ``ValidationError`` for one that is not a record, as that pair does.
    """
    try:
        line = _REPLAY_LINE.decode(raw)
    except msgspec.DecodeError:
        # Rare: let the model judge (it is lax where msgspec is strict, and says why).
        record = ReplayRecord.model_validate(orjson.loads(raw))
        return record.topic, record.payload_bytes()
    payload = bytes(line.payload)
    if payload[:1] == b'"':
        text: str = msgspec.json.decode(payload)
        if not text.lstrip().startswith(("{", "[")):
            return line.topic, text.encode()
    return line.topic, payload


class Label(BaseModel):
    """Ground truth for one simulated incident (DESIGN.md label format); times in epoch ms."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    household: str | None = None
    resident: str | None = None
    device_id: str | None = None
    site: str | None = None
    start: int
    end: int

    @field_validator("start", "end", mode="before")
    @classmethod
    def _ts(cls, value: Any) -> int:
        return parse_ts_ms(value)


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield each JSON object of a JSON Lines file; blank lines are skipped."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc


def read_replay(path: str | Path) -> Iterator[ReplayRecord]:
    for item in read_jsonl(path):
        yield ReplayRecord.model_validate(item)


def read_labels(path: str | Path) -> list[Label]:
    return [Label.model_validate(item) for item in read_jsonl(path)]


def write_jsonl(handle: IO[bytes], items: Iterable[dict[str, Any] | BaseModel]) -> int:
    """Write items as JSON Lines to a binary handle; returns how many were written."""
    count = 0
    for item in items:
        data = item.model_dump(mode="json", exclude_none=True) if isinstance(item, BaseModel) else item
        handle.write(orjson.dumps(data) + b"\n")
        count += 1
    return count
