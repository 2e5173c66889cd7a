"""DriftWorld scenario files: the pydantic schema and a loader whose errors name the line and the field.

The schema is documented for users in `agentcl/envs/SCENARIO.md`.
"""
from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from memory_store.errors import InvalidInputError, UserError
from memory_store.normalize import MAX_INPUT_BYTES, json_value, normalize_name, parse_json
from memory_store.timeparse import parse_duration, parse_time

from .jsonlocate import format_path, line_of, locate
from .operations import OPERATIONS
from .templates import template_problem

_NAME = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"  # also valid as an OpenAI function name
# Bounds that keep every loop over a scenario finite and quick: the stream is built step by step, the
# tool task pool by drawing until it is full.
MAX_STEPS = 100_000  # steps in one episode (all phases together)
MAX_POOL = 1_000
MAX_ACTIONS = 1_000
MAX_WORK = 20_000_000  # steps x (slots + tools): a few seconds to build a stream


def _not_blank(value: str) -> str:
    # A blank name or value can never be asked about nor answered (the store normalises it to nothing).
    if not normalize_name(value):
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeSpec(_Model):
    step: int = Field(ge=0)
    value: Text
    announce: bool = False  # the world posts a notice (without the new value) at that step
    notice: str | None = None  # its text (implies announce); default "{subject} has a new {predicate}."

    @property
    def announced(self) -> bool:
        return self.announce or self.notice is not None


class RotationSpec(_Model):
    values: list[Text] = Field(min_length=2)
    period: int = Field(ge=1, le=MAX_STEPS)
    start: int = Field(default=0, ge=0, le=MAX_STEPS)


class FactSpec(_Model):
    initial: Text | None = None
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
    name: Text
    facts: dict[Text, FactSpec] = Field(min_length=1)


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
    name: Text
    steps: int = Field(ge=1, le=MAX_STEPS)
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
    cost: float = Field(default=1.0, ge=0, le=1e6)
    description: str = "Look up the current true value of a fact (subject, predicate). Always correct; costs."


class Scenario(_Model):
    name: Text
    description: str = ""
    seed: int = 0
    start_time: str = "2026-01-05T09:00:00Z"
    step_duration: str = "1d"
    max_actions_per_task: int = Field(default=4, ge=1, le=MAX_ACTIONS)
    retry_tool_errors: bool = False  # a failed tool call leaves the task open (until the action budget ends)
    tool_task_pool: int = Field(default=6, ge=1, le=MAX_POOL)  # distinct tasks per operation (revisits reuse them)
    feedback: FeedbackSpec = Field(default_factory=FeedbackSpec)
    lookup: LookupSpec = Field(default_factory=LookupSpec)
    questions: dict[Text, str] = Field(default_factory=dict)  # predicate -> template with {subject}
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

    @model_validator(mode="after")
    def _finite(self) -> Scenario:
        if self.horizon > MAX_STEPS:
            raise ValueError(f"the phases last {self.horizon} steps; at most {MAX_STEPS}")
        # Each step of the stream weighs every slot and tool: bound the whole episode's work, not each part.
        size = sum(len(e.facts) for e in self.entities) + len(self.tools) + 1
        if self.horizon * size > MAX_WORK:
            raise ValueError(f"too large to run: {self.horizon} steps x {size - 1} fact slots and tools "
                             f"(at most {MAX_WORK:,} together)")
        try:
            self.time_at(self.horizon)
        except OverflowError:
            raise ValueError("start_time + all steps x step_duration is past the year 9999") from None
        return self

    @property
    def horizon(self) -> int:
        return sum(p.steps for p in self.phases)

    def time_at(self, step: int) -> datetime:
        return parse_time(self.start_time) + step * parse_duration(self.step_duration)


def reference_problems(scenario: Scenario) -> list[tuple[tuple, str]]:
    """Checks across fields (names unique, references resolve), each with the path of the field at fault.
    Pure; pydantic has already checked each field's shape."""
    problems: list[tuple[tuple, str]] = []
    for predicate, template in scenario.questions.items():
        if (problem := template_problem(template)) is not None:
            problems.append((("questions", predicate), problem))
    # Names are compared as the memory store normalises them ("Acme  Corp" and "acme corp" are one
    # subject): twins would make one slot overwrite another and an answer ambiguous.
    for predicate in _twins(list(scenario.questions)):
        problems.append((("questions", predicate), f"question {predicate!r} twins another after normalising"))
    seen: set[str] = set()
    for i, entity in enumerate(scenario.entities):
        if normalize_name(entity.name) in seen:
            problems.append((("entities", i, "name"), f"duplicate entity name {entity.name!r}"))
        seen.add(normalize_name(entity.name))
        for predicate in _twins(list(entity.facts)):
            problems.append((("entities", i, "facts", predicate), f"fact {predicate!r} twins another of "
                             f"{entity.name!r} after normalising"))
        for predicate, fact in entity.facts.items():
            if fact.question and (problem := template_problem(fact.question)) is not None:
                problems.append((("entities", i, "facts", predicate, "question"), problem))
            for j, change in enumerate(fact.changes):
                if change.notice and (problem := template_problem(change.notice, need_subject=False)):
                    problems.append((("entities", i, "facts", predicate, "changes", j, "notice"), problem))
    tools: set[str] = set()
    lookup = normalize_name(scenario.lookup.name)
    for i, tool in enumerate(scenario.tools):
        if normalize_name(tool.name) in tools or normalize_name(tool.name) == lookup:
            what = "reserved for the lookup tool" if normalize_name(tool.name) == lookup else "a duplicate"
            problems.append((("tools", i, "name"), f"tool name {tool.name!r} is {what}"))
        tools.add(normalize_name(tool.name))
        for j, version in enumerate(tool.versions):
            for name in _twins([p.name for p in version.params]):
                problems.append((("tools", i, "versions", j, "params"), f"parameter {name!r} twins another"))
    tools = {t.name for t in scenario.tools}
    for i, tool in enumerate(scenario.tools):
        if tool.replaced_by is not None and tool.replaced_by not in tools:
            problems.append((("tools", i, "replaced_by"), f"{tool.replaced_by!r} is not a tool of the scenario"))
    ops = {t.operation for t in scenario.tools}
    predicates = {p for e in scenario.entities for p in e.facts}
    for name in _twins([p.name for p in scenario.phases]):
        problems.append((("phases",), f"phase name {name!r} twins another (revisits are keyed by phase)"))
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


def _twins(names: list[str]) -> list[str]:
    """Names equal to an earlier one after memory_store's normalisation (case, Unicode form, spaces)."""
    seen: set[str] = set()
    out = []
    for name in names:
        key = normalize_name(name)
        if key in seen:
            out.append(name)
        seen.add(key)
    return out


def default_scenario_path() -> Path:
    return Path(str(resources.files("agentcl.envs") / "scenarios" / "default.json"))


def load_scenario(source: str | Path | dict[str, Any] | Scenario | None = None) -> Scenario:
    """A validated Scenario from a file path (None: the packaged default), a dict or a Scenario."""
    if isinstance(source, Scenario):
        return source
    if isinstance(source, dict):
        json_value(source, what="<dict>")  # NaN, non-text keys... never reach json.dumps
        return parse_scenario(json.dumps(source, indent=1), origin="<dict>")
    path = Path(source).expanduser() if source is not None else default_scenario_path()
    return parse_scenario(read_capped(path, what="scenario file"), origin=str(path))


def read_capped(path: Path, *, what: str) -> str:
    """A file's UTF-8 text, refused in one line beyond MAX_INPUT_BYTES: /dev/zero or a huge file never
    fills memory."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise UserError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidInputError(f"{what} {path} is larger than {MAX_INPUT_BYTES // 2 ** 20} MiB")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None


def parse_scenario(text: str, *, origin: str = "<scenario>") -> Scenario:
    """Parse and validate scenario JSON text; errors are one line: origin, line, field, problem.
    Refused besides the schema: NaN/Infinity/1e999, duplicate keys in one object, nesting beyond
    memory_store.normalize.MAX_JSON_DEPTH, a top level that is not an object."""
    try:
        data = parse_json(text, what=origin)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{origin}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{origin}: the top level must be a JSON object (a scenario), "
                                f"not {type(data).__name__}")
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
