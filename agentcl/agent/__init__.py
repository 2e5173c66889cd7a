"""The learning agent loop (perceive -> act -> feedback -> revise -> explore) and `agentcl run`."""
from .agent import Agent
from .config import AgentConfig
from .percept import Percept
from .plugins import STAGES, AgentPlugin

__all__ = ["STAGES", "Agent", "AgentConfig", "AgentPlugin", "Percept"]
