"""Alembic environment for the memory store. Run programmatically by memory_store.db.migrate()."""
from alembic import context

from memory_store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
