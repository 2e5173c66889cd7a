"""The environment side of the agent loop: observation, action, feedback and the `Environment` protocol.

The loop an environment expects::

    obs = env.reset(seed)
    while obs is not None:
        action = policy.decide(obs, context)
        feedback = env.step(action)
        obs = feedback.next_observation

A task ends with a *final* action (an answer, or a call of a task tool). Some tool calls are not final
(DriftWorld's `lookup`): their feedback has `task_done=False`, `correct=None`, the tool's result, and
`next_observation` is the same task again (with `attempt` increased).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

TaskKind = Literal["fact", "tool"]


@dataclass(frozen=True)
class FactQuery:
    """Structured hint of a fact question: the slot it asks about (subject and predicate as the world names
    them). An agent may use it instead of parsing `Observation.text`; answers are graded on the value."""

    subject: str
    predicate: str


@dataclass(frozen=True)
class ToolRequest:
    """Structured hint of a tool task: the capability needed (`operation`) and its inputs under their
    canonical names. The *current* tool and parameter names may differ (tools get renamed/replaced):
    mapping inputs onto the right tool and parameters is the agent's job."""

    operation: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Notice:
    """An announcement the world makes at a step: a fact slot changed (the new value is not given). Real
    changes are sometimes announced ("Acme appoints a new CEO") and sometimes silent."""

    step: int
    subject: str
    predicate: str
    text: str


@dataclass(frozen=True)
class Observation:
    """One task as the agent sees it. `step` is the task index in the episode (the world's clock),
    `time` the simulated ISO time of that step, `attempt` how many actions this task has had so far,
    `notices` what the world announced at this step (about any slot, not only the one asked)."""

    step: int
    phase: str
    task_id: str
    kind: TaskKind
    text: str
    time: str | None = None
    query: FactQuery | None = None
    request: ToolRequest | None = None
    attempt: int = 0
    notices: tuple[Notice, ...] = ()  # announcements made at this step (repeated on every attempt)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ToolCall:
    """A call of a (simulated) tool: its name and keyword arguments."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None


@dataclass(frozen=True)
class Action:
    """What a policy does at a step: answer in text, or call a tool (exactly one of the two)."""

    answer: str | None = None
    tool_call: ToolCall | None = None
    rationale: str | None = None

    def __post_init__(self) -> None:
        if (self.answer is None) == (self.tool_call is None):
            raise ValueError("an Action needs exactly one of `answer` or `tool_call`")

    @classmethod
    def say(cls, answer: str, *, rationale: str | None = None) -> Action:
        return cls(answer=str(answer), rationale=rationale)

    @classmethod
    def call(cls, name: str, arguments: dict[str, Any] | None = None, *, rationale: str | None = None,
             call_id: str | None = None) -> Action:
        return cls(tool_call=ToolCall(name, dict(arguments or {}), call_id), rationale=rationale)

    @property
    def is_tool_call(self) -> bool:
        return self.tool_call is not None


@dataclass(frozen=True)
class Correction:
    """The true value of a slot, carried by some (not all) negative feedback."""

    subject: str
    predicate: str
    value: str


@dataclass(frozen=True)
class ToolResult:
    """Outcome of executing a tool. On failure `error` is structured, e.g.
    {"code": "invalid_arguments", "unknown": ["value"], "missing": ["amount"], "expected": [...]} or
    {"code": "deprecated", "replacement": "fx_convert"}."""

    tool: str
    ok: bool
    output: Any = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Feedback:
    """The environment's verdict on an action. `correct` is None while the task is still open
    (after a non-final call such as `lookup`). `cost` is what the action cost (lookups are not free)."""

    step: int
    task_id: str
    correct: bool | None
    message: str
    task_done: bool = True
    correction: Correction | None = None
    tool_result: ToolResult | None = None
    next_observation: Observation | None = None
    cost: float = 0.0

    @property
    def tool_error(self) -> dict[str, Any] | None:
        return self.tool_result.error if self.tool_result else None

    @property
    def episode_done(self) -> bool:
        return self.next_observation is None


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str = "string"  # JSON-schema type: string | number | integer | boolean
    description: str = ""
    required: bool = True


@dataclass(frozen=True)
class ToolSpec:
    """A tool as published at a step (its documented signature, which may lag the one that runs)."""

    name: str
    description: str
    parameters: tuple[ParamSpec, ...] = ()
    version: int = 1
    deprecated: bool = False
    replacement: str | None = None

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {p.name: {"type": p.type, "description": p.description} for p in self.parameters},
            "required": [p.name for p in self.parameters if p.required],
            "additionalProperties": False,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ToolChange:
    """Ground truth: a tool's behaviour changed at `step` (`kind`: param_renamed, param_added,
    param_removed, deprecated, introduced). `documented_step` is when `tools()` started to show it."""

    tool: str
    step: int
    kind: str
    operation: str
    detail: str = ""
    documented_step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepRecord:
    """One finished task, as the environment graded it: the input of `agentcl.envs.scoring`."""

    episode: int
    step: int
    phase: str
    task_id: str
    kind: TaskKind
    correct: bool
    answer: str | None = None
    tool: str | None = None  # the tool of the final call, if any
    operation: str | None = None  # tool tasks: the capability needed
    subject: str | None = None
    predicate: str | None = None
    expected: Any = None
    stale: bool = False  # fact answered with a value true earlier, not now
    lookups: int = 0
    actions: int = 1
    error: str | None = None  # tool error code of the final call

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@runtime_checkable
class Environment(Protocol):
    """What the agent loop needs from a world. Subclass `BaseEnvironment` for sensible defaults."""

    name: str

    def reset(self, seed: int | None = None) -> Observation:
        """Start an episode; return its first observation. Same seed, same task stream."""

    def step(self, action: Action) -> Feedback:
        """Apply an action to the current task; the feedback carries the next observation."""

    def tools(self) -> list[ToolSpec]:
        """The tool specs published at the current step."""

    def truth(self, subject: str, predicate: str, *, step: int | None = None) -> str | None:
        """Ground truth: the value of a slot at a step (default: the current step)."""

    def records(self) -> list[StepRecord]:
        """Graded records of every finished task since construction (all episodes)."""


class BaseEnvironment:
    """Optional base class: defaults for the parts of the protocol a simple environment may not need."""

    name = "environment"

    def tools(self) -> list[ToolSpec]:
        return []

    def truth(self, subject: str, predicate: str, *, step: int | None = None) -> str | None:
        return None

    def records(self) -> list[StepRecord]:
        return list(getattr(self, "_records", []))

    def tool_changes(self) -> list[ToolChange]:
        """Ground truth tool changes (for scoring recovery)."""
        return []

    def execute_tool(self, call: ToolCall) -> ToolResult:
        """Run a tool outside any task (practice/exploration); not graded."""
        return ToolResult(call.name, False, error={"code": "unsupported",
                                                  "message": f"{self.name} has no practice calls"})
