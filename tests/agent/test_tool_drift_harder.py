"""Tool drift, harder: the same parameter renamed twice, a rename never documented, and a replacement whose
parameter names differ — each recovered from the error messages alone (the specs never show the renames)."""
from __future__ import annotations

from agentcl.agent.embedcache import caching
from agentcl.agent.runner import run_agent
from agentcl.agent.tool_learning import renames_from_error
from agentcl.envs.toolbook import check_arguments
from memory_store import MemoryStore

NEVER = 10_000  # documented_from beyond the horizon: the published spec never changes

SCENARIO = {
    "name": "tool drift, harder", "seed": 0, "feedback": {"correction_probability": 0.1},
    "tools": [
        {"name": "measure", "operation": "convert_units", "versions": [
            {"from_step": 0, "params": [{"name": "value"}, {"name": "from_unit"}, {"name": "to_unit"}]},
            {"from_step": 30, "documented_from": NEVER,
             "params": [{"name": "qty", "input": "value"}, {"name": "from_unit"}, {"name": "to_unit"}]},
            {"from_step": 70, "documented_from": NEVER,
             "params": [{"name": "magnitude", "input": "value"}, {"name": "src_unit", "input": "from_unit"},
                        {"name": "dst_unit", "input": "to_unit"}]}]},
        {"name": "money", "operation": "currency_convert", "deprecated_at": 50, "replaced_by": "fx",
         "versions": [{"from_step": 0, "params": [{"name": "amount"}, {"name": "from_currency"},
                                                  {"name": "to_currency"}]}]},
        {"name": "fx", "operation": "currency_convert", "versions": [
            {"from_step": 45, "params": [{"name": "sum", "input": "amount"}, {"name": "base_currency", "input": "from_currency"},
                                         {"name": "quote_currency", "input": "to_currency"}]}]},
    ],
    "phases": [{"name": "all", "steps": 110, "fact_share": 0.0}],
}


def test_two_simultaneous_renames_are_paired_by_the_descriptions_in_the_error():
    error = check_arguments("measure", ["magnitude", "src_unit", "dst_unit"],
                            {"qty": 1, "from_unit": "km", "to_unit": "mi"},
                            {"magnitude": "value", "src_unit": "from unit", "dst_unit": "to unit"})
    assert renames_from_error(error) == {"qty": "magnitude", "from_unit": "src_unit", "to_unit": "dst_unit"}


def test_every_harder_change_is_recovered_within_two_tasks(tmp_path, embedder, home):
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=home, embedder=caching(embedder))
    try:
        report = run_agent(scenario=SCENARIO, store=store, registry=None, memory="full", save=False,
                           include_records=True)
    finally:
        store.close()
    changes = {(c["tool"], c["step"]): c for c in report["tool_changes"]}
    assert set(changes) >= {("measure", 30), ("measure", 70), ("money", 50), ("fx", 45)}
    for key in [("measure", 30), ("measure", 70), ("money", 50)]:
        change = changes[key]
        assert change["recovered"], change
        assert change["recovery_tasks"] <= 2, change
    assert report["success_rate"] >= 0.9
    assert all(r["correct"] for r in report["records"] if r["step"] >= 80)  # nothing left to relearn
