"""The rows people read from an `agentcl bench peers` result: each metric for agentcl and mem0, and
agentcl's advantage as a ratio measured in the same run."""
from __future__ import annotations

from agentcl_bench.rows import summary_row


def compare(label: str, ours: float, theirs: float | None, *, higher_is_better: bool) -> list[dict]:
    """agentcl's value, mem0's, and agentcl's advantage as a ratio (> 1: agentcl beats mem0)."""
    if theirs is None:
        return [summary_row(f"{label}: agentcl", ours)]
    num, den = (ours, theirs) if higher_is_better else (theirs, ours)
    ratio = round(num / den, 3) if den else (float("inf") if num else 1.0)
    return [summary_row(f"{label}: agentcl", ours), summary_row(f"{label}: mem0", theirs),
            summary_row(f"{label}: agentcl advantage (x)", ratio, "> 1 (agentcl beats mem0)", ratio > 1)]


def summary_rows(result: dict) -> list[dict]:
    """The rows people read: each metric for both systems and agentcl's advantage, from this run."""
    if not result["mem0"]["installed"]:
        rows = [summary_row("mem0", result["mem0"]["reason"])]
    else:
        rows = [summary_row("mem0 setup", f"mem0ai {result['machine']['versions'].get('mem0ai', '?')}, infer=False, "
                                   "same local MiniLM, FAISS cosine, telemetry off")]
    for e in result["add_and_search"]:
        cut = ", cut by the time bound" if e["time_bound_cut"] else ""
        rows += compare(f"add at {e['size']:,} memories (memories/s, last {e['timed_adds']} adds{cut})",
                        e["agentcl_adds_per_s"], e.get("mem0_adds_per_s"), higher_is_better=True)
    search, n = result["add_and_search"][-1]["search"], f"{result['add_and_search'][-1]['held']:,}"
    idle = f", each call after {search['settle_ms']:g} ms idle" if "settle_ms" in search else ""
    rows += compare(f"search p50 at {n} (ms{idle})", search["agentcl"]["p50_ms"],
                    search.get("mem0", {}).get("p50_ms"), higher_is_better=False)
    rows.append(summary_row(f"query embedding p50 at {n} (ms, same run)", search["query_embed"]["p50_ms"]))
    rows += [summary_row(f"search p50 at {n} / query embedding: {s}", search[s]["ratio_p50_to_query_embed"])
             for s in ("agentcl", "mem0") if s in search]
    if "paired" in search:
        pair = search["paired"]
        rows.append(summary_row(f"search at {n}, same query: mem0 minus agentcl (median ms; agentcl faster on "
                         f"{pair['agentcl_faster_share']:.0%} of queries)", pair["median_mem0_minus_agentcl_ms"],
                         "> 0", pair["median_mem0_minus_agentcl_ms"] > 0))
    post = search.get("post_embedding")
    if post:
        rows += compare(f"search p50 at {n} after the query embedding (ms, both given the same vector)",
                        post["agentcl"]["p50_ms"], post.get("mem0", {}).get("p50_ms"), higher_is_better=False)
    post = search.get("post_embedding_back_to_back")
    if post:
        rows += compare(f"search p50 at {n} after the query embedding, back to back (ms)",
                        post["agentcl"]["p50_ms"], post.get("mem0", {}).get("p50_ms"), higher_is_better=False)
    back = search.get("back_to_back")
    if back:
        rows += compare(f"search p50 at {n} back to back, no idle between calls (ms)", back["agentcl"]["p50_ms"],
                        back.get("mem0", {}).get("p50_ms"), higher_is_better=False)
    locomo = result["locomo"]
    if "skipped" in locomo:
        rows.append(summary_row("LoCoMo recall", locomo["skipped"]))
    for k in () if "skipped" in locomo else (5, 10):
        key = f"recall@{k}"
        rows += compare(f"LoCoMo R@{k}", locomo["agentcl"]["overall"][key],
                        locomo.get("mem0", {}).get("overall", {}).get(key), higher_is_better=True)
        rows.append(summary_row(f"LoCoMo R@{k}: plain dense baseline (same run)",
                         locomo["plain_dense_baseline"]["overall"][key]))
    conflicts = result["conflicts"]
    label = f"changed fact: stale value in top {conflicts['k']} (share of {len(conflicts['probes'])} probes)"
    ours, theirs = conflicts["agentcl"]["stale_returned"], conflicts.get("mem0", {}).get("stale_returned")
    rows.append(summary_row(f"{label}: agentcl", ours))
    if theirs is not None:
        rows += [summary_row(f"{label}: mem0", theirs),
                 summary_row(f"{label}: agentcl beats mem0", f"{ours} vs {theirs}", "fewer stale answers",
                      ours < theirs),
                 summary_row("changed fact: mem0 ranks the stale value first (share)",
                      conflicts["mem0"]["stale_ranked_first"])]
    rows.append(summary_row("changed fact: agentcl keeps the old value as history (share)",
                     conflicts["agentcl"]["history_kept"]))
    count = result["network_attempt_count"]
    rows.append(summary_row("network connections attempted", count, "0", count == 0))
    return rows
