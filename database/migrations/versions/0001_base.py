"""Base schema: dead letters and the registry."""

import sqlalchemy as sa
from alembic import op

revision = "0001_base"
down_revision = None
branch_labels = ("base",)


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("payload_size", sa.Integer, nullable=False),
    )
    op.create_index("ix_dead_letters_reason_received", "dead_letters", ["reason", "received_ms"])
    op.create_table(
        "households",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False, index=True),
        sa.Column("lives_alone", sa.Boolean, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("night_start", sa.String(5), nullable=False),
        sa.Column("night_end", sa.String(5), nullable=False),
        sa.Column("building", sa.String(64)),
        sa.Column("address", sa.Text),
    )
    op.create_table(
        "residents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("household", sa.String(64),
                  sa.ForeignKey("households.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("elderly", sa.Boolean, nullable=False),
        sa.Column("dementia", sa.Boolean, nullable=False),
        sa.Column("contacts", sa.JSON, nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("household", sa.String(64),
                  sa.ForeignKey("households.id", ondelete="CASCADE"), index=True),
        sa.Column("room", sa.String(64)),
        sa.Column("resident", sa.String(64), sa.ForeignKey("residents.id", ondelete="SET NULL")),
        sa.Column("building", sa.String(64)),
    )
    op.create_table(
        "device_health",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16)),
        sa.Column("last_seen_ms", sa.BigInteger, nullable=False),
        sa.Column("last_event_ms", sa.BigInteger),
        sa.Column("online", sa.Boolean),
        sa.Column("battery", sa.Integer),
        sa.Column("rssi", sa.Integer),
    )


def downgrade() -> None:
    op.drop_table("device_health")
    op.drop_table("devices")
    op.drop_table("residents")
    op.drop_table("households")
    op.drop_table("dead_letters")
