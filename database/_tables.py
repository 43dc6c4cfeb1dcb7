"""Tables of the alerts/registry database. Each package that persists adds its tables here
and a migration under ``migrations/versions`` (one alembic branch per package)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_ms", BigInteger, nullable=False),
    Column("topic", Text, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("payload_size", Integer, nullable=False),
    Index("ix_dead_letters_reason_received", "reason", "received_ms"),
)

households = Table(
    "households",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("site", String(64), nullable=False, index=True),
    Column("lives_alone", Boolean, nullable=False, default=False),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("night_start", String(5), nullable=False, default="22:00"),
    Column("night_end", String(5), nullable=False, default="06:00"),
    Column("building", String(64)),
    Column("address", Text),
)

residents = Table(
    "residents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("household", String(64), ForeignKey("households.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("elderly", Boolean, nullable=False, default=False),
    Column("dementia", Boolean, nullable=False, default=False),
    Column("contacts", JSON, nullable=False, default=list),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("site", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("household", String(64), ForeignKey("households.id", ondelete="CASCADE"), index=True),
    Column("room", String(64)),
    Column("resident", String(64), ForeignKey("residents.id", ondelete="SET NULL")),
    Column("building", String(64)),
)

device_health = Table(
    "device_health",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("site", String(64), nullable=False, index=True),
    Column("kind", String(16)),
    Column("last_seen_ms", BigInteger, nullable=False),
    Column("last_event_ms", BigInteger),
    Column("online", Boolean),
    Column("battery", Integer),
    Column("rssi", Integer),
)
