from __future__ import annotations

from typing import TYPE_CHECKING

from ._base import ReadingStore
from ._influx import InfluxReadingStore
from ._sqlite import SqliteReadingStore

if TYPE_CHECKING:
    from safehood.config import Settings


def open_store(settings: Settings) -> ReadingStore:
    """The store ``settings`` name: InfluxDB when ``influx_url`` is set, else the embedded
    SQLite file ``embedded_store_path``. The caller closes it."""
    if settings.influx_url is not None:
        return InfluxReadingStore.from_settings(settings)
    return SqliteReadingStore(settings.embedded_store_path)
