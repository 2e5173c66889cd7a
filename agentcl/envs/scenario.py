"""DriftWorld scenario files: the pydantic schema and a loader whose errors name the line and the field.

The schema is documented for users in `agentcl/envs/SCENARIO.md`.
"""
from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from memory_store.errors import InvalidInputError, UserError
from memory_store.timeparse import parse_duration, parse_time

from .jsonlocate import format_path, line_of, locate
from .operations import OPERATIONS

_NAME = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"  # also valid as an OpenAI function name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeSpec(_Model):
    step: int = Field(ge=0)
    value: str = Field(min_length=1)
    announce: bool = False  # the world posts a notice (without the new value) at that step
    notice: str | None = None  # its text (implies announce); default "{subject} has a new {predicate}."

    @property
    def announced(self) -> bool:
        return self.announce or self.notice is not None


class RotationSpec(_Model):
    values: list[str] = Field(min_length=2)
    period: int = Field(ge=1)
    start: int = Field(default=0, ge=0)


class FactSpec(_Model):
    initial: str | None = Field(default=None, min_length=1)
    changes: list[ChangeSpec] = Field(default_factory=list)
    rotation: RotationSpec | None = None
    question: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FactSpec:
        if (self.initial is None) == (self.rotation is None):
            raise ValueError("give exactly one of 'initial' (with optional 'changes') or 'rotation'")
        if self.rotation is not None and self.changes:
            raise ValueError("'changes' cannot be combined with 'rotation'")
        steps = [c.step for c in self.changes]
        if steps != sorted(set(steps)) or (steps and steps[0] == 0):
            raise ValueError("'changes' steps must be increasing, distinct and > 0")
        return self


class EntitySpec(_Model):
    name: str = Field(min_length=1)
    facts: dict[str, FactSpec] = Field(min_length=1)


class ParamModel(_Model):
    name: str = Field(pattern=_NAME)
    input: str | None = None  # canonical input of the operation it carries (default: same as name)
    description: str = ""

    @property
    def canonical(self) -> str:
        return self.input or self.name


class ToolVersionSpec(_Model):
    from_step: int = Field(ge=0)
    params: list[ParamModel]
    documented_from: int | None = Field(default=None, ge=0)  # when tools() shows it (default from_step)
    description: str | None = None

    @property
    def documented_step(self) -> int:
        return self.from_step if self.documented_from is None else self.documented_from


class ToolModel(_Model):
    name: str = Field(pattern=_NAME)
    operation: str
    description: str | None = None
    versions: list[ToolVersionSpec] = Field(min_length=1)
    deprecated_at: int | None = Field(default=None, ge=1)
    replaced_by: str | None = None

    @property
    def introduced_at(self) -> int:
        return self.versions[0].from_step

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, value: str) -> str:
        if value not in OPERATIONS:
            raise ValueError(f"unknown operation {value!r}; known: {', '.join(sorted(OPERATIONS))}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ToolModel:
        steps = [v.from_step for v in self.versions]
        if steps != sorted(set(steps)):
            raise ValueError("'versions' must have increasing, distinct from_step values")
        if self.versions[0].documented_step < self.versions[0].from_step:
            raise ValueError("the first version cannot be documented before the tool exists")
        if self.deprecated_at is not None and self.deprecated_at <= self.introduced_at:
            raise ValueError("'deprecated_at' must come after the tool is introduced")
        wanted = [name for name, _ in OPERATIONS[self.operation].inputs]
        for i, v in enumerate(self.versions):
            names = [p.name for p in v.params]
            carried = sorted(p.canonical for p in v.params)
            if len(set(names)) != len(names):
                raise ValueError(f"versions[{i}]: duplicate parameter names {names}")
            if carried != sorted(wanted):
                raise ValueError(f"versions[{i}]: params must carry each input of {self.operation!r} exactly "
                                 f"once ({', '.join(wanted)}); they carry {', '.join(carried) or 'nothing'}")
        return self


class PhaseSpec(_Model):
    name: str = Field(min_length=1)
    steps: int = Field(ge=1)
    fact_share: float = Field(default=0.5, ge=0, le=1)
    revisit_share: float = Field(default=0.0, ge=0, le=1)  # share of tasks re-asked from earlier phases
    operations: list[str] | None = None  # None: every operation some live tool serves
    predicates: list[str] | None = None  # None: every fact slot
    recent_change_weight: float = Field(default=3.0, ge=1)  # bias toward slots/tools that just changed
    recent_window: int = Field(default=15, ge=0)


class FeedbackSpec(_Model):
    correction_probability: float = Field(default=0.5, ge=0, le=1)


class LookupSpec(_Model):
    name: str = Field(default="lookup", pattern=_NAME)
    cost: float = Field(default=1.0, ge=0)
    description: str = "Look up the current true value of a fact (subject, predicate). Always correct; costs."


class Scenario(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = 0
    start_time: str = "2026-01-05T09:00:00Z"
    step_duration: str = "1d"
    max_actions_per_task: int = Field(default=4, ge=1)
    retry_tool_errors: bool = False  # a failed tool call leaves the task open (until the action budget ends)
    tool_task_pool: int = Field(default=6, ge=1)  # distinct tasks per operation (revisits reuse them)
    feedback: FeedbackSpec = Field(default_factory=FeedbackSpec)
    lookup: LookupSpec = Field(default_factory=LookupSpec)
    questions: dict[str, str] = Field(default_factory=dict)  # predicate -> template with {subject}
    entities: list[EntitySpec] = Field(default_factory=list)
    tools: list[ToolModel] = Field(default_factory=list)
    phases: list[PhaseSpec] = Field(min_length=1)

    @field_validator("start_time")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_time(value)
        return value

    @field_validator("step_duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def horizon(self) -> int:
        return sum(p.steps for p in self.phases)

    def time_at(self, step: int) -> datetime:
        return parse_time(self.start_time) + step * parse_duration(self.step_duration)


def _template_problem(template: str, *, need_subject: bool = True) -> str | None:
    try:
        template.format(subject="S", predicate="P")
    except (KeyError, IndexError, ValueError) as exc:
        return f"a template may use only {{subject}} and {{predicate}} ({exc})"
    if need_subject and "{subject}" not in template:
        return "a question template must contain {subject}"
    return None


def reference_problems(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Checks across fields (names unique, references resolve), each with the path of the field at fault.
    Pure; pydantic has already checked each field's shape."""
    problems: list[tuple[tuple, str]] = []
    for predicate, template in scenario.questions.items():
        if (problem := _template_problem(template)) is not None:
            problems.append((("questions", predicate), problem))
    seen: set[str] = set()
    for i, entity in enumerate(scenario.entities):
        if entity.name.casefold() in seen:
            problems.append((("entities", i, "name"), f"duplicate entity name {entity.name!r}"))
        seen.add(entity.name.casefold())
        for predicate, fact in entity.facts.items():
            if fact.question and (problem := _template_problem(fact.question)) is not None:
                problems.append((("entities", i, "facts", predicate, "question"), problem))
            for j, change in enumerate(fact.changes):
                if change.notice and (problem := _template_problem(change.notice, need_subject=False)):
                    problems.append((("entities", i, "facts", predicate, "changes", j, "notice"), problem))
    tools: set[str] = set()
    for i, tool in enumerate(scenario.tools):
        if tool.name in tools or tool.name == scenario.lookup.name:
            what = "reserved for the lookup tool" if tool.name == scenario.lookup.name else "a duplicate"
            problems.append((("tools", i, "name"), f"tool name {tool.name!r} is {what}"))
        tools.add(tool.name)
    for i, tool in enumerate(scenario.tools):
        if tool.replaced_by is not None and tool.replaced_by not in tools:
            problems.append((("tools", i, "replaced_by"), f"{tool.replaced_by!r} is not a tool of the scenario"))
    ops = {t.operation for t in scenario.tools}
    predicates = {p for e in scenario.entities for p in e.facts}
    for i, phase in enumerate(scenario.phases):
        for j, op in enumerate(phase.operations or []):
            if op not in ops:
                problems.append((("phases", i, "operations", j), f"no tool serves operation {op!r}"))
        for j, p in enumerate(phase.predicates or []):
            if p not in predicates:
                problems.append((("phases", i, "predicates", j), f"no entity has a fact {p!r}"))
    if not scenario.entities and not scenario.tools:
        problems.append(((), "a scenario needs entities (fact questions) or tools (tool tasks)"))
    return problems


def default_scenario_path() -> Path:
    return Path(str(resources.files("agentcl.envs") / "scenarios" / "default.json"))


def load_scenario(source: str | Path | dict[str, Any] | Scenario | None = None) -> Scenario:
    """A validated Scenario from a file path (None: the packaged default), a dict or a Scenario."""
    if isinstance(source, Scenario):
        return source
    if isinstance(source, dict):
        return parse_scenario(json.dumps(source, indent=1), origin="<dict>")
    path = Path(source).expanduser() if source is not None else default_scenario_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"scenario file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"scenario file {path} cannot be read: {exc}") from None
    return parse_scenario(text, origin=str(path))


def parse_scenario(text: str, *, origin: str = "<scenario>") -> Scenario:
    """Parse and validate scenario JSON text; errors are one line: origin, line, field, problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{origin}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [(tuple(e["loc"]), e["type"], str(e["msg"])) for e in exc.errors(include_url=False)]
        raise InvalidInputError(_describe(problems, text, origin)) from None
    refs = reference_problems(scenario)
    if refs:
        raise InvalidInputError(_describe([(loc, "reference", msg) for loc, msg in refs], text, origin))
    return scenario


def _describe(problems: list[tuple[tuple, str, str]], text: str, origin: str) -> str:
    """One line for the first problem: origin, line, field path, message (+ how many more)."""
    loc, kind, message = problems[0]
    positions = locate(text)
    known = loc
    while known and known not in positions:
        known = known[:-1]
    shown = loc if kind in ("missing", "extra_forbidden") else known
    field = format_path(shown) or "(top level)"
    message = "unknown field" if kind == "extra_forbidden" else message.removeprefix("Value error, ")
    n = len(problems) - 1
    more = f" (and {n} more problem{'s' if n > 1 else ''})" if n else ""
    return f"{origin}: line {line_of(text, positions.get(known, 0))}: {field}: {message}{more}"
