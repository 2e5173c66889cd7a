"""Policies: decide(observation, context) -> Action. `openai` lives in `agentcl.policies.llm`."""
from .base import Action, Attempt, ContextItem, Policy, PolicyContext, ToolCall

__all__ = ["Action", "Attempt", "ContextItem", "Policy", "PolicyContext", "ToolCall"]
