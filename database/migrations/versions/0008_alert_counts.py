"""Alerting: an index on (type, status), so that the alert gauges of ``/metrics`` count
100,000 alerts from the index alone (0.25 s of reading every row before)."""

from alembic import op

revision = "0008_alert_counts"
down_revision = "0007_alert_list_order"


def upgrade() -> None:
    op.create_index("ix_alerts_type_status", "alerts", ["type", "status"])


def downgrade() -> None:
    op.drop_index("ix_alerts_type_status", "alerts")
