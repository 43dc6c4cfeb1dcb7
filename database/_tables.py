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
    # Care record (migration 0005_duty_desk).
    Column("floor", Integer),
    Column("unit", String(32)),
    Column("responders", JSON),
    Column("key_holders", JSON),
    Column("access_notes", Text),
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
    # Care record (migration 0005_duty_desk).
    Column("birth_year", Integer),
    Column("conditions", JSON),
    Column("mobility", Text),
    Column("language", String(35)),
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
    Column("source_topic", String(256)),
    Column("dialect", String(64)),
)

# One row: raised by triggers with every write of the three tables above (migration
# 0009_registry_version), so that a change made elsewhere is seen by reading one row.
registry_version = Table(
    "registry_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
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

# --- alerting: alerts, their history, silences and the notification log (owner: alerting/) --

# ``open_key`` is "type|subject" while the alert is open and NULL once resolved; its unique
# index is what keeps one open alert per (type, subject) across threads and processes
# (NULLs never collide, in SQLite and PostgreSQL alike).
alerts = Table(
    "alerts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("open_key", String(200)),
    Column("type", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("severity_rank", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("site", String(64), nullable=False),
    Column("household", String(64)),
    Column("resident", String(64)),
    Column("device_id", String(64)),
    Column("subject", String(160), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("last_seen_ms", BigInteger, nullable=False),
    Column("acknowledged_ms", BigInteger),
    Column("resolved_ms", BigInteger),
    Column("cleared_ms", BigInteger),
    Column("count", Integer, nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("exercise", Boolean, nullable=False),
    Column("flapping", Boolean, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("tiers", JSON, nullable=False),
    Column("escalation_delay_ms", BigInteger, nullable=False),
    Column("next_reminder_ms", BigInteger),
    Column("hold_until_ms", BigInteger),
    Column("silenced_by", String(64)),
    Column("inhibited_by", String(64)),
    Column("revision", Integer, nullable=False),
    Index("ux_alerts_open_key", "open_key", unique=True),
    Index("ix_alerts_site_started", "site", "started_ms"),
    Index("ix_alerts_status_started", "status", "started_ms"),
    Index("ix_alerts_household_started", "household", "started_ms"),
    Index("ix_alerts_resident_started", "resident", "started_ms"),
    Index("ix_alerts_type_subject_started", "type", "subject", "started_ms"),
    # The alert list's order (migration 0007_alert_list_order).
    Index("ix_alerts_status_order", "status", "severity_rank", "started_ms", "id"),
    Index("ix_alerts_site_status_order", "site", "status", "severity_rank", "started_ms", "id"),
    # The alert gauges' counts by type and status (migration 0008_alert_counts).
    Index("ix_alerts_type_status", "type", "status"),
    # A household's alerts in the list's order (migration 0008_alert_counts).
    Index("ix_alerts_household_status_order", "household", "status", "severity_rank",
          "started_ms", "id"),
)

alert_history = Table(
    "alert_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(64), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("note", Text),
    # Structured details of a person's action (whom they called, the resolution's cause).
    Column("detail", JSON),
    Index("ix_alert_history_alert", "alert_id", "id"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("site", String(64)),
    Column("household", String(64)),
    Column("device_id", String(64)),
    Column("types", JSON, nullable=False),
    Column("starts_ms", BigInteger, nullable=False),
    Column("ends_ms", BigInteger, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_ms", BigInteger),
    Column("comment", Text, nullable=False),
    # Recurring quiet hours: [{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}], local time.
    Column("weekly", JSON),
    Column("timezone", String(64)),
    Index("ix_silences_ends", "ends_ms"),
)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(64), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    # (alert id, change, tier, target): a key with an ok attempt is never sent again.
    Column("key", String(400), nullable=False),
    Column("change", String(32), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("tier", Integer),
    Column("audience", String(32), nullable=False),
    Column("target", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("result", String(16), nullable=False),
    Column("error", Text),
    Index("ix_notification_attempts_alert", "alert_id", "id"),
    Index("ix_notification_attempts_key_ok", "key", "ok"),
)

# Keys of idempotent decisions that were applied (one row each, written in the transaction
# of the alert change): a replayed decision finds its key and changes nothing.
applied_decisions = Table(
    "applied_decisions",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("alert_id", String(64), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
)

# --- end of alerting tables -----------------------------------------------------------------

# --- api: bearer tokens and the MQTT accounts of provisioned devices (owner: api/) ---------

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    # SHA-256 of the whole token, hex; the token itself is never stored.
    Column("token_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("sites", JSON, nullable=False, default=list),
    Column("residents", JSON, nullable=False, default=list),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger),
    Column("revoked_ms", BigInteger),
)

# No foreign key to ``devices``: a registry import deletes and re-inserts device rows, which
# must not wipe credentials. The provisioner drops accounts whose device is gone.
mqtt_accounts = Table(
    "mqtt_accounts",
    metadata,
    Column("username", String(64), primary_key=True),
    # mosquitto's PBKDF2-SHA512 form: $7$iterations$salt_b64$hash_b64
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("device_id", String(64), index=True),
    Column("created_ms", BigInteger, nullable=False),
)
