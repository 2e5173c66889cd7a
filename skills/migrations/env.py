"""Alembic environment of the skill registry; its own version table so it never meets memory_store's."""
from alembic import context

from skills.tables import metadata

VERSION_TABLE = "skills_alembic_version"

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  version_table=VERSION_TABLE,
                  include_name=lambda name, type_, parent: type_ != "table" or name.startswith("skill_"))
with context.begin_transaction():
    context.run_migrations()
