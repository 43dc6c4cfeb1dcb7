"""Registry: a version number that every write of a household, resident or device raises
(triggers), so that a process watching for changes made elsewhere reads one row a poll
instead of rendering every registry row (0.5-0.7 s of CPU at 100,000 devices).

SQLite's triggers are per row, PostgreSQL's per statement (and on TRUNCATE too). SQLite
drops a table's triggers when it rebuilds the table: a later migration that rebuilds a
registry table (``batch_alter_table`` with anything but added columns) must create its
triggers again (``create_triggers``)."""

import sqlalchemy as sa
from alembic import op

revision = "0009_registry_version"
# After every migration that changes a registry table.
down_revision = ("0008_alert_counts", "0004_device_sources")

TABLES = ("households", "residents", "devices")
_BUMP = "UPDATE registry_version SET version = version + 1"


def upgrade() -> None:
    op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO registry_version (id, version) VALUES (1, 0)")
    for table in TABLES:
        create_triggers(table)


def create_triggers(table: str) -> None:
    """The triggers that raise the version with every write of ``table``."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER registry_version_{table}_{event.lower()} "
                       f"AFTER {event} ON {table} BEGIN {_BUMP}; END")
    elif dialect == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION registry_version_bump() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN {_BUMP}; RETURN NULL; END $$")
        op.execute(f"CREATE TRIGGER registry_version_{table} "
                   f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION registry_version_bump()")
    else:
        raise NotImplementedError(f"the registry's version needs SQLite or PostgreSQL, "
                                  f"not {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER registry_version_{table}_{event}")
        else:
            op.execute(f"DROP TRIGGER registry_version_{table} ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION registry_version_bump()")
    op.drop_table("registry_version")
