"""DriftWorld's simulated tools: versioned signatures over fixed operations, executed for real.

A call is checked against the signature *running* at the step (which may differ from the one `specs()`
publishes, when a change is documented late); errors are structured so an agent can learn from them.
"""
from __future__ import annotations

from typing import Any

from .base import ParamSpec, ToolCall, ToolChange, ToolResult, ToolSpec
from .operations import OPERATIONS, OperationError
from .scenario import ParamModel, Scenario, ToolModel, ToolVersionSpec


def check_arguments(tool: str, expected: list[str], arguments: dict[str, Any],
                    descriptions: dict[str, str] | None = None) -> dict[str, Any] | None:
    """A structured `invalid_arguments` error naming unknown and missing parameters (and, like a schema
    validation error of a real API, the parameters expected with their descriptions), or None if fine."""
    unknown = sorted(k for k in arguments if k not in expected)
    missing = [p for p in expected if p not in arguments]
    if not unknown and not missing:
        return None
    parts = ([f"unknown parameter(s) {', '.join(unknown)}"] if unknown else []) + (
        [f"missing parameter(s) {', '.join(missing)}"] if missing else [])
    error = {"code": "invalid_arguments", "message": f"{tool}: {'; '.join(parts)}",
             "unknown": unknown, "missing": missing, "expected": list(expected)}
    if descriptions is not None:
        error["parameters"] = [{"name": p, "description": descriptions.get(p, "")} for p in expected]
    return error


def _describe(param: ParamModel) -> str:
    return param.description or param.canonical.replace("_", " ")


class ToolBook:
    def __init__(self, scenario: Scenario) -> None:
        self.tools: dict[str, ToolModel] = {t.name: t for t in scenario.tools}
        self.horizon = scenario.horizon

    # --- which version runs / is published -------------------------------------------------------
    def running(self, name: str, step: int) -> ToolVersionSpec | None:
        tool = self.tools.get(name)
        if tool is None:
            return None
        live = [v for v in tool.versions if v.from_step <= step]
        return live[-1] if live else None

    def documented(self, tool: ToolModel, step: int) -> tuple[int, ToolVersionSpec] | None:
        shown = [(i, v) for i, v in enumerate(tool.versions) if v.documented_step <= step]
        return shown[-1] if shown else None

    def is_deprecated(self, tool: ToolModel, step: int) -> bool:
        return tool.deprecated_at is not None and step >= tool.deprecated_at

    def specs(self, step: int) -> list[ToolSpec]:
        """Tools as published at `step`: documented signature, deprecated ones withdrawn."""
        out = []
        for tool in self.tools.values():
            doc = self.documented(tool, step)
            if doc is None or self.is_deprecated(tool, step):
                continue
            index, version = doc
            op = OPERATIONS[tool.operation]
            types = dict(op.inputs)
            params = tuple(ParamSpec(p.name, types[p.canonical], _describe(p)) for p in version.params)
            out.append(ToolSpec(tool.name, version.description or tool.description or op.description,
                                params, version=index + 1))
        return out

    def live_operations(self, step: int) -> set[str]:
        """Operations some running, non-deprecated tool serves at `step`."""
        return {t.operation for t in self.tools.values()
                if self.running(t.name, step) is not None and not self.is_deprecated(t, step)}

    def tools_for(self, operation: str) -> list[str]:
        return [t.name for t in self.tools.values() if t.operation == operation]

    # --- execution --------------------------------------------------------------------------------
    def execute(self, call: ToolCall, step: int) -> tuple[ToolResult, str | None]:
        """Run `call` as the world stands at `step`; returns the result and the operation it ran."""
        tool = self.tools.get(call.name)
        version = self.running(call.name, step)
        if tool is None or version is None:
            names = sorted(s.name for s in self.specs(step))
            return ToolResult(call.name, False, error={
                "code": "unknown_tool", "message": f"no tool named {call.name!r}", "available": names}), None
        if self.is_deprecated(tool, step):
            hint = f"; use {tool.replaced_by!r} instead" if tool.replaced_by else ""
            return ToolResult(call.name, False, error={
                "code": "deprecated", "message": f"{call.name} has been removed{hint}",
                "replacement": tool.replaced_by}), tool.operation
        error = check_arguments(call.name, [p.name for p in version.params], call.arguments,
                                {p.name: _describe(p) for p in version.params})
        if error:
            return ToolResult(call.name, False, error=error), tool.operation
        inputs = {p.canonical: call.arguments[p.name] for p in version.params}
        try:
            output = OPERATIONS[tool.operation].func(**inputs)
        except OperationError as exc:
            return ToolResult(call.name, False, error={"code": "bad_input", "message": str(exc)}), tool.operation
        return ToolResult(call.name, True, output=output), tool.operation

    # --- ground truth -----------------------------------------------------------------------------
    def changes(self) -> list[ToolChange]:
        """Every change of a tool's behaviour inside the horizon, in step order."""
        out: list[ToolChange] = []
        for tool in self.tools.values():
            first = tool.versions[0]
            if 0 < first.from_step < self.horizon:
                out.append(ToolChange(tool.name, first.from_step, "introduced", tool.operation,
                                      f"new tool for {tool.operation}", first.documented_step))
            for old, new in zip(tool.versions, tool.versions[1:]):
                if new.from_step >= self.horizon:
                    continue
                before = {p.canonical: p.name for p in old.params}
                renamed = [f"{before[p.canonical]} -> {p.name}" for p in new.params
                           if before.get(p.canonical) != p.name]
                if renamed:
                    out.append(ToolChange(tool.name, new.from_step, "param_renamed", tool.operation,
                                          ", ".join(renamed), new.documented_step))
            if tool.deprecated_at is not None and tool.deprecated_at < self.horizon:
                detail = f"replaced by {tool.replaced_by}" if tool.replaced_by else "removed"
                out.append(ToolChange(tool.name, tool.deprecated_at, "deprecated", tool.operation, detail,
                                      tool.deprecated_at))
        return sorted(out, key=lambda c: (c.step, c.tool))
