"""Reading and writing text files confined to the agent's workspace directory.

Paths are relative to the workspace; the real path (symlinks resolved) must stay inside it, so
`../x`, absolute paths and symlinks pointing out are all refused."""
from __future__ import annotations

import os
from pathlib import Path

from ..context import SkillContext
from ..decorator import skill

MAX_READ_CHARS = 50_000
MAX_WRITE_CHARS = 1_000_000


def confine(workspace: Path, relative: str) -> Path:
    """The real path of `relative` inside `workspace`; PermissionError when it would escape."""
    if not relative or "\x00" in relative:
        raise ValueError("empty or invalid path")
    if Path(relative).is_absolute():
        raise PermissionError(f"absolute paths are not allowed: {relative}")
    root = os.path.realpath(workspace)
    real = os.path.realpath(os.path.join(root, relative))
    if os.path.commonpath([root, real]) != root:
        raise PermissionError(f"path escapes the workspace: {relative}")
    return Path(real)


@skill(tags=["files"], examples=["Read the notes.txt file in my workspace"])
def read_file(path: str, context: SkillContext, max_chars: int = MAX_READ_CHARS) -> str:
    """Read a text file from the workspace directory.

    Args:
        path: The file's path relative to the workspace.
        max_chars: Return at most this many characters.
    """
    target = confine(context.workspace_dir(), path)
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as handle:
        return handle.read(max(0, min(int(max_chars), MAX_READ_CHARS)))


@skill(tags=["files"], examples=["Save this summary to report.md in the workspace"])
def write_file(path: str, content: str, context: SkillContext, append: bool = False) -> dict:
    """Write (or append) text to a file in the workspace directory, creating folders as needed.

    Args:
        path: The file's path relative to the workspace.
        content: The text to write.
        append: Append to the file instead of replacing it.
    """
    if len(content) > MAX_WRITE_CHARS:
        raise ValueError(f"content longer than {MAX_WRITE_CHARS} characters")
    root = context.workspace_dir()
    target = confine(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    confine(root, os.path.relpath(target, root))  # a folder swapped for a symlink meanwhile is caught here
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    return {"path": str(target.relative_to(root)), "chars": len(content), "appended": bool(append)}
