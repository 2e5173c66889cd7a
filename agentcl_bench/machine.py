"""What every benchmark records about where it ran: cores, device, versions, and timing helpers."""
from __future__ import annotations

import os
import platform
import statistics
from datetime import UTC, datetime
from importlib import metadata


def machine_info(device: str | None = None) -> dict:
    import torch

    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "device": device or "cpu",
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "versions": {},
    }
    for package in ("agentcl", "torch", "sentence-transformers", "faiss-cpu", "faiss-gpu-cu12", "SQLAlchemy", "numpy",
                    "mem0ai"):
        try:
            info["versions"][package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return info


def percentile(values: list[float], q: float) -> float:
    """q in [0, 100], linear interpolation; values need not be sorted."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(percentile(ms, 50), 3), "p99_ms": round(percentile(ms, 99), 3),
            "mean_ms": round(statistics.fmean(ms), 3) if ms else None, "n": len(ms)}
