"""`agentcl bench load`: N writer and M reader PROCESSES on one store for a fixed time.

One module over 300 lines on purpose: the worker processes (forkserver) run `_worker` from it and
write the acknowledgements its parent side then checks; split, one protocol would live in two files.

Writers add notes (single and batches of 4) and facts, half of them racing on the same functional slots;
readers run hybrid searches and fact reads. Every worker loads its own model, waits at a start line, then
runs until the common deadline. Afterwards the store is checked: every acknowledged write is there once,
the version log is gap-free with one version per write, each functional slot holds one active value (the
last one written), and the search index equals SQL (memory_store.integrity).

Bounded: at most 16 writers and 16 readers, 1 to 600 seconds, a hard deadline on start-up and shutdown.
Loopback only: a fresh SQLite file, or a temporary schema on the PostgreSQL server given by `url` (dropped
afterwards; nothing is left in that database)."""
from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from agentcl_bench.machine import latency_summary, machine_info
from memory_store.errors import UserError

NAMESPACE = "bench-load"
SHARED_SLOTS = (("acme", "ceo"), ("acme", "hq"), ("globex", "ceo"))
READY_TIMEOUT_S = 300  # loading torch and the model in every worker, on a slow shared machine
STOP_GRACE_S = 60  # a worker still running this long after the deadline is killed (and reported)
MAX_PROCESSES = 16
EMBED_EVERY = 10  # one bare encode of a single text per 10 operations, for the same-run latency ratios


# -- the worker processes ---------------------------------------------------------------------------
def _worker(role: str, wid: int, cfg: dict) -> None:
    """Entry point of one process; writes its acks (one line per acknowledged write) and a result file."""
    run = Path(cfg["run_dir"])
    result = {"role": role, "wid": wid, "ops": {}, "latencies": {}, "errors": [], "embed_s": []}
    try:
        import torch

        torch.set_num_threads(1)  # many processes share the cores
        from memory_store import MemoryStore
        from memory_store.embedding import get_default_embedder

        embedder = get_default_embedder("cpu")
        store = MemoryStore.open(cfg["url"], home=cfg["home"], embedder=embedder, actor=f"{role}-{wid}")
        rng = random.Random(cfg["seed"] * 1000 + wid + (500 if role == "reader" else 0))
        texts = _texts(role, wid, cfg["seed"])
        embedder.encode(texts[:8])  # warm up
        if role == "reader":
            store.search(texts[0], namespace=NAMESPACE, k=10)  # the index exists before the clock starts
        (run / f"{role}-{wid}.ready").write_text("ready")
        start = _wait_for_start(run / "go")
        step = _write if role == "writer" else _read
        with open(run / f"{role}-{wid}.acks", "a", encoding="utf-8") as acks:
            i = 0
            while time.time() < start + cfg["seconds"] and i < cfg["max_ops"]:
                op, seconds = step(store, rng, texts, wid, i, acks)
                result["ops"][op] = result["ops"].get(op, 0) + 1
                result["latencies"].setdefault(op, []).append(seconds)
                if i % EMBED_EVERY == EMBED_EVERY - 1:  # the floor of a write / a query, under the same load
                    t = time.perf_counter()
                    embedder.encode([texts[(i * 7) % len(texts)]])
                    result["embed_s"].append(time.perf_counter() - t)
                i += 1
        store.close()
    except Exception as exc:  # noqa: BLE001 (reported to the parent, which fails the integrity row)
        result["errors"].append(f"{type(exc).__name__}: {str(exc)[:300]}")
    (run / f"{role}-{wid}.json").write_text(json.dumps(result))


def _texts(role: str, wid: int, seed: int) -> list[str]:
    from agentcl_bench.corpus import note_texts, query_texts

    if role == "reader":
        return query_texts(400, seed=seed * 100 + wid + 1)
    return [f"{t} [writer {wid}]" for t in note_texts(400, seed=seed * 100 + wid)]


def _wait_for_start(go: Path) -> float:
    deadline = time.monotonic() + READY_TIMEOUT_S + 30
    while not go.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no start signal")
        time.sleep(0.01)
    start = float(go.read_text())
    while time.time() < start:
        time.sleep(0.001)
    return start


def _write(store, rng, texts, wid, i, acks):
    """One write, acknowledged in the ack file only after the store returned."""
    kind = i % 4
    text = texts[i % len(texts)] + f" #{i}"
    t = time.perf_counter()
    if kind == 0:
        note = store.add_note(text, namespace=NAMESPACE)
        record = {"op": "note", "ids": [note.id], "texts": [note.text], "version": note.version}
    elif kind == 2:
        batch = [f"{text} part {j}" for j in range(4)]
        notes = store.add_notes([{"text": x} for x in batch], namespace=NAMESPACE)
        record = {"op": "notes", "ids": [n.id for n in notes], "texts": batch, "version": notes[0].version}
    else:
        subject, predicate = rng.choice(SHARED_SLOTS) if kind == 1 else (f"writer {wid}", "counter")
        res = store.add_fact(subject, predicate, f"w{wid}-{i}", namespace=NAMESPACE)
        record = {"op": "fact", "id": res.fact.id, "subject": subject, "predicate": predicate,
                  "object": f"w{wid}-{i}", "version": res.version}
    seconds = time.perf_counter() - t
    acks.write(json.dumps(record) + "\n")
    acks.flush()
    return ("write_batch" if kind == 2 else "write"), seconds


def _read(store, rng, texts, wid, i, acks):
    t = time.perf_counter()
    if i % 4 == 3:
        store.current(*rng.choice(SHARED_SLOTS), namespace=NAMESPACE)
        op = "fact_read"
    else:
        store.search(texts[i % len(texts)], namespace=NAMESPACE, k=10)
        op = "search"
    return op, time.perf_counter() - t


# -- the parent ---------------------------------------------------------------------------------------
def _validate(writers, readers, seconds) -> None:
    for name, value, low in (("writers", writers, 1), ("readers", readers, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_PROCESSES:
            raise UserError(f"{name} must be a whole number from {low} to {MAX_PROCESSES}, got {value!r}")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 1 <= seconds <= 600:
        raise UserError(f"seconds must be from 1 to 600, got {seconds!r}")


class _Database:
    """A fresh SQLite file, or a temporary schema on the given PostgreSQL server (dropped on exit)."""

    def __init__(self, url: str | None, home: Path):
        from memory_store.db import redact_url

        self.schema = None
        self.admin = None
        if url is None:
            self.url, self.backend = f"sqlite:///{home / 'load.db'}", "sqlite"
        elif url.startswith(("postgresql", "postgres")):
            import sqlalchemy as sa
            from sqlalchemy.engine import make_url

            from memory_store.config import database_url

            base = database_url(url)
            self.schema = f"agentcl_load_{uuid.uuid4().hex[:10]}"
            try:
                self.admin = sa.create_engine(base)
                with self.admin.begin() as conn:
                    conn.execute(sa.text(f"CREATE SCHEMA {self.schema}"))
            except Exception as exc:  # unreachable server, no permission: the user's configuration
                raise UserError(f"cannot create a temporary schema in {redact_url(base)}: "
                                f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
            self.url = make_url(base).update_query_dict({"options": f"-csearch_path={self.schema}"}).render_as_string(
                hide_password=False)
            self.backend = "postgresql"
        else:
            raise UserError("bench load runs on a fresh SQLite file (no --url) or a PostgreSQL URL")
        self.shown = redact_url(url) if url else "SQLite (temporary file)"

    def drop(self) -> None:
        if self.admin is not None:
            import sqlalchemy as sa

            with self.admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
            self.admin.dispose()


def run_load_bench(*, writers: int = 2, readers: int = 2, seconds: float = 20, url: str | None = None,
                   home: str | Path | None = None, seed: int = 0) -> dict:
    """Run the load test; returns the benchmark result (summary rows, details, machine)."""
    _validate(writers, readers, seconds)
    own_home = home is None
    home_path = Path(tempfile.mkdtemp(prefix="agentcl-load-")) if own_home else Path(home)
    run_dir = Path(tempfile.mkdtemp(prefix="agentcl-load-run-"))
    db = _Database(url, home_path)
    try:
        from memory_store import MemoryStore
        from memory_store.embedding import get_default_embedder

        embedder = get_default_embedder("cpu")
        MemoryStore.open(db.url, home=home_path, embedder=embedder).close()  # the schema, created once
        cfg = {"url": db.url, "home": str(home_path), "run_dir": str(run_dir), "seconds": float(seconds),
               "seed": seed, "max_ops": int(2_000 * seconds)}
        wall, stragglers = _run_workers(writers, readers, cfg)
        results = [json.loads(p.read_text()) for p in sorted(run_dir.glob("*.json"))]
        acks = [json.loads(line) for p in sorted(run_dir.glob("writer-*.acks"))
                for line in p.read_text().splitlines(keepends=True) if line.endswith("\n")]
        with MemoryStore.open(db.url, home=home_path, embedder=embedder) as store:
            check = _check(store, acks)
        return _result(writers, readers, seconds, seed, db, results, acks, check, stragglers, wall)
    finally:
        db.drop()
        shutil.rmtree(run_dir, ignore_errors=True)
        if own_home:
            shutil.rmtree(home_path, ignore_errors=True)


def _run_workers(writers: int, readers: int, cfg: dict) -> tuple[float, list[str]]:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "sentence_transformers", "sqlalchemy", "faiss", "memory_store.store"])
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run = Path(cfg["run_dir"])
    procs = [(f"{role}-{i}", ctx.Process(target=_worker, args=(role, i, cfg), daemon=True))
             for role, n in (("writer", writers), ("reader", readers)) for i in range(n)]
    for _, proc in procs:
        proc.start()
    stragglers: list[str] = []
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not all((run / f"{name}.ready").exists() for name, _ in procs):
            dead = [name for name, p in procs if not p.is_alive() and not (run / f"{name}.ready").exists()]
            if dead:
                detail = (run / f"{dead[0]}.json").read_text()[:300] if (run / f"{dead[0]}.json").exists() else ""
                raise UserError(f"load worker {dead[0]} failed to start {detail}".strip())
            if time.monotonic() > deadline:
                raise UserError(f"load workers were not ready within {READY_TIMEOUT_S} s")
            time.sleep(0.05)
        start = time.time() + 0.5
        (run / "go.tmp").write_text(repr(start))
        (run / "go.tmp").replace(run / "go")  # atomic: a worker never reads a half-written start time
        for name, proc in procs:
            proc.join(timeout=max(0.0, start + cfg["seconds"] + STOP_GRACE_S - time.time()))
            if proc.is_alive():
                stragglers.append(name)
        return time.time() - start, stragglers
    finally:
        for _, proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=30)


def _check(store, acks: list[dict]) -> dict:
    """Integrity after the run: acknowledged writes, the log, the functional slots, the index."""
    from sqlalchemy import select

    from memory_store import tables
    from memory_store.integrity import check_integrity

    with store.engine.connect() as conn:
        notes = dict(conn.execute(select(tables.notes.c.id, tables.notes.c.text)).all())
        facts = {r.id: r for r in conn.execute(select(tables.facts))}
    lost = [a for a in acks if a["op"] in ("note", "notes") and any(notes.get(i) != t for i, t in zip(a["ids"], a["texts"]))]
    lost += [a for a in acks if a["op"] == "fact" and (a["id"] not in facts or facts[a["id"]].object != a["object"])]
    duplicated = len(notes) - len(set(notes.values()))
    last: dict[tuple, dict] = {}
    for a in acks:
        if a["op"] == "fact" and a["version"] > last.get((a["subject"], a["predicate"]), {"version": 0})["version"]:
            last[(a["subject"], a["predicate"])] = a
    wrong_slots = [k for k, a in last.items()
                   if sorted(f.object for f in facts.values() if (f.subject, f.predicate) == k and f.status == "active")
                   != [a["object"]]]
    versions = store.current_version()
    report = check_integrity(store, [NAMESPACE])
    ok = report["ok"] and not lost and not duplicated and not wrong_slots and versions == len(acks)
    return {"ok": ok, "lost_writes": len(lost), "duplicated_notes": duplicated, "slots_not_last_write": len(wrong_slots),
            "versions": versions, "acknowledged_writes": len(acks), "integrity": report}


def _rate(results: list[dict], role: str, ops: tuple[str, ...], seconds: float) -> float:
    return sum(r["ops"].get(op, 0) for r in results if r["role"] == role for op in ops) / seconds


def _lat(results: list[dict], role: str, ops: tuple[str, ...]) -> dict:
    return latency_summary([s for r in results if r["role"] == role for op in ops for s in r["latencies"].get(op, [])])


def _result(writers, readers, seconds, seed, db, results, acks, check, stragglers, wall) -> dict:
    errors = [f"{r['role']}-{r['wid']}: {e}" for r in results for e in r["errors"]] + \
        [f"{name}: still running after the deadline (killed)" for name in stragglers]
    write, batch = _lat(results, "writer", ("write",)), _lat(results, "writer", ("write_batch",))
    read, search = _lat(results, "reader", ("search", "fact_read")), _lat(results, "reader", ("search",))
    embed_w = latency_summary([s for r in results if r["role"] == "writer" for s in r["embed_s"]])
    embed_r = latency_summary([s for r in results if r["role"] == "reader" for s in r["embed_s"]])
    ratio = lambda a, b: round(a / b, 2) if math.isfinite(a) and math.isfinite(b) and b > 0 else None  # noqa: E731
    notes_written = sum(len(a["ids"]) for a in acks if a["op"] in ("note", "notes"))
    integrity = "ok" if check["ok"] else (f"FAILED: lost {check['lost_writes']}, duplicated {check['duplicated_notes']}, "
                                          f"slots {check['slots_not_last_write']}, index/log ok "
                                          f"{check['integrity']['ok']}, versions {check['versions']} for "
                                          f"{check['acknowledged_writes']} writes")
    summary = [
        {"metric": "setup", "value": f"{writers} writers + {readers} readers, {seconds:g} s, {db.backend}",
         "target": None, "ok": None},
        {"metric": "writes/s (acknowledged, all writers)", "value": round(len(acks) / seconds, 1), "target": None,
         "ok": None},
        {"metric": "memories written/s (notes + facts)", "value": round(
            (notes_written + sum(a["op"] == "fact" for a in acks)) / seconds, 1), "target": None, "ok": None},
        {"metric": "reads/s (searches + fact reads, all readers)",
         "value": round(_rate(results, "reader", ("search", "fact_read"), seconds), 1), "target": None, "ok": None},
        {"metric": "write latency p50 / p99 (ms)", "value": f"{write['p50_ms']:.1f} / {write['p99_ms']:.1f}",
         "target": None, "ok": None},
        {"metric": "read latency p50 / p99 (ms)", "value": f"{read['p50_ms']:.1f} / {read['p99_ms']:.1f}",
         "target": None, "ok": None},
        {"metric": "write p50 / embedding one text alone p50 (same run)", "value": ratio(write["p50_ms"], embed_w["p50_ms"]),
         "target": None, "ok": None},
        {"metric": "search p50 / embedding the query alone p50 (same run)",
         "value": ratio(search["p50_ms"], embed_r["p50_ms"]), "target": None, "ok": None},
        {"metric": "integrity (no lost/duplicate write, gap-free log, one active value per slot, index = SQL)",
         "value": integrity, "target": "all hold", "ok": bool(check["ok"])},
        {"metric": "acknowledged writes lost", "value": check["lost_writes"], "target": "0",
         "ok": check["lost_writes"] == 0},
        {"metric": "worker errors", "value": len(errors), "target": "0", "ok": not errors},
    ]
    return {"benchmark": "load", "machine": machine_info("cpu"), "seed": seed, "seeds": [seed], "summary": summary,
            "config": {"writers": writers, "readers": readers, "seconds": seconds, "backend": db.backend,
                       "database": db.shown, "namespace": NAMESPACE, "wall_s": round(wall, 2)},
            "latency_ms": {"write": write, "write_batch_of_4": batch, "read": read, "search": search,
                           "fact_read": _lat(results, "reader", ("fact_read",)), "embed_one_text_writers": embed_w,
                           "embed_one_query_readers": embed_r},
            "per_worker": [{"worker": f"{r['role']}-{r['wid']}", "ops": r["ops"], "errors": r["errors"]}
                           for r in results],
            "check": check, "errors": errors}
