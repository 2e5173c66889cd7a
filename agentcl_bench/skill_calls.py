"""`agentcl bench skills`: what running skill code in a worker process costs. One skill, registered twice
in one registry: from a file (runs in the warm worker) and through the API (runs in a thread of the
caller, as built-ins do), called alternately in the same run, so the ratio compares like with like.
Also the worker's start (paid once per process) and a timeout that kills it (C code holding the GIL)."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from .machine import latency_summary, machine_info

SOURCE = '''
import re
from skills import skill

@skill
def {name}(x: int) -> int:
    """Double a number.

    Args:
        x: The number.
    """
    return 2 * x

@skill
def {name}_backtrack(n: int) -> bool:
    """Catastrophic backtracking (holds the GIL).

    Args:
        n: How many a's.
    """
    return re.match(r'(a+)+$', 'a' * n + 'b') is not None
'''


def run_skill_calls_bench(*, calls: int = 300) -> dict:
    from skills import SkillRegistry
    from skills.loader import load_python_file
    from skills.pool import WorkerPool

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "double_file.py").write_text(SOURCE.format(name="double_file"))
        (root / "double_api.py").write_text(SOURCE.format(name="double_api"))
        reg = SkillRegistry.open(f"sqlite:///{root / 'bench.db'}", home=root / "home", builtins=False,
                                 entry_points=False)
        try:
            pool = WorkerPool()
            started = time.perf_counter()
            pool.warm()
            start_s = time.perf_counter() - started
            pool.shutdown()
            reg.add_path(root / "double_file.py")
            # The same code imported here and registered through the API: it runs in a thread of this process.
            reg.register_many(load_python_file(root / "double_api.py"), origin="api")
            worker, thread = [], []
            for i in range(calls):
                for name, sink in (("double_file", worker), ("double_api", thread)):
                    t = time.perf_counter()
                    assert reg.call(name, {"x": i}).ok
                    sink.append(time.perf_counter() - t)
            t = time.perf_counter()
            stopped = reg.call("double_file_backtrack", {"n": 34}, timeout_s=1.0)
            timeout_s = time.perf_counter() - t
        finally:
            reg.close()
    w, th = latency_summary(worker), latency_summary(thread)
    ratio = w["p50_ms"] / th["p50_ms"] if th["p50_ms"] else None
    summary = [
        {"metric": "call p50 in the worker (ms)", "value": w["p50_ms"], "target": None, "ok": None},
        {"metric": "call p50 in a thread (ms)", "value": th["p50_ms"], "target": None, "ok": None},
        {"metric": "worker p50 / thread p50", "value": ratio, "target": None, "ok": None},
        {"metric": "worker start (ms, once per process)", "value": round(start_s * 1000, 1), "target": None,
         "ok": None},
        {"metric": "GIL-holding skill stopped at its 1 s timeout (s)", "value": round(timeout_s, 2),
         "target": "< 5", "ok": stopped.error is not None and stopped.error.kind == "timeout" and timeout_s < 5},
    ]
    return {"benchmark": "skills", "calls": calls, "worker": w, "thread": th, "summary": summary,
            "machine": machine_info("cpu")}
