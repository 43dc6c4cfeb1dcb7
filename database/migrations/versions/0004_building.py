"""Building plan and recurring quiet hours: households' floor and unit, residents' language,
weekly schedules of silences (issue 13)."""

import sqlalchemy as sa
from alembic import op

revision = "0004_building"
down_revision = "0002_alerting"
branch_labels = ("building",)


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch copy: recreating households would cascade to residents.
    op.add_column("households", sa.Column("floor", sa.Integer))
    op.add_column("households", sa.Column("unit", sa.String(32)))
    op.add_column("residents", sa.Column("language", sa.String(35)))
    op.add_column("silences", sa.Column("weekly", sa.JSON))
    op.add_column("silences", sa.Column("timezone", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("silences") as table:
        table.drop_column("timezone")
        table.drop_column("weekly")
    with op.batch_alter_table("residents") as table:
        table.drop_column("language")
    with op.batch_alter_table("households") as table:
        table.drop_column("unit")
        table.drop_column("floor")
