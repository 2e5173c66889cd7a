"""The learning agent loop (perceive -> act -> feedback -> revise -> explore) and `agentcl run`."""
from .agent import Agent, Percept
from .config import AgentConfig
from .plugins import STAGES, AgentPlugin

__all__ = ["STAGES", "Agent", "AgentConfig", "AgentPlugin", "Percept"]
