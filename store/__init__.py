"""Time-series store of readings: InfluxDB, or an embedded SQLite file by default.

``open_store(settings)`` picks one; both keep the same fields with the same types and
write idempotently, so ingest, the API and the tests treat them alike.
"""

from ._base import ReadingStore, StoredReading, StoreError
from ._fields import as_stored
from ._influx import InfluxReadingStore
from ._line_protocol import to_line
from ._open import open_store
from ._sqlite import SqliteReadingStore

__all__ = [
    "InfluxReadingStore",
    "ReadingStore",
    "SqliteReadingStore",
    "StoreError",
    "StoredReading",
    "as_stored",
    "open_store",
    "to_line",
]
