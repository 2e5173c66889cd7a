"""Worker processes for the reliability tests, started by tests/reliability/conftest.py through a
multiprocessing forkserver that has imported torch and sentence-transformers once (importing them is
most of a worker's start-up on a loaded machine); `run(mode, args)` is the entry point.

Each worker loads the embedding model once, waits at a start barrier (a file) so the writers really
overlap, and reports every write through its ack file only AFTER the call has returned: a line in the
ack file is a write the store acknowledged."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for memory_store

SHARED_SLOTS = (("acme", "ceo"), ("acme", "hq"))


def _open(args: dict) -> list:
    """One store per URL (the same worker writes to SQLite and PostgreSQL: one model load for both)."""
    import torch

    torch.set_num_threads(1)  # several workers share two cores
    from memory_store import MemoryStore
    from memory_store.embedding import get_default_embedder

    embedder = get_default_embedder("cpu")
    return [MemoryStore.open(url, home=args["home"], embedder=embedder, actor=f"worker-{args['wid']}")
            for url in args["urls"]]


def _barrier(args: dict) -> None:
    Path(args["ack"] + ".ready").write_text("ready")
    deadline = time.monotonic() + 300
    while not Path(args["go"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit("no start signal")
        time.sleep(0.01)


class Acks:
    def __init__(self, path: str):
        self.fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open for the life of the worker)

    def write(self, **record) -> None:
        self.fh.write(json.dumps(record) + "\n")
        self.fh.flush()  # survives SIGKILL of this process (the page cache is the kernel's)


def _fact(store, acks: Acks, db: int, op: str, ns: str, subject: str, predicate: str, obj: str) -> None:
    res = store.add_fact(subject, predicate, obj, namespace=ns)
    acks.write(db=db, op=op, kind="fact", ns=ns, subject=subject, predicate=predicate, object=obj, id=res.fact.id,
               action=res.action, version=res.version)


def mixed(args: dict) -> None:
    """`n` writes cycling through: a conflicting value for a shared functional slot (two slots), a note,
    a batch of notes, and the worker's own slots (a counter that supersedes itself; a colour it keeps
    re-asserting, which must validate rather than duplicate)."""
    stores = _open(args)
    acks = Acks(args["ack"])
    wid = args["wid"]
    _barrier(args)
    for i in range(args["n"]):
        step = i % 5
        for db, store in enumerate(stores):
            if step in (0, 2):
                subject, predicate = SHARED_SLOTS[step // 2]
                _fact(store, acks, db, "shared", "ns-a", subject, predicate, f"w{wid}-{i}")
            elif step == 1:
                note = store.add_note(f"worker {wid} writes note number {i}", namespace="ns-b")
                acks.write(db=db, op="note", kind="note", ns="ns-b", ids=[note.id], texts=[note.text],
                           version=note.version)
            elif step == 3:
                texts = [f"worker {wid} batch {i} item {j}" for j in range(3)]
                notes = store.add_notes([{"text": t} for t in texts], namespace="ns-a")
                acks.write(db=db, op="notes", kind="note", ns="ns-a", ids=[n.id for n in notes], texts=texts,
                           version=notes[0].version)
            elif (i // 5) % 2 == 0:
                _fact(store, acks, db, "counter", "ns-b", f"worker {wid}", "counter", str(i))
            else:
                _fact(store, acks, db, "colour", "ns-b", f"worker {wid}", "colour", "blue")
    for store in stores:
        store.close()


def batches(args: dict) -> None:
    """Write forever (until killed): a batch of notes, then a fact superseding the previous one."""
    stores = _open(args)
    acks = Acks(args["ack"])
    _barrier(args)
    i = 0
    while True:
        for db, store in enumerate(stores):
            texts = [f"crash batch {i} note {j}" for j in range(args.get("batch", 4))]
            notes = store.add_notes([{"text": t} for t in texts], namespace="crash")
            acks.write(db=db, op="notes", kind="note", ns="crash", batch=i, ids=[n.id for n in notes], texts=texts,
                       version=notes[0].version)
            _fact(store, acks, db, "counter", "crash", "crash test", "counter", str(i))
        i += 1


def notes_until_stopped(args: dict) -> None:
    """One note at a time into args["ns"] (each its own version) until the stop file exists."""
    stores = _open(args)
    acks = Acks(args["ack"])
    _barrier(args)
    i = 0
    while not Path(args["stop"]).exists():
        for db, store in enumerate(stores):
            note = store.add_note(f"concurrent note {i}", namespace=args["ns"])
            acks.write(db=db, kind="note", id=note.id, version=note.version)
        i += 1
        time.sleep(0.01)
    for store in stores:
        store.close()


def run(mode: str, args: dict) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        {"mixed": mixed, "batches": batches, "notes_until_stopped": notes_until_stopped}[mode](args)
    except BaseException:  # noqa: BLE001 (report any failure to the parent, then exit non-zero)
        import traceback

        Path(args["ack"] + ".err").write_text(traceback.format_exc())
        raise SystemExit(1) from None
