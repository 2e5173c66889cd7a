"""Environments for the agent loop: the `Environment` protocol, plug-in loading and the builtin DriftWorld."""
from .base import (
                   Action,
                   BaseEnvironment,
                   Correction,
                   Environment,
                   FactQuery,
                   Feedback,
                   Notice,
                   Observation,
                   ParamSpec,
                   StepRecord,
                   ToolCall,
                   ToolChange,
                   ToolRequest,
                   ToolResult,
                   ToolSpec,
)
from .registry import available_environments, environment_class, load_environment

__all__ = [
    "Action", "BaseEnvironment", "Correction", "Environment", "FactQuery", "Feedback", "Notice", "Observation",
    "ParamSpec", "StepRecord", "ToolCall", "ToolChange", "ToolRequest", "ToolResult", "ToolSpec",
    "available_environments", "environment_class", "load_environment",
]
