"""Alerting: keys of applied idempotent decisions (a replayed decision changes nothing)."""

import sqlalchemy as sa
from alembic import op

revision = "0006_applied_decisions"
down_revision = "0005_duty_desk"


def upgrade() -> None:
    op.create_table(
        "applied_decisions",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("alert_id", sa.String(64), sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_table("applied_decisions")
