"""A memory never changes namespace: the database refuses an UPDATE of facts.namespace or notes.namespace.

Namespaces are tenants; the store has no operation that moves a memory, and this makes sure no future
code path (or a hand-written SQL statement) can re-home one into another tenant.
Note for later revisions: a SQLite batch migration that recreates `facts` or `notes` drops these
triggers; recreate them afterwards.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("facts", "notes")
MESSAGE = "the namespace of a memory cannot be changed"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION agentcl_namespace_fixed() RETURNS trigger AS $$
            BEGIN
                IF NEW.namespace IS DISTINCT FROM OLD.namespace THEN
                    RAISE EXCEPTION '{MESSAGE}';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_namespace_fixed BEFORE UPDATE OF namespace ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION agentcl_namespace_fixed()")
        return
    for table in TABLES:  # SQLite
        op.execute(f"CREATE TRIGGER {table}_namespace_fixed BEFORE UPDATE OF namespace ON {table} "
                   f"WHEN NEW.namespace IS NOT OLD.namespace BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_namespace_fixed" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS agentcl_namespace_fixed()")
