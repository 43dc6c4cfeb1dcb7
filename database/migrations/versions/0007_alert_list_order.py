"""Alerting: indexes in the alert list's order (status, then site and status: most severe,
then newest), so that a page of 100,000 alerts is read from the index, not sorted."""

from alembic import op

revision = "0007_alert_list_order"
down_revision = "0006_applied_decisions"


def upgrade() -> None:
    op.create_index("ix_alerts_status_order", "alerts",
                    ["status", "severity_rank", "started_ms", "id"])
    op.create_index("ix_alerts_site_status_order", "alerts",
                    ["site", "status", "severity_rank", "started_ms", "id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_site_status_order", "alerts")
    op.drop_index("ix_alerts_status_order", "alerts")
