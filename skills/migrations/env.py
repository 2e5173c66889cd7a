"""Alembic environment of the skill registry; its own version table so it never meets memory_store's."""
from memory_store.db import configure_component_env
from skills.tables import metadata

VERSION_TABLE = "skills_alembic_version"

configure_component_env(metadata, version_table=VERSION_TABLE, table_prefix="skill_")
