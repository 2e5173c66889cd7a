"""Where a namespace becomes a file name: one collision-free, path-safe encoding for every folder or
file named after a namespace (checkpoints, consolidation state, lock files).

The encoding is percent-encoding of the UTF-8 bytes with a deliberately small safe set, `[a-z0-9_-]`:
everything else, upper-case letters and `.` included, becomes `%xx` (lower-case hex). It is injective
(two namespaces never share a folder: `tenant/1`, `tenant_1` and `tenant%1` stay apart, `café` written
with one or two code points too), it never yields `.`, `..`, a separator or a leading dot, and it stays
distinct on case-insensitive file systems. It encodes the namespace as SQL stores it
(`normalize.clean_namespace`: NUL removed, surrounding whitespace stripped), so two spellings SQL treats
as one namespace share one folder, and a name SQL refuses (empty, whitespace inside, `.`, `..`, over 200
characters) has no folder either. There are no name variants: what one backend keeps apart from another
lives in a subfolder of the namespace's folder (the LLM backend's checkpoints in `llm/`), never in a
second folder whose name a namespace could take. Names whose encoding would pass a file system's name
limit keep a readable prefix and end in `~` + a SHA-256 of the namespace (`~` is escaped everywhere
else, so the two forms never meet)."""
from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from .errors import InvalidInputError
from .normalize import clean_namespace

log = logging.getLogger("memory_store")
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
_MAX_NAME = 160  # bytes; leaves room for suffixes such as ".consolidate-...lock" under 255
_LEGACY_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def require_path_safe_namespace(namespace: object) -> str:
    """The namespace as SQL stores it (clean_namespace); refuses what cannot be a tenant's own folder."""
    if not isinstance(namespace, str) or namespace.replace("\x00", "").strip() in ("", ".", ".."):
        shown = namespace if not isinstance(namespace, str) else namespace[:60]
        raise InvalidInputError(f"namespace {shown!r} is not allowed (empty, '.' and '..' are reserved)")
    return clean_namespace(namespace)


def _encode(name: str) -> str:
    return "".join(chr(b) if b in _SAFE else f"%{b:02x}" for b in name.encode("utf-8", "surrogatepass"))


def namespace_dirname(namespace: str) -> str:
    """The one file-name form of a namespace: of its cleaned form, the key SQL uses."""
    name = require_path_safe_namespace(namespace)
    encoded = _encode(name)
    if len(encoded) > _MAX_NAME:
        encoded = encoded[:100] + "~" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return encoded


def legacy_dirname(namespace: str) -> str:
    """The name earlier versions used (every character outside [A-Za-z0-9_.-] became `_`): read only to
    move old folders on upgrade."""
    return _LEGACY_UNSAFE.sub("_", namespace) or "default"


def _legacy_is_unambiguous(namespace: str) -> bool:
    """Only one namespace can have written the legacy folder: no `_` (which stood for any unsafe
    character) and no `.llm` ending (earlier versions also wrote `<namespace>.llm` for the LLM backend)."""
    return legacy_dirname(namespace) == namespace and "_" not in namespace and not namespace.endswith(".llm")


def namespace_path(root: str | os.PathLike, namespace: str, *, create: bool = True) -> Path:
    """`root/<namespace_dirname(namespace)>`. A folder an earlier version wrote for this namespace is
    moved there when the old name can only have been this namespace's; an ambiguous one is left alone
    (and never read), with a warning."""
    root = Path(root)
    namespace = require_path_safe_namespace(namespace)
    path = root / namespace_dirname(namespace)
    legacy = root / legacy_dirname(namespace)
    if legacy != path and not path.exists() and legacy.is_dir():
        if _legacy_is_unambiguous(namespace):
            try:
                root.mkdir(parents=True, exist_ok=True)
                os.replace(legacy, path)
                log.info("moved %s to %s (collision-free namespace folders)", legacy, path)
            except OSError as exc:
                log.warning("could not move %s to %s: %s", legacy, path, exc)
        else:
            log.warning("%s was written by an earlier version and may hold several namespaces' data; "
                        "it is no longer used for namespace %r (move it to %s if it is this one's)",
                        legacy, namespace, path)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
