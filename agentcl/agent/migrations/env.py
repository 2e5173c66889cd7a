"""Alembic environment of the agent's own tables (agent_*); its own version table so it never meets
memory_store's or the skill registry's. Run by agentcl.agent.event_log.migrate()."""
from agentcl.agent.event_log import metadata
from memory_store.db import configure_component_env

VERSION_TABLE = "agent_alembic_version"

configure_component_env(metadata, version_table=VERSION_TABLE, table_prefix="agent_")
