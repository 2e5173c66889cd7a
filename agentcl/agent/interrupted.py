"""A run that stops early (a database lost for longer than the retries wait, a full disk): what it did so
far is kept. Its buffered events go to the database, or to a JSONL file beside the report when the
database cannot take them; a report marked `completed: false` is saved; the user gets one line."""
from __future__ import annotations

import json
from pathlib import Path

from memory_store.errors import UserError


class RunStopped(UserError):
    """The run stopped on a fault; its report and events so far are saved (the message says where)."""


def save_events(agents, run_id: str, directory: Path) -> dict:
    """Flush every agent's buffered events; those the database refuses go to `<run_id>.events.jsonl`."""
    from memory_store.faults import DATABASE_ERRORS

    saved, left = 0, []
    for agent in agents:
        pending = len(agent._events)
        try:
            agent.flush_events()
            saved += pending
        except DATABASE_ERRORS:
            left.extend(agent._events)
    out = {"events_saved": saved}
    if left:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{run_id}.events.jsonl"
        with open(path, "a", encoding="utf-8") as fh:
            for event in left:
                fh.write(json.dumps(event, default=str) + "\n")
        out.update(events_in_file=len(left), events_file=str(path))
    return out


def stop_run(exc: BaseException, *, agents, world, base: dict, url: str | None) -> RunStopped | None:
    """Save the partial report and events for a run stopped by `exc`; the one-line error to raise, or None
    when `exc` is not a fault (a bug keeps its traceback, after the same saving)."""
    from agentcl.agent.saved_runs import save_report
    from agentcl.envs.scoring import score_run
    from memory_store.config import agentcl_home
    from memory_store.faults import fault_line

    line = fault_line(exc, url=url)
    report = dict(base)
    try:
        report.update(score_run(world.records(), world.tool_changes() if hasattr(world, "tool_changes") else []))
    except Exception:  # noqa: BLE001 - a partial run may not score; the report still says what happened
        pass
    report.update(completed=False, error=line or f"{exc.__class__.__name__}: {exc}",
                  steps=max((a.step_index for a in agents), default=0))
    where = ""
    try:
        directory = agentcl_home() / "runs"
        report.update(save_events(agents, base["run_id"], directory))
        where = f"; report: {save_report(report)}"
    except (OSError, UserError) as save_exc:  # nowhere to write it (a full disk): say so in the same line
        where = f"; its report could not be saved ({save_exc})"
    if line is None:
        return None
    return RunStopped(f"run {base['run_id']} stopped at step {report['steps']}: {line}{where}")
