"""Reading the files agentcl keeps under AGENTCL_HOME (state, checkpoints, pins, pointers) so that a
damaged one is a DamagedFileError naming it, never a traceback from deep inside json or safetensors.
Only the reading is guarded: what a caller does with the data afterwards is not."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import DamagedFileError, UserError


def problem_of(exc: BaseException) -> str:
    """A short, one-line account of why a file could not be read."""
    first = (str(exc).strip().splitlines() or [""])[0][:120]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


@contextmanager
def reading(path: str | Path, *, fix: str | None = None) -> Iterator[None]:
    """Any failure inside the block (parsing `path` or building objects from what it held) is a
    DamagedFileError naming `path`. UserErrors (already one line) pass through."""
    try:
        yield
    except UserError:
        raise
    except FileNotFoundError:
        raise _damaged(path, "missing", fix) from None
    except Exception as exc:  # noqa: BLE001 - any way a file can be unreadable: json, safetensors, torch, shapes
        raise _damaged(path, problem_of(exc), fix) from None


def _damaged(path, problem: str, fix: str | None) -> DamagedFileError:
    return DamagedFileError(path, problem) if fix is None else DamagedFileError(path, problem, fix)


def read_json(path: str | Path, *, kind: type = dict, fix: str | None = None) -> Any:
    """The JSON value in `path`, which must be a `kind` (an object by default)."""
    with reading(path, fix=fix):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, kind):
        raise _damaged(path, f"not a JSON {'object' if kind is dict else kind.__name__}", fix)
    return data


def require_file(path: str | Path, *, fix: str | None = None) -> Path:
    """`path`, which must be a file (a checkpoint's weights, its state): DamagedFileError when missing."""
    path = Path(path)
    if not path.is_file():
        raise _damaged(path, "missing" if not path.exists() else "not a file", fix)
    return path


def check_safetensors(path: str | Path, *, fix: str | None = None) -> None:
    """A safetensors file whose header is readable and whose tensors fit in the file, read without
    loading any tensor (cheap: what a command checks before it loads a large model)."""
    from safetensors import safe_open

    require_file(path, fix=fix)
    with reading(path, fix=fix), safe_open(str(path), framework="numpy") as handle:
        for name in handle.keys():
            handle.get_slice(name).get_shape()
