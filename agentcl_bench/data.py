"""Where benchmark data lives, and what a benchmark needs before it runs: its data files and the
optional packages of the `[bench]` extra (matplotlib for the plots, scikit-learn for the digits data
set), which the runtime does not depend on."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from memory_store.errors import UserError

BENCH_PACKAGES = {"matplotlib": "matplotlib", "sklearn": "scikit-learn"}  # import name -> distribution


def default_data_dir() -> Path:
    """../shared/data relative to the working directory, else beside the repository checkout."""
    here = Path("..") / "shared" / "data"
    if here.exists():
        return here
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def missing_bench_packages() -> list[str]:
    """Distributions of the `[bench]` extra that cannot be imported here (found without importing them)."""
    missing = []
    for module, dist in BENCH_PACKAGES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(dist)
    return missing


def require_bench_packages() -> None:
    missing = missing_bench_packages()
    if missing:
        raise UserError(f"benchmarks need {' and '.join(missing)}, which are not installed: "
                        f'pip install -e ".[bench]"')
