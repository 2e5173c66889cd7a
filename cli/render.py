"""Rendering: rich tables for people, `--json` with a stable shape for programs."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console.print(t)


def key_values(title: str | None, data: dict[str, Any]) -> None:
    table(title, ["key", "value"], [(k, v if not isinstance(v, (dict, list)) else json.dumps(v, default=str))
                                   for k, v in data.items()])
