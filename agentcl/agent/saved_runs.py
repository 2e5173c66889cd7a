"""Where a run's report is written: `AGENTCL_HOME/runs/<run_id>.json`, replaced atomically. Used by the
runner at the end of a run and by `interrupted.py` for a run that stopped early."""
from __future__ import annotations

import os
from pathlib import Path


def save_report(report: dict) -> Path:
    from memory_store.config import agentcl_home
    from memory_store.json_text import dumps

    directory = agentcl_home() / "runs"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{report['run_id']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(dumps(report, indent=2))  # NaN/Infinity as null: the file stays valid JSON
    os.replace(tmp, path)
    return path
