"""The tools bench's pure parts: the headline rows (target verdict, misses on near-identical functions) and
the near-duplicate rule. The bench itself runs on BFCL through `agentcl bench tools`."""
from __future__ import annotations

import numpy as np

from agentcl.bench.tools import TARGET_HIT1, near_duplicate_misses, same_function_name, tools_summary


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
    learning = {"function_seen_in_examples": {"n": 10, "before": {"hit@1": 0.5}, "after": {"hit@1": 0.6}}}
    rows = {r["metric"]: r for r in tools_summary({"hit@1": 0.8375, "hit@5": 0.99}, base, learning,
                                                  near_duplicates={"misses": 65, "near_duplicate": 17})}
    assert rows["registry hit@1"]["ok"] is False and rows["registry hit@1"]["target"] == f">= {TARGET_HIT1}"
    assert rows["hit@1 misses on a near-identical function (diagnostic)"]["value"] == "17 of 65"
    assert rows["registry hit@1 / best baseline hit@1"]["ok"] is True
    met = {r["metric"]: r for r in tools_summary({"hit@1": 0.9, "hit@5": 1.0}, base, learning)}
    assert met["registry hit@1"]["ok"] is True
