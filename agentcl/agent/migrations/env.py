"""Alembic environment of the agent's own tables (agent_*); its own version table so it never meets
memory_store's or the skill registry's. Run by agentcl.agent.event_log.migrate()."""
from alembic import context

from agentcl.agent.event_log import metadata

VERSION_TABLE = "agent_alembic_version"

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  version_table=VERSION_TABLE,
                  include_name=lambda name, type_, parent: type_ != "table" or name.startswith("agent_"))
with context.begin_transaction():
    context.run_migrations()
