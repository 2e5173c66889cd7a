"""One row of a benchmark's summary table (what `agentcl bench` prints and report.md lists)."""
from __future__ import annotations


def summary_row(metric: str, value, target: str | None = None, ok: bool | None = None) -> dict:
    """`target` says what counts as met (e.g. '>= 0.60'); `ok` whether this run met it (None: no target)."""
    return {"metric": metric, "value": value, "target": target, "ok": ok}
