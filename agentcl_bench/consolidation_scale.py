"""`agentcl bench consolidation`: how long consolidating N validated memories takes (target: 100,000
in at most 10 minutes on a 2-core CPU).

The store is filled through the real MemoryStore (SQLite, versioned, FAISS-indexed) with the real
default embedder (all-MiniLM-L6-v2): the job trains on the vectors the store already holds and on the
questions it encodes itself, and both must come from the same model, so a faster stand-in embedder
would time a job that never runs in production. Filling is timed separately and is not part of the
target. The facts are generated company records (10 predicates, names, cities, years, ...); their
values are arbitrary, so the probe accuracy shows how much of N arbitrary facts the adapter
memorises, and the gate decides on promotion as it would in production.

The timed part is one `consolidate()` call with the default configuration on a store where all N
facts are new: select, build examples, encode questions, train with replay, probe, gate, checkpoint.
The configuration's budgets (max_encode, max_train_rows) decide how a backlog this large is trained;
the report's notes say what they chose. When the first call is promoted, a second call with nothing
new measures a scheduled run that finds nothing to do (when it is not, the next run would redo the
same work, since the gate kept nothing).
The machine's load average is recorded: the machine may be shared, and absolute times with it."""
from __future__ import annotations

import os
import random
import tempfile
import time

from agentcl_bench.rows import summary_row

FIRST = ["Ada", "Bruno", "Chen", "Dara", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kofi", "Lena", "Mateo",
         "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sami", "Tariq", "Uma", "Viktor", "Wen", "Ximena", "Yusuf",
         "Zara", "Amir", "Bea", "Cyrus", "Dmitri", "Esme", "Farah", "Gus", "Hana", "Ivo", "Jade", "Kai", "Lior",
         "Mina", "Nils"]
LAST = ["Park", "Diaz", "Novak", "Okafor", "Silva", "Ross", "Moreau", "Adams", "Kowalski", "Tanaka", "Haddad",
        "Lindqvist", "Mensah", "Costa", "Ibrahim", "Fischer", "Nakamura", "Ortega", "Petrov", "Quispe", "Rahman",
        "Schmidt", "Torres", "Ueda", "Varga", "Weber", "Yilmaz", "Zhou", "Bauer", "Chopra", "Duarte", "Eriksen",
        "Ferreira", "Gallo", "Hoang", "Iyer", "Jensen", "Keller", "Lopez", "Murphy"]
CITIES = ["Lisbon", "Berlin", "Osaka", "Lagos", "Lima", "Oslo", "Pune", "Quito", "Riga", "Seoul", "Turin", "Utrecht",
          "Vienna", "Warsaw", "Xiamen", "York", "Zagreb", "Austin", "Bogota", "Cairo", "Dakar", "Essen", "Fukuoka",
          "Geneva", "Hanoi", "Izmir", "Jaipur", "Kyiv", "Leeds", "Malmo", "Nairobi", "Porto", "Recife", "Sofia",
          "Tallinn", "Valencia", "Wuhan", "Yerevan", "Zurich", "Perth"]
SECTORS = ["logistics", "biotech", "fintech", "retail", "mining", "aerospace", "gaming", "insurance", "robotics",
           "textiles", "shipping", "solar energy", "agritech", "cybersecurity", "media", "semiconductors"]
AUDITORS = ["Keller & Moss", "Brightline Audit", "Norden Partners", "Ashford LLP", "Claro Assurance", "Veritas Group"]
EXCHANGES = ["NYSE", "NASDAQ", "LSE", "Euronext", "TSE", "SIX", "ASX", "TSX"]
NAME_A = ["Nor", "Vel", "Quan", "Bra", "Cor", "Del", "Ev", "Fal", "Gal", "Hel", "Ix", "Jor", "Kel", "Lum", "Mar", "Ny",
          "Or", "Pax", "Rho", "Sol", "Tor", "Ul", "Vox", "Wex", "Zen"]
NAME_B = ["vex", "ora", "tis", "gen", "dyne", "lux", "mark", "nova", "path", "quist", "ron", "sys", "tek", "vant",
          "well", "zeta"]
SUFFIX = ["Logistics", "Labs", "Holdings", "Systems", "Analytics", "Foods", "Energy", "Works", "Capital", "Motors"]
PREDICATES = ["ceo", "cfo", "cto", "headquarters", "founded", "sector", "auditor", "stock exchange", "chair",
              "largest office"]


def company(i: int) -> str:
    """A distinct, pronounceable company name for every i < 4000 (with a numeral beyond)."""
    a, rest = divmod(i, len(NAME_B) * len(SUFFIX))
    b, c = divmod(rest, len(SUFFIX))
    name = f"{NAME_A[a % len(NAME_A)]}{NAME_B[b]} {SUFFIX[c]}"
    return name if a < len(NAME_A) else f"{name} {a // len(NAME_A) + 1}"


def value_for(predicate: str, rng: random.Random) -> str:
    if predicate in ("ceo", "cfo", "cto", "chair"):
        return f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    if predicate in ("headquarters", "largest office"):
        return rng.choice(CITIES)
    if predicate == "founded":
        return str(rng.randint(1950, 2020))
    return rng.choice({"sector": SECTORS, "auditor": AUDITORS, "stock exchange": EXCHANGES}[predicate])


def generated_facts(n: int, seed: int = 0):
    """n facts: companies in turn, each with the 10 predicates."""
    from memory_store.facts import validate_fact_input

    rng = random.Random(seed)
    for i in range(n):
        entity, p = divmod(i, len(PREDICATES))
        yield validate_fact_input(company(entity), PREDICATES[p], value_for(PREDICATES[p], rng))



def run_consolidation_scale(n: int = 100_000, device: str | None = None, *, quick: bool = False, seed: int = 0,
                            config: dict | None = None, target_seconds: float = 600.0, chunk: int = 2000) -> dict:
    """Fill a fresh store with `n` validated facts (not timed against the target), then time one full
    consolidation of all of them and one more run. `config` overrides ConsolidationConfig defaults.
    `quick` caps n at 5,000 (a smoke run)."""
    from agentcl.consolidation import ConsolidationConfig, consolidate
    from agentcl_bench.machine import machine_info
    from memory_store import MemoryStore
    from memory_store.embedding import get_default_embedder, resolve_device

    n = min(n, 5_000) if quick else n
    device = resolve_device(device or "auto")
    embedder = get_default_embedder(device)
    cfg = ConsolidationConfig(**{"seed": seed, **(config or {})})
    home = tempfile.mkdtemp(prefix="agentcl-scale-")
    store = MemoryStore.open(None, home=home, embedder=embedder)
    load_before = os.getloadavg()
    started = time.perf_counter()
    batch = []
    for item in generated_facts(n, seed):
        batch.append(item)
        if len(batch) == chunk:
            store.add_facts(batch)
            batch = []
    if batch:
        store.add_facts(batch)
    fill_s = time.perf_counter() - started
    started = time.perf_counter()
    report = consolidate(store, device=device, config=cfg, home=home)
    seconds = time.perf_counter() - started
    idle_s = idle_reason = None
    if report.promoted:  # otherwise the next run would redo the same work: the gate kept nothing
        started = time.perf_counter()
        idle = consolidate(store, device=device, config=cfg, home=home)
        idle_s, idle_reason = round(time.perf_counter() - started, 2), idle.reason
    load_after = os.getloadavg()
    store.close()
    d = report.to_dict()
    within = seconds <= target_seconds
    summary = [
        summary_row(f"consolidate {n:,} validated memories (s)", round(seconds, 1),
             f"≤ {target_seconds:.0f} s at 100,000 on a 2-core CPU" if n >= 100_000 else None,
             within if n >= 100_000 else None),
        summary_row("of which encoding questions (s)", d["encode_seconds"]),
        summary_row("of which training and probing (s)", d["train_seconds"]),
        summary_row("consolidation time per 1,000 memories (s)", round(seconds / (n / 1000), 3)),
        summary_row("filling the store with the same memories (s, not part of the target)", round(fill_s, 1)),
        summary_row("consolidation / fill time (same run)", round(seconds / fill_s, 3) if fill_s else None),
        summary_row("next scheduled run, nothing new (s)", idle_s if d["promoted"] else
             "not run: nothing was promoted, so it would redo this work"),
        summary_row("new-material probe accuracy (arbitrary facts memorised)", d["accuracy"].get("new")),
        summary_row("promoted by the gate", d["promoted"]),
    ]
    if not quick and n < 100_000:
        summary[0]["target"] = "target is stated at 100,000 memories"
    return {
        "benchmark": "consolidation",
        "machine": machine_info(device),
        "seed": seed,
        "memories": n,
        "device": device,
        "embedder": {"name": getattr(embedder, "name", type(embedder).__name__), "dim": embedder.dim,
                     "why": "the default all-MiniLM-L6-v2: the job reuses the store's vectors and encodes "
                            "questions itself, which must share one embedding space; a synthetic stand-in "
                            "would time a job that never runs in production"},
        "facts": "generated company records: 10 predicates per company (people, cities, years, sectors, "
                 "auditors, exchanges), every value arbitrary",
        "config": {k: getattr(cfg, k) for k in ("strategy", "phrasings", "use_stored_vectors", "epochs",
                                                 "batch_size", "replay_size", "hidden", "cpu_threads", "max_encode",
                                                 "max_train_rows", "max_fact_probes", "learn_threshold")},
        "budget_notes": d["notes"],
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
        "fill_seconds": round(fill_s, 2),
        "consolidate_seconds": round(seconds, 2),
        "train_seconds": d["train_seconds"],
        "encode_seconds": d["encode_seconds"],
        "idle_run_seconds": idle_s,
        "target_seconds": target_seconds,
        "within_target": within,
        "report": {k: d[k] for k in ("examples", "new_facts", "promoted", "reason", "accuracy", "buffer_size",
                                     "replayed", "metrics", "device")},
        "idle_reason": idle_reason,
        "summary": summary,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run_consolidation_scale(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=1,
                     default=str))
