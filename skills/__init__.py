"""Skill registry: pluggable, versioned tools with validation, timeouts, usage statistics, learned
usage examples and notes, search, composite skills and export to the OpenAI tools format."""
from .context import SkillContext
from .decorator import as_skill, skill
from .http import HttpExecutor
from .records import SearchHit, SkillInfo, SkillVersion, UsageExample, VersionStats
from .registry import RegisterResult, SkillRegistry
from .spec import CallError, CallResult, Skill, skill_from_function, skill_from_spec

__all__ = [
    "CallError",
    "CallResult",
    "HttpExecutor",
    "RegisterResult",
    "SearchHit",
    "Skill",
    "SkillContext",
    "SkillInfo",
    "SkillRegistry",
    "SkillVersion",
    "UsageExample",
    "VersionStats",
    "as_skill",
    "skill",
    "skill_from_function",
    "skill_from_spec",
]
