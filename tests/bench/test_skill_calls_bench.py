"""`agentcl bench skills` measures worker against thread calls in one run and stops a GIL-holding skill."""
from __future__ import annotations

from agentcl_bench.skill_calls import run_skill_calls_bench


def test_skill_calls_bench_reports_both_paths_and_the_timeout():
    result = run_skill_calls_bench(calls=5)
    assert result["worker"]["n"] == 5 and result["thread"]["n"] == 5
    rows = {r["metric"]: r for r in result["summary"]}
    assert rows["worker p50 / thread p50"]["value"] > 0
    assert rows["GIL-holding skill stopped at its 1 s timeout (s)"]["ok"] is True
