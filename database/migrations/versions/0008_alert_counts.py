"""Alerting: an index on (type, status), so that the alert gauges of ``/metrics`` count
100,000 alerts from the index alone (0.25 s of reading every row before); and one in the
alert list's order for a household's alerts (a family's list, a household filter), which
walked every resolved alert in the status index's order (0.27 s at 100,000)."""

from alembic import op

revision = "0008_alert_counts"
down_revision = "0007_alert_list_order"


def upgrade() -> None:
    op.create_index("ix_alerts_type_status", "alerts", ["type", "status"])
    op.create_index("ix_alerts_household_status_order", "alerts",
                    ["household", "status", "severity_rank", "started_ms", "id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_household_status_order", "alerts")
    op.drop_index("ix_alerts_type_status", "alerts")
