"""`agentcl bench peers`: agentcl beside the open-source mem0 (PyPI `mem0ai`) on the same work, one run.

One module over 300 lines on purpose: every measurement here runs both systems on the same work,
interleaved in one run, and its helpers (timed rounds, pairing, precomputed vectors) serve only that.

mem0 runs offline: `infer=False` on add (no LLM), its huggingface embedder on the same local MiniLM,
FAISS (cosine) in a temporary directory, telemetry off, an LLM config with a dummy key and a loopback URL;
an audit hook records any non-loopback connection attempted during the run, so offline is checked.

Both systems get the same work, interleaved so a shared machine's noise hits both alike:
- add rate at size N: bulk-fill to N - W through each system's own batch path (agentcl `write_notes`
  with precomputed vectors; mem0's FAISS `vector_store.insert` with the payloads `Memory.add` writes),
  then time the last W adds through the public API in batches of 64. mem0 rewrites its whole index file
  on every insert, so its rate falls as N grows: it is measured at N, not averaged from empty.
- search p50 at each size beside the latency of embedding the query alone, each call after a short idle
  in an order that cycles through all permutations (measure_search, timed_rounds); also back to back
  and after the query embedding (both systems given the same precomputed query vector);
- LoCoMo evidence recall (agentcl_bench.locomo_eval): one namespace / mem0 user per conversation, dia_id
  as the external id, the plain dense baseline computed in the same run;
- changed facts: a fact, then a new value of it; what each returns when asked."""
from __future__ import annotations

import itertools
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from agentcl_bench.corpus import note_texts, query_texts
from agentcl_bench.machine import latency_summary, machine_info
from agentcl_bench.mem0_side import Mem0Side, NetworkWatch, load_mem0
from agentcl_bench.peers_summary import summary_rows
from memory_store.errors import UserError

BATCH = 64
WINDOW = 512  # adds timed through the public API at each size
SETTLE_S = 0.02  # idle before each timed search call (see timed_rounds)
K = 10
KS = (1, 5, 10)
BENCH_NS, PROBE_NS = "bench", "probe"  # agentcl namespaces and mem0 users
PROBE_DISTRACTORS = 200
PROBES = (  # subject, predicate, old value, new value, question
    ("Acme", "CEO", "Alice", "Bob", "Who is Acme's CEO?"),
    ("Globex", "headquarters", "Berlin", "Lisbon", "Where is Globex headquartered?"),
    ("the weather API", "units parameter", "metric", "imperial", "Which units does the weather API take?"),
    ("Dana", "phone number", "555-0100", "555-0199", "What is Dana's phone number?"),
    ("the Pro plan", "price", "$20 per month", "$25 per month", "How much does the Pro plan cost?"),
)


def window_for(size: int, window: int = WINDOW) -> int:
    """How many of the last memories before `size` go through the public add API."""
    return max(1, min(window, size // 4))


def measure_adds_and_search(store, peer: Mem0Side | None, *, sizes: Sequence[int], queries: list[str],
                            budget_s: float) -> list[dict]:
    from memory_store.notes import validate_note_input

    texts = note_texts(max(sizes), seed=0)
    starts = {size: size - window_for(size) for size in sizes}
    vectors = store.embedder.encode(texts[:max(starts.values())], batch_size=BATCH)  # for both bulk fills
    out, held = [], 0
    for size in sorted(sizes):
        start = max(held, starts[size])
        if start > held:
            store.write_notes([validate_note_input(t, namespace=BENCH_NS) for t in texts[held:start]],
                              vectors=vectors[held:start], op="bench_fill")
            if peer is not None:
                peer.bulk_fill(texts[held:start], vectors[held:start], user=BENCH_NS)
        spent, added, began, cut = {"agentcl": 0.0, "mem0": 0.0}, 0, time.perf_counter(), False
        for i in range(start, size, BATCH):
            batch = texts[i:min(i + BATCH, size)]
            t = time.perf_counter()
            store.add_notes([{"text": x} for x in batch], namespace=BENCH_NS)
            spent["agentcl"] += time.perf_counter() - t
            if peer is not None:
                t = time.perf_counter()
                peer.add(batch, user=BENCH_NS)
                spent["mem0"] += time.perf_counter() - t
            added += len(batch)
            if time.perf_counter() - began > budget_s and i + BATCH < size:
                cut = True  # time bound reached: the rate is over the adds done so far
                break
        held = start + added
        entry = {"size": size, "held": held, "bulk_filled_to": start, "timed_adds": added, "batch": BATCH,
                 "time_bound_cut": cut, "agentcl_adds_per_s": round(added / spent["agentcl"], 1)}
        if peer is not None:
            entry["mem0_adds_per_s"] = round(added / spent["mem0"], 1)
        entry["search"] = measure_search(store, peer, queries)
        out.append(entry)
    return out


class PrecomputedEmbedder:
    """The store's embedder, answering from vectors computed beforehand for known texts (the
    post-embedding measurement: both systems get the same query vector and do only their own work)."""

    def __init__(self, inner, vectors: dict[str, np.ndarray]):
        self.inner, self.vectors = inner, vectors
        self.name, self.dim = inner.name, inner.dim
        self.device = getattr(inner, "device", "cpu")

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        if all(t in self.vectors for t in texts):
            return np.vstack([self.vectors[t] for t in texts]) if texts else self.inner.encode(texts)
        return self.inner.encode(texts, batch_size=batch_size)


@contextmanager
def precomputed_queries(store, peer: Mem0Side | None, vectors: dict[str, np.ndarray]):
    """Inside: agentcl's store and mem0's embedder answer the given texts from `vectors`."""
    own = store.ctx.embedder_or_none
    store.ctx.embedder_or_none = PrecomputedEmbedder(store.embedder, vectors)
    if peer is not None:
        model = peer.memory.embedding_model
        model.embed = lambda text, memory_action=None: (  # mem0's embedder returns a list
            vectors[text][0].tolist() if text in vectors else type(model).embed(model, text, memory_action))
    try:
        yield
    finally:
        store.ctx.embedder_or_none = own
        if peer is not None:
            del peer.memory.embedding_model.embed  # back to the class's method


def timed_rounds(runs: dict, queries: list[str], *, settle_s: float) -> dict[str, list[float]]:
    """Each query through every run; the order cycles through all permutations (every run goes first,
    and follows every other run, equally often) and each timed call starts after `settle_s` idle.
    Why the pause: torch and FAISS each keep an OpenMP thread pool that spins for milliseconds after a
    parallel call; on a small machine a call made while another pool still spins pays for it (measured
    here: +5 ms for a query embedding right after a mem0 search, 0 after 20 ms idle). With a fixed
    rotation the same run always followed the same other run and paid the other's leftover spin."""
    names = list(runs)
    orders = list(itertools.permutations(names))
    for run in runs.values():
        run(queries[0])  # warm caches: loading is not a query
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, q in enumerate(queries):
        for name in orders[i % len(orders)]:
            if settle_s:
                time.sleep(settle_s)
            t = time.perf_counter()
            runs[name](q)
            times[name].append(time.perf_counter() - t)
    return times


def paired(times: dict[str, list[float]]) -> dict:
    """Per query, mem0's latency minus agentcl's (same query, same round): median and the share of
    queries where agentcl was faster; less sensitive to a shared machine's drift than two p50s."""
    diffs = sorted((m - a) * 1000 for a, m in zip(times["agentcl"], times["mem0"]))
    return {"median_mem0_minus_agentcl_ms": round(statistics.median(diffs), 3),
            "agentcl_faster_share": round(sum(d > 0 for d in diffs) / len(diffs), 3), "n": len(diffs)}


def measure_search(store, peer: Mem0Side | None, queries: list[str], *, settle_s: float = SETTLE_S) -> dict:
    """Search latency three ways, each system through its public search call:
    - the headline (top-level keys): each system embeds the query itself, every call after `settle_s`
      idle, beside the latency of embedding the query alone (agentcl's embedder, the same MiniLM);
    - `back_to_back`: the same with no pause (calls inherit each other's spinning thread pools);
    - `post_embedding`: both given the same precomputed query vector: only each system's own work, after
      `settle_s` idle and (`post_embedding_back_to_back`) with none. On a small machine the idle matters
      for mem0: at 10k rows FAISS runs its exhaustive single-query search as a 2-thread OpenMP region, and
      waking that pool after idle costs milliseconds (measured on a 2-vCPU VM, plain FAISS IndexFlatIP
      10k x 384: p50 0.77 ms back to back, 1.6 ms (mean 6 ms) after 20 ms idle, 0.72 ms on one thread);
      agentcl's HNSW search of one query runs on one thread. Read the three together."""
    agentcl = lambda q: store.search(q, namespace=BENCH_NS, k=K)
    runs = {"query_embed": lambda q: store.embedder.encode([q]), "agentcl": agentcl}
    if peer is not None:
        runs["mem0"] = lambda q: peer.search(q, user=BENCH_NS, k=K)
    times = timed_rounds(runs, queries, settle_s=settle_s)
    out: dict = {name: latency_summary(values) for name, values in times.items()}
    for name in ("agentcl", "mem0"):
        if name in out:
            out[name]["ratio_p50_to_query_embed"] = round(out[name]["p50_ms"] / out["query_embed"]["p50_ms"],
                                                          3)
    out["settle_ms"] = settle_s * 1000
    out["protocol"] = (f"{len(queries)} queries, each through every system; order cycling through all "
                       f"permutations; {settle_s * 1000:g} ms idle before each timed call")
    if peer is not None:
        out["paired"] = paired(times)
    extra = {"back_to_back": (runs, 0.0)}
    vectors = {q: store.embedder.encode([q]) for q in queries}
    post = {"agentcl": agentcl}
    if peer is not None:
        post["mem0"] = runs["mem0"]
    extra["post_embedding"] = (post, settle_s)
    extra["post_embedding_back_to_back"] = (post, 0.0)
    for label, (these, pause) in extra.items():
        if label.startswith("post_embedding"):
            with precomputed_queries(store, peer, vectors):
                got = timed_rounds(these, queries, settle_s=pause)
        else:
            got = timed_rounds(these, queries, settle_s=pause)
        out[label] = {name: latency_summary(values) for name, values in got.items()}
        if peer is not None:
            out[label]["paired"] = paired(got)
    return out


def select_conversations(conversations, questions, which):
    """All, the first N, or the named conversations (sample ids), and their questions."""
    if which is None:
        return conversations, questions
    wanted = {c.sample_id for c in conversations[:which]} if isinstance(which, int) else set(which)
    unknown = sorted(wanted - {c.sample_id for c in conversations})
    if not wanted:
        raise UserError("no LoCoMo conversation selected")
    if unknown:
        raise UserError(f"unknown LoCoMo conversation(s) {', '.join(unknown)}; the file has "
                        f"{', '.join(c.sample_id for c in conversations)}")
    return ([c for c in conversations if c.sample_id in wanted],
            [q for q in questions if q.sample_id in wanted])


def measure_locomo(store, peer: Mem0Side | None, conversations, questions) -> dict:
    from agentcl_bench import locomo_eval as L

    turns, ingest = sum(len(c.turns) for c in conversations), {"agentcl": 0.0, "mem0": 0.0}
    for conv in conversations:
        t = time.perf_counter()
        store.add_notes([{"text": x.text, "speaker": x.speaker, "external_id": x.dia_id,
                          "thread": f"session_{x.session}", "occurred_at": x.time} for x in conv.turns],
                        namespace=conv.sample_id)
        ingest["agentcl"] += time.perf_counter() - t
        if peer is not None:  # one add per turn: mem0's metadata (the dia_id) is per call
            t = time.perf_counter()
            for x in conv.turns:
                peer.add([f"{x.speaker}: {x.text}"], user=conv.sample_id, metadata={"dia_id": x.dia_id})
            ingest["mem0"] += time.perf_counter() - t

    def agentcl_search(ns: str, query: str, k: int) -> list[str]:
        return [r.metadata.get("external_id") for r in store.search(query, namespace=ns, k=k, kind="note")]

    def mem0_search(ns: str, query: str, k: int) -> list[str]:
        return [(r.get("metadata") or {}).get("dia_id") for r in peer.search(query, user=ns, k=k)]

    baseline = L._BaselineIndex(conversations, store.embedder)  # plain dense MiniLM + FAISS, 'Speaker: text'
    out = {"conversations": [c.sample_id for c in conversations], "questions": len(questions), "turns": turns,
           "agentcl": L.evaluate(agentcl_search, questions, ks=KS),
           "plain_dense_baseline": L.evaluate(baseline.dense, questions, ks=KS),
           "ingest_per_s": {"agentcl": round(turns / ingest["agentcl"], 1)}}
    if peer is not None:
        out["mem0"] = L.evaluate(mem0_search, questions, ks=KS)
        out["ingest_per_s"]["mem0"] = round(turns / ingest["mem0"], 1)
    return out


def mentions(text: str, value: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text, flags=re.IGNORECASE) is not None


def probe_outcome(texts: Sequence[str], old: str, new: str) -> dict:
    """Which of a changed fact's values a ranked answer list carries, and which comes first."""
    order = [v for t in texts for v in (old, new) if mentions(t, v)]
    first = order[0] if order else None
    return {"returns_current": new in order, "returns_stale": old in order,
            "first_value": "current" if first == new else "stale" if first == old else None}


def measure_conflicts(store, peer: Mem0Side | None, k: int = 5) -> dict:
    distractors = note_texts(PROBE_DISTRACTORS, seed=3)
    store.add_notes([{"text": x} for x in distractors], namespace=PROBE_NS)
    if peer is not None:
        peer.bulk_fill(distractors, store.embedder.encode(distractors), user=PROBE_NS)
    rows = []
    for subject, predicate, old, new, question in PROBES:
        store.add_fact(subject, predicate, old, namespace=PROBE_NS, valid_from="2024-01-01")
        store.add_fact(subject, predicate, new, namespace=PROBE_NS, valid_from="2025-01-01")
        got = [r.text for r in store.search(question, namespace=PROBE_NS, k=k)]
        history = [(f.object, f.status) for f in store.history(subject, predicate, namespace=PROBE_NS)]
        row = {"question": question, "old": old, "new": new,
               "agentcl": {"returned": got, **probe_outcome(got, old, new), "history": history,
                           "history_kept": history == [(old, "superseded"), (new, "active")]}}
        if peer is not None:
            for value in (old, new):  # two plain memories, in that order
                peer.add([f"{subject}'s {predicate} is {value}"], user=PROBE_NS)
            got = [r["memory"] for r in peer.search(question, user=PROBE_NS, k=k)]
            row["mem0"] = {"returned": got, **probe_outcome(got, old, new)}
        rows.append(row)
    out: dict = {"k": k, "probes": rows}
    for system in ("agentcl", "mem0") if peer is not None else ("agentcl",):
        out[system] = {name: round(sum(r[system][key] == want for r in rows) / len(rows), 3)
                       for name, key, want in (("stale_returned", "returns_stale", True),
                                               ("current_returned", "returns_current", True),
                                               ("stale_ranked_first", "first_value", "stale"))}
    out["agentcl"]["history_kept"] = round(sum(r["agentcl"]["history_kept"] for r in rows) / len(rows), 3)
    return out


def run_peers_bench(*, sizes=(2_000, 10_000), data_dir=None, device=None, locomo_conversations=None,
                    queries: int = 200, add_budget_s: float = 300.0, embedder=None) -> dict:
    """agentcl and mem0 on the same workloads in one run; without mem0ai, agentcl alone and the summary
    says so. `locomo_conversations`: the first N conversations, or sample ids (None: all).
    `add_budget_s` bounds each size's timed adds; a size cut short is marked in the result."""
    from agentcl_bench.data import default_data_dir
    from agentcl_bench.locomo_eval import load_locomo
    from memory_store import MemoryStore
    from memory_store.embedding import default_model_path, get_default_embedder

    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 4 for s in sizes):
        raise UserError(f"peers sizes must be whole numbers >= 4, got {list(sizes)!r}")
    sizes = tuple(sorted(set(sizes)))
    locomo_path = Path(data_dir or default_data_dir()) / "locomo" / "locomo_dev.json"
    locomo = (select_conversations(*load_locomo(locomo_path), locomo_conversations)  # fails before measuring
              if locomo_path.exists() else None)
    embedder = embedder or get_default_embedder(device or "auto")
    mem0, why = load_mem0()
    result: dict = {
        "benchmark": "peers", "machine": machine_info(embedder.device), "seed": 0, "sizes": list(sizes),
        "embedder": embedder.name, "batch": BATCH, "mem0": {"installed": mem0 is not None, "reason": why},
        "method": f"add rate at each size: bulk fill to size - W, then the last W (<= {WINDOW}) adds through "
                  f"the public API in batches of {BATCH}, agentcl and mem0 interleaved"}
    root = Path(tempfile.mkdtemp(prefix="agentcl-peers-"))
    with NetworkWatch() as net:
        store = MemoryStore.open(home=root / "agentcl", embedder=embedder)
        peer = Mem0Side(mem0, root / "mem0", model_path=default_model_path(), device=embedder.device,
                        dim=embedder.dim) if mem0 is not None else None
        try:
            result["add_and_search"] = measure_adds_and_search(
                store, peer, sizes=sizes, queries=query_texts(queries), budget_s=add_budget_s)
            if peer is not None:
                result["mem0"].update(telemetry=peer.telemetry, payload_keys=peer.payload_keys())
                peer.memory.reset()  # LoCoMo and the probe start from an empty mem0, like new namespaces
            result["locomo"] = (measure_locomo(store, peer, *locomo) if locomo is not None
                                else {"skipped": f"LoCoMo data not found at {locomo_path}"})
            result["conflicts"] = measure_conflicts(store, peer)
        finally:
            store.close()
            if peer is not None:
                peer.memory.close()
            shutil.rmtree(root, ignore_errors=True)
    result["network_attempt_count"], result["network_attempts"] = len(net.attempts), net.attempts[:20]
    result["summary"] = summary_rows(result)
    return result
