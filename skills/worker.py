"""The skill worker process: imports user skill files and plug-ins and runs their calls, so that code the
registry does not own can be stopped. A thread cannot stop C code that holds the GIL (a catastrophic
regex), a skill that calls os._exit would end the agent, and a file that never finishes importing would
hang `skills add`; in this process the parent kills the worker instead (skills/pool.py).

Protocol: frames of an 8-byte big-endian length and a JSON document (never pickle: a result is data, and
the parent must not run code a skill put into it), requests on stdin, replies on the file descriptor that
was stdout when the worker started (fd 1 is pointed at stderr so that a skill's print() cannot corrupt a
reply). Results that are not JSON travel as JSON with `str()` for what JSON lacks, as the agent reads them."""
from __future__ import annotations

import importlib
import json
import os
import struct
import sys
from pathlib import Path
from typing import Any

HEADER = struct.Struct(">Q")


def read_frame(fd: int) -> Any | None:
    """One message from `fd`; None at end of file."""
    head = _read_exact(fd, HEADER.size)
    if head is None:
        return None
    body = _read_exact(fd, HEADER.unpack(head)[0])
    return None if body is None else json.loads(body)


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def encode(message: Any) -> bytes:
    return json.dumps(message, default=str).encode("ascii")


def write_frame(fd: int, payload: bytes) -> None:
    data = HEADER.pack(len(payload)) + payload
    while data:
        data = data[os.write(fd, data):]


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text.splitlines()[0] if text else ''}"[:500]


class Worker:
    """Loaded skills by source reference ("file:<path>" or "entrypoint:<dist>"), re-loaded when a file changes."""

    def __init__(self) -> None:
        self._loaded: dict[str, tuple[Any, dict]] = {}  # origin -> (stamp, {name: Skill})

    def _sync_path(self, sys_path: list[str] | None) -> None:
        """Import from where the parent imports (a plug-in installed into a folder on its sys.path)."""
        if sys_path and sys_path != sys.path:
            sys.path[:] = sys_path
            importlib.invalidate_caches()

    def load_file(self, path: str) -> list:
        from .loader import load_python_file

        skills = load_python_file(Path(path))
        self._loaded[f"file:{path}"] = (_stamp(path), {s.name: s for s in skills})
        return skills

    def _skills_of(self, origin: str) -> dict:
        stamp = _stamp(origin[5:]) if origin.startswith("file:") else None
        cached = self._loaded.get(origin)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        if origin.startswith("file:"):
            self.load_file(origin[5:])
        elif origin.startswith("entrypoint:"):
            from .loader import entry_point_skills

            found = {f.skill.name: f.skill for f in entry_point_skills() if f.origin == origin}
            self._loaded[origin] = (None, found)
        else:
            raise LookupError(f"no way to load skills from {origin}")
        return self._loaded[origin][1]

    def call(self, request: dict) -> dict:
        from .deadline import result_size

        origin, name = request["origin"], request["name"]
        try:
            found = self._skills_of(origin).get(name)
        except BaseException as exc:  # the file no longer imports: the call is unavailable, not a crash
            return {"error": "unavailable", "message": f"{name}: {origin} does not load: {_first_line(exc)}"}
        if found is None or found.executor is None:
            return {"error": "unavailable", "message": f"{name} is no longer defined in {origin}"}
        if found.fingerprint() != request["fingerprint"]:
            return {"error": "unavailable", "message": f"{name} changed in {origin} since it was registered; "
                                                       f"add it again to register the new version"}
        kwargs = dict(request["kwargs"])
        if found.wants_context:
            kwargs["context"] = _context(request.get("context") or {})
        try:
            result = found.executor(**kwargs)
        except BaseException as exc:  # the skill's failure is data, not the worker's end
            return {"error": "exception", "message": _first_line(exc)}
        size = result_size(result)
        if size > request["max_result_chars"]:
            return {"error": "oversize",
                    "message": f"result is {size} characters, over the limit of {request['max_result_chars']}"}
        return {"result": result}

    def handle(self, request: dict) -> dict:
        self._sync_path(request.get("sys_path"))
        if request["op"] == "call":
            return self.call(request)
        if request["op"] == "load":
            from memory_store.errors import UserError

            try:
                skills = self.load_file(request["path"])
            except UserError as exc:
                return {"error": "invalid", "message": str(exc)}
            # The function stays here (cached for the calls to come); the parent gets the specs.
            return {"skills": [spec_fields(s) for s in skills]}
        if request["op"] == "ping":
            return {"pong": os.getpid()}
        return {"error": "invalid", "message": f"unknown request {request['op']!r}"}


SPEC_FIELDS = ("name", "description", "parameters", "version", "tags", "examples", "kind", "source", "definition",
               "wants_context")


def spec_fields(skill) -> dict:
    """A Skill without its executor, as JSON (Skill(**fields) rebuilds it on the other side)."""
    return {name: getattr(skill, name) for name in SPEC_FIELDS}


def _stamp(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _context(spec: dict):
    """The SkillContext a skill asked for: its namespace and workspace, and the memory store opened here."""
    from .context import SkillContext

    url, home = spec.get("url"), spec.get("home")

    def open_memory():
        from memory_store import MemoryStore

        return MemoryStore.open(url, home=home)

    return SkillContext(namespace=spec.get("namespace", "default"),
                        workspace=Path(spec["workspace"]) if spec.get("workspace") else None,
                        memory_opener=open_memory if url else None)


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the parent dies, so a skill stuck in C code does not outlive it."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> None:
    _die_with_parent()
    replies = os.dup(1)
    os.dup2(2, 1)  # a skill's print() goes to stderr, never into a reply
    sys.stdout = sys.stderr
    worker = Worker()
    write_frame(replies, encode({"ready": os.getpid()}))
    while True:
        request = read_frame(0)
        if request is None:
            return
        reply = worker.handle(request)
        try:
            payload = encode(reply)
        except (TypeError, ValueError, RecursionError) as exc:  # e.g. a result that refers to itself
            payload = encode({"error": "exception", "message": f"result cannot be returned: {_first_line(exc)}"})
        write_frame(replies, payload)


if __name__ == "__main__":
    main()
