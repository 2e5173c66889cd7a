"""Part of `agentcl bench store`: importing a large conversation file (`memory import`), against raw
encode throughput, and its peak memory at two file sizes (N/2 and N).

Each import runs in its own fresh process (a new home, a new SQLite file), so each peak RSS
(ru_maxrss) is that import's alone: if the import streams, the two peaks are about equal however
large the file; if it held the file, its rows or their vectors, the larger file's peak would be higher.
In each process the same embedder first encodes a sample of the file's notes as the import embeds them
(raw encode, batch 64), then imports the whole file, then encodes the sample again; the import's
notes/s is compared with the mean of the two raw rates (the machine's noise hits both alike).

Target (issue 15): import >= 0.9 x raw encode notes/s; peak RSS that does not grow with the file."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 0.9
RSS_GROWTH_LIMIT = 1.10  # the larger file's peak RSS may exceed the smaller's by at most 10%
RAW_SAMPLE = 2048
DEFAULT_NOTES = 200_000


def write_conversation(path: Path, n: int, *, seed: int = 0) -> int:
    """A conversation file of n messages (ids, two speakers, 50 threads), written line by line."""
    from agentcl_bench.corpus import note_texts

    chunk = 10_000
    with open(path, "w", encoding="utf-8") as fh:
        for start in range(0, n, chunk):
            texts = note_texts(min(chunk, n - start), seed=seed + start)
            for i, text in enumerate(texts, start):
                fh.write(json.dumps({"id": f"m{i}", "speaker": "ann" if i % 2 else "bob", "thread": f"t{i % 50}",
                                     "text": text, "time": "2024-05-01T10:00:00Z"}) + "\n")
    return path.stat().st_size


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _raw_rate(store, path: Path) -> float:
    from itertools import islice

    from memory_store.jsonl_format import iter_records
    from memory_store.note_text import embedding_texts

    items = [ln.item for ln in islice(iter_records(path, "conversation", "bench"), RAW_SAMPLE)]
    texts = embedding_texts(items)
    start = time.perf_counter()
    store.embedder.encode(texts, batch_size=64)
    return len(texts) / (time.perf_counter() - start)


def child(path: str, device: str) -> dict:
    """One import in this (fresh) process: raw encode, import, raw encode again, peak RSS."""
    from agentcl_bench.corpus import note_texts
    from memory_store import MemoryStore
    from memory_store.embedding import get_default_embedder

    embedder = get_default_embedder(device)
    embedder.encode(note_texts(256), batch_size=64)  # warm-up
    with tempfile.TemporaryDirectory(prefix="agentcl-bench-import-") as home:
        store = MemoryStore.open(None, home=home, embedder=embedder)
        try:
            rss_before = _peak_rss_mb()
            raw_before = _raw_rate(store, Path(path))
            start = time.perf_counter()
            report = store.import_jsonl(path, format="conversation", namespace="bench")
            seconds = time.perf_counter() - start
            rss_peak = _peak_rss_mb()
            raw_after = _raw_rate(store, Path(path))
        finally:
            store.close()
    raw = (raw_before + raw_after) / 2
    return {"notes": report["notes"], "seconds": round(seconds, 2), "import_per_s": round(report["notes"] / seconds, 1),
            "raw_encode_per_s": round(raw, 1), "raw_encode_before_after": [round(raw_before, 1), round(raw_after, 1)],
            "ratio": round(report["notes"] / seconds / raw, 3), "peak_rss_mb": round(rss_peak, 1),
            "rss_before_import_mb": round(rss_before, 1), "device": embedder.device}


def measure_import(n: int = DEFAULT_NOTES, *, device: str = "auto", workdir: str | Path | None = None) -> dict:
    """Import files of n/2 and n notes, each in a fresh process; throughput ratio and peak RSS of both."""
    sizes = (n // 2, n)
    runs = []
    with tempfile.TemporaryDirectory(prefix="agentcl-bench-import-", dir=workdir) as tmp:
        for size in sizes:
            path = Path(tmp) / f"conversation-{size}.jsonl"
            file_bytes = write_conversation(path, size)
            proc = subprocess.run([sys.executable, "-m", "agentcl_bench.import_scale", str(path), device],
                                  capture_output=True, text=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
            if proc.returncode != 0:
                raise RuntimeError(f"import of {size} notes failed: {proc.stderr.strip()[-500:]}")
            runs.append({"file_notes": size, "file_mb": round(file_bytes / 2 ** 20, 1),
                         **json.loads(proc.stdout.strip().splitlines()[-1])})
            path.unlink()
    small, big = runs
    growth = big["peak_rss_mb"] / small["peak_rss_mb"]
    return {"runs": runs, "rss_growth": round(growth, 3), "ratio": big["ratio"],
            "ok_ratio": big["ratio"] >= TARGET_RATIO, "ok_rss": growth <= RSS_GROWTH_LIMIT,
            "method": "each file imported with MemoryStore.import_jsonl(format='conversation') in a fresh process "
                      "(SQLite in a new home); raw encode = the same embedder on a sample of the file's notes "
                      f"({RAW_SAMPLE}, as the import embeds them, batch 64), before and after the import"}


def summary_rows(result: dict) -> list[dict]:
    small, big = result["runs"]
    return [
        {"metric": f"import notes/s ({big['file_notes']:,} notes, {big['file_mb']} MB)", "value": big["import_per_s"],
         "target": None, "ok": None},
        {"metric": "raw encode notes/s (same process, batch 64)", "value": big["raw_encode_per_s"], "target": None,
         "ok": None},
        {"metric": "import / raw encode", "value": big["ratio"], "target": f">= {TARGET_RATIO}", "ok": result["ok_ratio"]},
        {"metric": f"peak RSS MB, {small['file_notes']:,} / {big['file_notes']:,} notes",
         "value": f"{small['peak_rss_mb']} / {big['peak_rss_mb']}", "target": f"<= {RSS_GROWTH_LIMIT} x",
         "ok": result["ok_rss"]},
    ]


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
