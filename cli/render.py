"""Rendering: rich tables for people, `--json` with a stable shape for programs.

Tables fit the terminal: times are shown compactly, columns named `optional` are dropped (in order) while
the table is wider than the terminal, every other short column keeps its full width, and the `wide`
columns (free text) take what is left, shortened with an ellipsis instead of wrapping inside words.
`--json` output is never shortened."""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(:\d\d(\.\d+)?)?(Z|[+-]00:?00)?$")
MIN_WIDE = 12  # a free-text column is never squeezed below this
FIT_WIDE = 20  # ... and optional columns give way until each free-text column can have this much


def print_json(data: Any) -> None:
    """Always valid JSON: NaN and Infinity (which json would print) are written as null."""
    from memory_store.json_text import dumps

    sys.stdout.write(dumps(data, indent=2, ensure_ascii=False) + "\n")


def compact_time(text: str) -> str:
    """'2026-11-30T08:44:06.123+00:00' -> '2026-11-30 08:44' (UTC), and a midnight to its date alone."""
    match = _ISO.match(text)
    if not match:
        return text
    day, clock = match.group(1), match.group(2)
    return day if clock == "00:00" and not (match.group(3) or "").strip(":0.") else f"{day} {clock}"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    text = " ".join(str(value).split())  # one line per cell
    return compact_time(text)


def _natural(columns: Sequence[str], rows: list[list[str]], i: int) -> int:
    return max([len(columns[i])] + [len(r[i]) for r in rows])


def fit_columns(columns: Sequence[str], rows: list[list[str]], width: int, optional: Sequence[str] = (),
                shrinkable: Sequence[str] = ()) -> list[int]:
    """Indexes of the columns to show: drop `optional` ones, in order, while the table is wider than
    `width` (a `shrinkable` column counts at its shortened width)."""
    keep = list(range(len(columns)))

    def needed() -> int:
        return sum(min(_natural(columns, rows, i), FIT_WIDE if columns[i] in shrinkable else 10**6)
                   for i in keep) + 3 * len(keep) + 1

    for name in optional:
        if needed() <= width:
            break
        if name in columns:
            keep.remove(list(columns).index(name))
    return keep


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
          optional: Sequence[str] = (), wide: Sequence[str] = (), wrap: Sequence[str] = ()) -> None:
    """`wrap`: columns whose whole text matters more than one line per row (a path, a JSON value)."""
    texts = [[cell(v) for v in row] for row in rows]
    width = console.width
    keep = fit_columns(columns, texts, width, optional, shrinkable=tuple(wide) + tuple(wrap))
    flexible = [i for i in keep if columns[i] in wide or columns[i] in wrap]
    fixed = sum(_natural(columns, texts, i) for i in keep if i not in flexible) + 3 * len(keep) + 1
    share, small = 0, []
    for _ in range(len(flexible)):  # columns shorter than an equal share give their rest to the others
        big = [i for i in flexible if i not in small]
        room = width - fixed - sum(_natural(columns, texts, i) + 0 for i in small)
        share = max(MIN_WIDE, room // len(big)) if big else 0
        fits = [i for i in big if _natural(columns, texts, i) <= share]
        if not fits:
            break
        small += fits
    t = Table(title=title, show_lines=False)
    for i in keep:
        name, natural = columns[i], _natural(columns, texts, i)
        if i in flexible:  # free text takes what the other columns leave, shortened or wrapped
            t.add_column(name, overflow="fold" if name in wrap else "ellipsis", no_wrap=name not in wrap,
                         max_width=max(share, MIN_WIDE) if natural > share else None)
        else:
            t.add_column(name, no_wrap=True, min_width=natural)
    for row in texts:
        t.add_row(*(row[i] for i in keep))
    console.print(t)


def key_values(title: str | None, data: dict[str, Any]) -> None:
    table(title, ["key", "value"], [(k, v if not isinstance(v, (dict, list)) else json.dumps(v, default=str))
                                   for k, v in data.items()], wrap=["value"])
