"""Duty desk: care records in the registry (responders, key holders, access notes, a
resident's age, conditions and mobility; floor, unit and language came with 0004_building)
and structured details of alert history entries (whom an officer called and the outcome,
the cause of a resolution)."""

import sqlalchemy as sa
from alembic import op

revision = "0005_duty_desk"
down_revision = "0004_building"


def upgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("responders", sa.JSON))
        batch.add_column(sa.Column("key_holders", sa.JSON))
        batch.add_column(sa.Column("access_notes", sa.Text))
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("birth_year", sa.Integer))
        batch.add_column(sa.Column("conditions", sa.JSON))
        batch.add_column(sa.Column("mobility", sa.Text))
    with op.batch_alter_table("alert_history") as batch:
        batch.add_column(sa.Column("detail", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("alert_history") as batch:
        batch.drop_column("detail")
    with op.batch_alter_table("residents") as batch:
        for name in ("mobility", "conditions", "birth_year"):
            batch.drop_column(name)
    with op.batch_alter_table("households") as batch:
        for name in ("access_notes", "key_holders", "responders"):
            batch.drop_column(name)
