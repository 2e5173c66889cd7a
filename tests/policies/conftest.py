"""Make `tests.support` importable however pytest is launched (plain `pytest` does not add the repo root)."""
import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
