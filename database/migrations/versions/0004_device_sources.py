"""Registry: a device may name the vendor topic it publishes on and the dialect it speaks."""

import sqlalchemy as sa
from alembic import op

revision = "0004_device_sources"
down_revision = "0001_base"
branch_labels = ("device_sources",)


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("source_topic", sa.String(256)))
        batch.add_column(sa.Column("dialect", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("dialect")
        batch.drop_column("source_topic")
