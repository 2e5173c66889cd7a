"""The search benchmarks keep the result contract on tiny inputs: `run_store_bench` (insert vs raw encode,
search vs query embedding, approximate vs exact) and `run_locomo_bench` (MemoryStore.search through the
conversation import, beside the dense / BM25 / RRF baselines). Small sizes: this checks shapes and
wiring, not the reported numbers."""
from __future__ import annotations

import json

import pytest

from memory_store.errors import UserError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _contract(result: dict, name: str) -> None:
    assert result["benchmark"] == name and "machine" in result and ("seed" in result or "seeds" in result)
    assert result["summary"] and all(set(row) == {"metric", "value", "target", "ok"} for row in result["summary"])
    json.dumps(result)  # JSON-able


def test_store_bench_contract(tmp_path, embedder, monkeypatch):
    from agentcl_bench import store_speed as bench
    from memory_store import dense_index

    monkeypatch.setattr(dense_index, "HNSW_THRESHOLD", 250)  # so the larger size is approximate
    result = bench.run_store_bench(sizes=(300, 120), insert_notes=128, queries=6, home=str(tmp_path / "h"),
                                   cache_dir=tmp_path / "cache", embedder=embedder, versions=1500,
                                   import_notes=200)  # the streamed import at its smallest: 100 and 200 notes
    _contract(result, "store")
    assert result["insert"]["notes"] == 128 and result["insert"]["indexed"] == 128
    assert [e["notes"] for e in result["search"]] == [120, 300]
    assert [e["index"] for e in result["search"]] == ["exact", "hnsw"]
    exact, hnsw = result["search"][0]["dense_index"], result["search"][1]["dense_index"]
    assert (exact["notes"], exact["index"], exact["recall_at_k"]) == (120, "exact", 1.0)  # exact finds itself
    # HNSW over 300 notes misses at most a neighbour here and there (an index returning wrong ids scores ~0.03)
    assert (hnsw["notes"], hnsw["index"]) == (300, "hnsw") and hnsw["recall_at_k"] >= 0.9, hnsw
    [recall_row] = [row for row in result["summary"] if row["metric"].startswith(f"HNSW recall@{hnsw['k']} vs exact")]
    assert recall_row["value"] == hnsw["recall_at_k"]
    targets = {row["metric"]: row for row in result["summary"] if row["target"]}
    assert any("insert / raw encode" in m for m in targets) and sum("query embedding p50 (" in m for m in targets) == 2
    assert (tmp_path / "cache").exists()  # the bulk-load vectors are cached for the next run
    times = result["time_reads"]  # as-of and valid-at reads against a current read, same run
    assert times["versions"] == 1500 and times["rows_returned"]["current"] == 1000
    assert times["rows_returned"]["as_of"] > 0 and times["rows_returned"]["valid_at"] == 1000
    assert {"as-of p50 / current p50", "valid-at p50 / current p50"} <= set(targets)
    runs = result["import"]["runs"]  # each file imported in a fresh process, against raw encoding there
    assert [r["file_notes"] for r in runs] == [100, 200] and all(r["import_per_s"] > 0 for r in runs)
    assert any(row["metric"].startswith("import notes/s (200 notes") for row in result["summary"])


def test_store_bench_rejects_bad_sizes(embedder):
    from agentcl_bench.store_speed import run_store_bench

    for sizes in ((), (5,), (True,), ("100",)):
        with pytest.raises(UserError):
            run_store_bench(sizes=sizes, embedder=embedder)


def _conversation(sample_id: str, facts: list[tuple[str, str]]) -> dict:
    turns = []
    for i, (speaker, text) in enumerate(facts):
        turns.append({"speaker": speaker, "dia_id": f"D1:{i + 1}", "text": text})
    return {"sample_id": sample_id,
            "conversation": {"speaker_a": "Ann", "speaker_b": "Bo", "session_1_date_time": "1:56 pm on 8 May, 2023",
                             "session_1": turns},
            "qa": [{"question": "What pet did Ann adopt?", "answer": "a dog", "evidence": ["D1:2"], "category": 4},
                   {"question": "When did Bo go to Lisbon?", "answer": "May", "evidence": ["D1:4"], "category": 2},
                   {"question": "Adversarial", "evidence": ["D1:1"], "category": 5}]}


def test_locomo_bench_contract(tmp_path, embedder):
    from agentcl_bench.locomo import run_locomo_bench

    chat = [("Bo", "Hi Ann, how was your week?"), ("Ann", "Great, I adopted a dog from the shelter!"),
            ("Bo", "Lovely. I have news too."), ("Bo", "I went to Lisbon last weekend for a conference."),
            ("Ann", "How was the food there?"), ("Bo", "Amazing pastries everywhere.")]
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([_conversation("s1", chat), _conversation("s2", chat[::-1])]))
    result = run_locomo_bench(path=path, embedder=embedder, holdout=("s2",))
    _contract(result, "locomo")
    assert result["questions"] == 4 and result["notes"] == 12
    assert set(result["systems"]) == {"agentcl", "dense", "bm25", "rrf"}
    for system in result["systems"].values():
        assert 0 <= system["overall"]["recall@5"] <= system["overall"]["recall@10"] <= 1
    assert result["systems"]["agentcl"]["overall"]["recall@5"] == 1.0  # six turns: everything is in the top 5
    assert result["heldout"]["conversations"] == ["s2"] and result["heldout"]["agentcl"]["overall"]["n"] == 2
    assert result["search_many_matches"] is True
    rows = {row["metric"]: row for row in result["summary"]}
    assert rows["agentcl R@5"]["target"] == ">= 0.60" and rows["agentcl R@5"]["ok"] is True
