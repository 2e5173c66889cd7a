"""The benchmark report (pure formatting + plots) and the `agentcl bench` CLI's handling of bad input."""
from __future__ import annotations

import subprocess
import sys

import pytest

from agentcl_bench import suite_report as report
from agentcl_bench.suite import ALL, SUITE, BenchOptions, run_benchmark
from memory_store.errors import UserError

RESULT = {
    "benchmark": "demo",
    "machine": {"date": "2026-11-24 10:00 UTC", "cpu_cores": 2, "device": "cpu", "versions": {"torch": "2.13.0"}},
    "summary": [
        {"metric": "R@5", "value": 0.61234, "target": ">= 0.60", "ok": True},
        {"metric": "p50 | ratio", "value": 1.5, "target": "<= 1.25", "ok": False},
        {"metric": "note", "value": "text", "target": None, "ok": None},
        {"bad row": 1},
    ],
}


def test_table_rows_format_values_and_verdicts():
    rows = report.table_rows(RESULT)
    assert rows == [("R@5", "0.612", ">= 0.60", "met"), ("p50 | ratio", "1.500", "<= 1.25", "MISSED"),
                    ("note", "text", "", "")]


def test_format_value_edge_cases():
    assert report.format_value(None) == "n/a"
    assert report.format_value(float("nan")) == "n/a"
    assert report.format_value(True) == "yes"
    assert report.format_value(12345.678) == "12,345.7"
    assert report.format_value(3) == "3"


def test_markdown_report_escapes_pipes_and_lists_machine_and_errors():
    text = report.markdown_report({"demo": RESULT, "gone": {"error": "data absent"}},
                                  titles={"demo": "Demo"}, plots=["out/x.png"])
    assert "## Demo (`agentcl bench demo`)" in text
    assert "p50 \\| ratio" in text
    assert "2 cores" in text and "torch 2.13.0" in text
    assert "Not run: data absent" in text
    assert "![x](x.png)" in text


def test_old_summary_shape_is_still_readable():
    rows = report.summary_rows({"summary": {"naive": 0.2, "replay": 0.93}})
    assert [r["metric"] for r in rows] == ["naive", "replay"]


def test_plots_are_written(tmp_path):
    drift = {"curves": {"full": [0.5, 0.9, 1.0], "append": [0.5, 0.6, 0.7]},
             "change_points": [{"step": 1, "label": "ceo changed"}]}
    cl = {"results": {"naive": {"matrix": [[1.0, None], [0.0, 1.0]]}, "replay": {"matrix": [[1.0, None], [0.9, 0.95]]}}}
    written = report.write_plots({"drift": drift, "cl": cl, "locomo": {"error": "absent"}}, tmp_path)
    assert {p.name for p in written} == {"drift_success.png", "cl_accuracy_matrices.png"}
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


LOCOMO = {"systems": {"agentcl": {"overall": {"recall@1": 0.4, "recall@10": 0.76, "recall@5": 0.67, "n": 9}},
                      "dense": {"overall": {"recall@1": 0.3, "recall@5": 0.48, "recall@10": 0.5}}}}


def test_locomo_recall_reads_the_bench_result_in_k_order():
    assert report.locomo_recall(LOCOMO) == {"agentcl": {"R@1": 0.4, "R@5": 0.67, "R@10": 0.76},
                                            "dense": {"R@1": 0.3, "R@5": 0.48, "R@10": 0.5}}


def test_locomo_plot_is_written(tmp_path):
    written = report.write_plots({"locomo": LOCOMO}, tmp_path)
    assert [p.name for p in written] == ["locomo_recall.png"]


def test_suite_lists_every_benchmark_of_the_issue():
    assert set(ALL) <= set(SUITE)
    assert {"store", "locomo", "tools", "drift", "cl", "peers", "load"} <= set(SUITE)


def test_unknown_benchmark_and_missing_data_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="unknown benchmark"):
        run_benchmark("nope", BenchOptions())
    with pytest.raises(UserError, match="needs .*locomo_dev.json"):
        run_benchmark("locomo", BenchOptions(data_dir=tmp_path))


@pytest.mark.parametrize("args, message", [
    (["bench", "store", "--sizes", "ten"], "--sizes must be comma-separated whole numbers"),
    (["bench", "drift", "--seeds", "-1"], "--seeds"),
    (["bench", "cl", "--device", "tpu"], "unknown device"),
    (["bench", "all", "--only", "nope", "--out", "OUT"], "unknown benchmark 'nope'"),
    (["bench", "locomo", "--data", "DATA"], "needs"),
    (["bench", "load", "--seconds", "0"], "--seconds"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, args, message):
    args = [a.replace("OUT", str(tmp_path / "out")).replace("DATA", str(tmp_path)) for a in args]
    done = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_bench_without_the_bench_extra_says_what_to_install():
    """matplotlib and scikit-learn are the `bench` extra, not runtime dependencies: hidden from this
    process (as when they are not installed), any benchmark stops with one line naming the install."""
    hide = "import sys; sys.modules['sklearn'] = None; sys.modules['matplotlib'] = None; "
    done = subprocess.run([sys.executable, "-c", hide + "from cli.main import main; main()", "bench", "store", "--quick"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "matplotlib and scikit-learn" in lines[0] and 'pip install -e ".[bench]"' in lines[0]


def test_the_runtime_imports_neither_matplotlib_nor_sklearn():
    code = ("import sys, agentcl, memory_store, skills, cli.main; from memory_store import MemoryStore; "
            "import agentcl.agent, agentcl.consolidation; "
            "print(sorted(m for m in ('matplotlib', 'sklearn', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
