"""Replay files (JSON Lines of ``{"topic", "payload"}``) and label files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

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
