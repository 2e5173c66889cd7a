"""Question and notice texts of a scenario: templates with {subject} and {predicate}, filled safely.

str.format would evaluate a user's "{subject.__class__.__init__.__globals__}" (attribute and index
lookups on the values it is given); `fill` only ever replaces the known fields, so no template can read
anything but the text it is meant to show. Pure functions."""
from __future__ import annotations

import re

FIELDS = ("subject", "predicate")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def template_problem(template: str, *, need_subject: bool = True) -> str | None:
    """None for a good template, else one line: fields other than {subject} and {predicate} (format specs,
    attribute or index lookups, positional fields) and lone braces are refused ({{ and }} are braces)."""
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            return "a lone brace in a template; write {{ or }} for a brace"
        if match.group(1) not in FIELDS:
            return f"a template may use only {{subject}} and {{predicate}}, not {token[:40]!r}"
    if need_subject and "{subject}" not in template:
        return "a question template must contain {subject}"
    return None


def fill(template: str, **values: str) -> str:
    """`template` with {subject}/{predicate} replaced by `values` and {{ }} by braces; anything else is
    kept as written (never evaluated)."""
    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        return str(values[name]) if name in FIELDS and name in values else token

    return _TOKEN.sub(replace, template)
