"""`agentcl bench llm`: the local language model (packaged SmolLM2 unless --model-dir) learns validated
facts and tool usages over two consolidation rounds. Round 2 supersedes some facts, adds new ones and
renames a tool parameter; it runs twice from the same round-1 checkpoint, with replay and without
(the naive run, same code), so the loss that replay prevents is measured in the same run."""
from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path

FIRST = ["Zorvath", "Quillon", "Maribex", "Tesslor", "Vandrel", "Oktavia", "Brennix", "Calvora", "Duskane",
         "Elvorin", "Fennick", "Galdris", "Hollier", "Istrand", "Jarrow", "Kestrel", "Lumeris", "Morvane",
         "Norrick", "Ostara", "Pellam", "Quorin", "Rastley", "Sorrel", "Tamsin", "Ulverd", "Varnold", "Wystan",
         "Yarrow", "Zephine", "Ansley", "Bexley", "Corwin", "Delphy", "Emberly", "Farrow", "Gideon", "Harlan",
         "Ingram", "Juniper", "Kellan", "Linden", "Marlow", "Nesbit", "Orrin", "Perrin", "Quentin", "Rowan"]
LAST = ["Ashcombe", "Blackwood", "Crane", "Dunmore", "Everly", "Fairbanks", "Greaves", "Holloway", "Ingleby",
        "Jessop", "Kingsley", "Lockhart", "Merriweather", "Northcott", "Oakes", "Pemberton", "Quarles", "Radcliffe"]
CITIES = ["Lisbon", "Oslo", "Nairobi", "Quito", "Hanoi", "Tallinn", "Porto", "Dakar", "Perth", "Krakow", "Lima",
          "Seoul", "Cusco", "Bergen", "Tunis", "Riga", "Accra", "Busan", "Malmo", "Ghent"]
PREDICATES = ("CEO", "headquarters city", "founder")


def _company(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]}{['tek', 'ora', 'ix', 'works', 'corp'][i // len(FIRST) % 5]}"


def _value(pred: str, rng: random.Random) -> str:
    if pred == "headquarters city":
        return rng.choice(CITIES)
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def scenario(facts: int, changed: int, new: int, seed: int) -> dict:
    rng = random.Random(seed)
    slots = [(_company(i), PREDICATES[i % len(PREDICATES)]) for i in range(facts + new)]
    values = {s: _value(s[1], rng) for s in slots}
    first, added = slots[:facts], slots[facts:]
    later = {}
    for s in rng.sample(first, changed):
        v = _value(s[1], rng)
        while v == values[s]:
            v = _value(s[1], rng)
        later[s] = v
    cities = ["paris", "rome", "oslo", "lima", "kyiv", "cairo", "delhi", "quito", "milan", "accra"]
    usages1 = [{"task": f"what is the weather in {c} today", "skill": "get_weather", "args": {"city": c}}
               for c in cities[:6]]
    usages1 += [{"task": f"convert {n} dollars to euros", "skill": "convert_currency", "args": {"amount": n, "to": "EUR"}}
                for n in (5, 12, 40, 75, 120, 999)]
    usages1 += [{"task": f"book a meeting with {p} on {d}", "skill": "book_meeting", "args": {"person": p, "day": d}}
                for p, d in (("anna", "monday"), ("ben", "tuesday"), ("chen", "friday"), ("dara", "sunday"),
                             ("eli", "thursday"), ("fay", "monday"))]
    usages2 = [{"task": f"how is the weather in {c} right now", "skill": "get_weather", "args": {"location": c}}
               for c in cities[4:]]
    return {"first": [(s, p, values[(s, p)]) for s, p in first], "added": [(s, p, values[(s, p)]) for s, p in added],
            "changed": [(s, p, v) for (s, p), v in later.items()], "usages1": usages1, "usages2": usages2,
            "tools1": {"get_weather": ["city"], "convert_currency": ["amount", "to"], "book_meeting": ["day", "person"]},
            "tools2": {"get_weather": ["location"], "convert_currency": ["amount", "to"],
                       "book_meeting": ["day", "person"]}}


def _summary(r) -> dict:
    d = r.to_dict()
    return {k: d[k] for k in ("promoted", "reason", "examples", "replayed", "removed_from_buffer", "stale_detected",
                              "stale_corrected", "stale_remaining", "forgotten_detected", "forgotten_corrected",
                              "lost_detected", "lost_corrected", "lost_remaining",
                              "forgotten_remaining", "accuracy", "metrics", "seconds", "train_seconds", "device")}


def run_seed(lm, *, seed: int, facts: int, changed: int, new: int, config: dict, embedder=None) -> dict:
    from agentcl.consolidation.lm_job import consolidate_lm
    from memory_store import MemoryStore

    sc = scenario(facts, changed, new, seed)
    root = Path(tempfile.mkdtemp(prefix="agentcl-bench-llm-"))
    home = root / "replay"

    def open_store(h):
        return MemoryStore.open(f"sqlite:///{h / 'memory.db'}", home=h, embedder=embedder)

    try:
        home.mkdir()
        store = open_store(home)
        for s, p, v in sc["first"]:
            store.add_fact(s, p, v)
        # Round 2 must start from round 1's model: its gate verdict is reported, not applied.
        r1 = consolidate_lm(store, lm=lm, usages=sc["usages1"], tools=sc["tools1"],
                            config={**config, "gate": False, "seed": seed}, home=home)
        for s, p, v in sc["changed"] + sc["added"]:
            store.add_fact(s, p, v)
        embedder = store.embedder
        store.close()
        shutil.copytree(home, root / "round1")
        out = {"round1": _summary(r1)}
        _progress(seed, "round1", out["round1"])
        for name, extra in (("round2_replay", {}), ("round2_naive", {"replay": False, "gate": False})):
            if name == "round2_naive":  # the same round-1 state at the same path: the state names its database
                shutil.rmtree(home)
                shutil.copytree(root / "round1", home)
            store = open_store(home)
            rep = consolidate_lm(store, lm=lm, usages=sc["usages2"], tools=sc["tools2"],
                                 config={**config, **extra, "seed": seed}, home=home)
            store.close()
            out[name] = _summary(rep)
            _progress(seed, name, out[name])
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _progress(seed: int, name: str, summary: dict) -> None:
    import json
    import sys

    print(json.dumps({"seed": seed, "run": name, **summary}, default=str), file=sys.stderr, flush=True)


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return None if not xs else round(sum(xs) / len(xs), 4)


def _rows(seeds: list[dict], facts: int, changed: int, new: int) -> list[dict]:
    def acc(run, key):
        return _mean([s[run]["accuracy"].get(key) for s in seeds])

    def tool(run, names):
        return _mean([s[run]["accuracy"]["tools"].get(n) for s in seeds for n in names])

    def num(run, key):
        return _mean([s[run][key] for s in seeds])

    unused = ("convert_currency", "book_meeting")
    rows = [
        ("round 1: trained phrasing, current value", acc("round1", "new_trained"), "≥ 0.95"),
        ("round 1: unseen paraphrases", acc("round1", "new_unseen"), "≥ 0.80"),
        ("round 1: general questions kept (locality)", acc("round1", "locality_kept"), "≥ 0.95"),
        ("round 1: general questions kept, every prompt through the adapter",
         acc("round1", "locality_kept_unscoped"), None),
        ("round 1: valid tool calls", tool("round1", ("get_weather",) + unused), None),
        ("round 1: seconds (train / total)", f"{num('round1', 'train_seconds')} / {num('round1', 'seconds')}", None),
        ("round 1: seconds per trained sequence",
         _mean([s["round1"]["metrics"].get("seconds_per_example") for s in seeds]), None),
        ("round 2: stale answers detected → after correction (replay)",
         f"{num('round2_replay', 'stale_detected')} → {num('round2_replay', 'stale_remaining')}", "→ 0"),
        ("round 2: unchanged facts lost → after correction (replay)",
         f"{num('round2_replay', 'lost_detected')} → {num('round2_replay', 'lost_remaining')}", None),
        ("round 2: new values, replay / naive", f"{acc('round2_replay', 'new_trained')} / "
                                               f"{acc('round2_naive', 'new_trained')}", "≥ 0.95"),
        ("round 2: unchanged round-1 facts kept, replay / naive",
         f"{acc('round2_replay', 'kept')} / {acc('round2_naive', 'kept')}", "≥ 0.95 with replay"),
        ("round 2: general questions kept, replay / naive",
         f"{acc('round2_replay', 'locality_kept')} / {acc('round2_naive', 'locality_kept')}", "≥ 0.95"),
        ("round 2: general questions kept, every prompt through the adapter, replay / naive",
         f"{acc('round2_replay', 'locality_kept_unscoped')} / {acc('round2_naive', 'locality_kept_unscoped')}", None),
        ("round 2: renamed parameter used (get_weather), replay / naive",
         f"{tool('round2_replay', ('get_weather',))} / {tool('round2_naive', ('get_weather',))}", "≥ 0.95"),
        ("round 2: unused tools still valid, replay / naive",
         f"{tool('round2_replay', unused)} / {tool('round2_naive', unused)}", "≥ 0.95 with replay"),
        ("round 2: promoted (replay run, gate on)", num("round2_replay", "promoted"), None),
        ("round 2: seconds (train / total), replay / naive",
         f"{num('round2_replay', 'train_seconds')} / {num('round2_replay', 'seconds')}; "
         f"{num('round2_naive', 'train_seconds')} / {num('round2_naive', 'seconds')}", None),
    ]
    return [{"metric": m, "value": v, "target": t, "ok": None} for m, v, t in rows]


def run_llm_bench(*, seeds=(0, 1, 2), facts: int = 40, changed: int = 10, new: int = 10, device: str = "auto",
                  model_dir=None, quick: bool = False, config: dict | None = None) -> dict:
    from agentcl.model.causal_lm import CausalLM
    from agentcl_bench.machine import machine_info
    from memory_store.embedding import resolve_device

    if quick:
        facts, changed, new, seeds = 6, 2, 2, tuple(seeds)[:1]
        config = {"locality_limit": 20, "anchors_limit": 8, **(config or {})}
    device = resolve_device(device)
    started = time.perf_counter()
    lm = CausalLM.open(model_dir, device=device)
    load_seconds = round(time.perf_counter() - started, 2)
    # Locality is reported as the model is used (scoped) and for the adapter alone (every prompt through it).
    config = {"locality_unscoped": True, **(config or {})}
    per_seed = []
    for seed in seeds:
        per_seed.append(run_seed(lm, seed=seed, facts=facts, changed=changed, new=new, config=dict(config or {})))
    return {"benchmark": "llm", "machine": machine_info(device), "device": device, "model": lm.source,
            "seeds": list(seeds), "facts": facts, "changed": changed, "new": new, "config": config or {},
            "load_seconds": load_seconds, "seconds": round(time.perf_counter() - started, 1),
            "summary": _rows(per_seed, facts, changed, new), "per_seed": per_seed}
