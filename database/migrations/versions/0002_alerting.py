"""Alerting: alerts, alert history, silences and the notification log."""

import sqlalchemy as sa
from alembic import op

revision = "0002_alerting"
down_revision = "0001_base"
branch_labels = ("alerting",)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("open_key", sa.String(200)),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("severity_rank", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("household", sa.String(64)),
        sa.Column("resident", sa.String(64)),
        sa.Column("device_id", sa.String(64)),
        sa.Column("subject", sa.String(160), nullable=False),
        sa.Column("started_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger, nullable=False),
        sa.Column("acknowledged_ms", sa.BigInteger),
        sa.Column("resolved_ms", sa.BigInteger),
        sa.Column("cleared_ms", sa.BigInteger),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("confirmed", sa.Boolean, nullable=False),
        sa.Column("exercise", sa.Boolean, nullable=False),
        sa.Column("flapping", sa.Boolean, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("tiers", sa.JSON, nullable=False),
        sa.Column("escalation_delay_ms", sa.BigInteger, nullable=False),
        sa.Column("next_reminder_ms", sa.BigInteger),
        sa.Column("hold_until_ms", sa.BigInteger),
        sa.Column("silenced_by", sa.String(64)),
        sa.Column("inhibited_by", sa.String(64)),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    # One open alert per (type, subject): NULL (resolved) keys never collide.
    op.create_index("ux_alerts_open_key", "alerts", ["open_key"], unique=True)
    op.create_index("ix_alerts_site_started", "alerts", ["site", "started_ms"])
    op.create_index("ix_alerts_status_started", "alerts", ["status", "started_ms"])
    op.create_index("ix_alerts_household_started", "alerts", ["household", "started_ms"])
    op.create_index("ix_alerts_resident_started", "alerts", ["resident", "started_ms"])
    op.create_index("ix_alerts_type_subject_started", "alerts",
                    ["type", "subject", "started_ms"])
    op.create_table(
        "alert_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(64), sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_alert_history_alert", "alert_history", ["alert_id", "id"])
    op.create_table(
        "silences",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64)),
        sa.Column("household", sa.String(64)),
        sa.Column("device_id", sa.String(64)),
        sa.Column("types", sa.JSON, nullable=False),
        sa.Column("starts_ms", sa.BigInteger, nullable=False),
        sa.Column("ends_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_ms", sa.BigInteger),
        sa.Column("comment", sa.Text, nullable=False),
    )
    op.create_index("ix_silences_ends", "silences", ["ends_ms"])
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(64), sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("tier", sa.Integer),
        sa.Column("audience", sa.String(32), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_notification_attempts_alert", "notification_attempts",
                    ["alert_id", "id"])
    op.create_index("ix_notification_attempts_key_ok", "notification_attempts", ["key", "ok"])


def downgrade() -> None:
    op.drop_table("notification_attempts")
    op.drop_table("silences")
    op.drop_table("alert_history")
    op.drop_table("alerts")
