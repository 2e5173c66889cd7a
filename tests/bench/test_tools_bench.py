"""The tools bench's pure parts: the headline rows (target verdict, misses on near-identical functions) and
the near-duplicate rule. The bench itself runs on BFCL through `agentcl bench tools`."""
from __future__ import annotations

import numpy as np

from agentcl_bench.tools import TARGET_HIT1, near_duplicate_misses, same_function_name, tools_summary
from agentcl_bench.tools_learning import fit_temperature, hit_rates, nearest_task_tools


def test_same_function_name_ignores_case_plural_and_module():
    assert same_function_name("calculate_bmi", "calculate_BMI")
    assert same_function_name("lawsuit_search", "lawsuits_search")
    assert same_function_name("math.gcd", "number_theory.gcd")
    assert not same_function_name("math.gcd", "math.lcm")


def test_near_duplicate_misses_counts_only_wrong_answers_close_to_the_right_one():
    unit = lambda *v: np.array(v, dtype=np.float32) / np.linalg.norm(v)
    vectors = {"a": unit(1, 0), "a2": unit(0.99, 0.05), "b": unit(0, 1), "calc_BMI": unit(1, 1), "calc_bmi": unit(1, -1)}
    top1 = ["a", "a2", "b", "calc_BMI"]
    gold = ["a", "a", "a", "calc_bmi"]
    # 0 is right; 1 is a near-identical description; 2 is a plain miss; 3 is the same name in another case
    assert near_duplicate_misses(top1, gold, vectors) == [1, 3]
    assert near_duplicate_misses(top1, gold, vectors, threshold=1.01) == [3]


def test_summary_reports_the_target_honestly():
    base = {"bm25": {"hit@1": 0.75, "hit@5": 0.95}}
    learning = {"live_simple": _section(with_after=0.88, nearest=0.835, without_before=0.77, without_after=0.77)}
    rows = {r["metric"]: r for r in tools_summary({"hit@1": 0.8375, "hit@5": 0.99}, base, learning,
                                                  near_duplicates={"misses": 65, "near_duplicate": 17})}
    assert rows["registry hit@1"]["ok"] is False and rows["registry hit@1"]["target"] == f">= {TARGET_HIT1}"
    assert rows["hit@1 misses on a near-identical function (diagnostic)"]["value"] == "17 of 65"
    assert rows["registry hit@1 / best baseline hit@1"]["ok"] is True
    met = {r["metric"]: r for r in tools_summary({"hit@1": 0.9, "hit@5": 1.0}, base, learning)}
    assert met["registry hit@1"]["ok"] is True
    with_row = next(r for r in met.values() if "functions with examples" in r["metric"])
    without_row = next(r for r in met.values() if "functions without examples" in r["metric"])
    assert with_row["ok"] is False and "0.835 + 0.05" in with_row["target"]  # 0.88 < 0.885
    assert without_row["ok"] is True
    better = tools_summary({"hit@1": 0.9, "hit@5": 1.0}, base,
                           {"x": _section(with_after=0.9, nearest=0.835, without_before=0.77, without_after=0.7)})
    assert [r["ok"] for r in better if "functions with" in r["metric"]] == [True, False]


def _section(*, with_after, nearest, without_before, without_after):
    rates = lambda h1, n: {"n": n, "hit@1": h1, "hit@5": 1.0}  # noqa: E731
    return {"before": {"with_examples": rates(0.6, 100), "without_examples": rates(without_before, 20)},
            "after": {"with_examples": rates(with_after, 100), "without_examples": rates(without_after, 20)},
            "nearest_past_task": {"with_examples": nearest}, "search_ms_per_query": {"before_examples": 10.0,
                                                                                      "after_examples": 11.0}}


def test_learning_metrics_are_plain_counts():
    ranked = {1: ["a", "b"], 3: ["c", "a"], 5: ["b"]}
    gold = {1: "a", 3: "a", 5: "c"}
    assert hit_rates(ranked, gold, [1, 3, 5]) == {"n": 3, "hit@1": 0.3333, "hit@5": 0.6667}
    assert hit_rates(ranked, gold, []) == {"n": 0, "hit@1": None, "hit@5": None}
    vecs = np.eye(3)[[0, 1, 0, 2]]  # question 2 repeats question 0
    assert nearest_task_tools(vecs, [0, 1], [2, 3], ["x", "y", "?", "?"])[2] == "x"
    # the likelihood prefers a sharper softmax when the top score is always right, a flat one when never
    scores = np.array([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    assert fit_temperature(scores, np.array([0, 1])) > fit_temperature(scores, np.array([2, 2]))


def test_ground_truth_calls_take_the_first_accepted_value_at_every_level():
    from agentcl_bench.tools import first_options

    truth = {"body": [{"mode": ["COOL", "cool"], "temp": [20], "note": ["", "x"]}], "unit": ["celsius"],
             "opt": [""], "ids": [[1, 2]]}
    assert first_options(truth) == {"body": {"mode": "COOL", "temp": 20}, "unit": "celsius", "ids": [1, 2]}
