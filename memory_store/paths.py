"""Where a namespace becomes a file name: one collision-free, path-safe encoding for every folder or
file named after a namespace (checkpoints, consolidation state, lock files).

The encoding is percent-encoding of the UTF-8 bytes with a deliberately small safe set, `[a-z0-9_-]`:
everything else, upper-case letters and `.` included, becomes `%xx` (lower-case hex). It is injective
(two namespaces never share a folder: `tenant/1`, `tenant_1` and `tenant%1` stay apart, `café` written
with one or two code points too), it never yields `.`, `..`, a separator or a leading dot, and it stays
distinct on case-insensitive file systems. A *variant* of a namespace (`"<namespace> llm"`: a space,
which no namespace may contain) is written `<encoded>.llm`; since `.` is always escaped, no namespace
encodes to that. Names whose encoding would pass a file system's name limit keep a readable prefix and
end in `~` + a SHA-256 of the namespace (`~` is escaped everywhere else, so the two forms never meet)."""
from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from .errors import InvalidInputError

log = logging.getLogger("memory_store")
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
_MAX_NAME = 160  # bytes; leaves room for suffixes such as ".llm" or ".consolidate-...lock" under 255
_LEGACY_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def require_path_safe_namespace(namespace: str) -> str:
    """Refuse names that cannot be a tenant's own folder under any encoding a user might expect."""
    if not isinstance(namespace, str) or namespace.strip() in ("", ".", ".."):
        raise InvalidInputError(f"namespace {namespace!r} is not allowed (empty, '.' and '..' are reserved)")
    return namespace


def _encode(name: str) -> str:
    return "".join(chr(b) if b in _SAFE else f"%{b:02x}" for b in name.encode("utf-8", "surrogatepass"))


def namespace_dirname(namespace: str) -> str:
    """The one file-name form of a namespace (or of a `"<namespace> <variant>"` key)."""
    base, _, variant = namespace.partition(" ")
    require_path_safe_namespace(base)
    encoded = _encode(base)
    if len(encoded) > _MAX_NAME:
        encoded = encoded[:100] + "~" + hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return encoded + (f".{_encode(variant)}" if variant else "")


def legacy_dirname(namespace: str) -> str:
    """The name earlier versions used (every character outside [A-Za-z0-9_.-] became `_`; a variant was
    appended as `.llm`): read only to move old folders on upgrade."""
    base, _, variant = namespace.partition(" ")
    return (_LEGACY_UNSAFE.sub("_", base) or "default") + (f".{variant}" if variant else "")


def _legacy_is_unambiguous(namespace: str) -> bool:
    """Only one namespace can have written the legacy folder: no `_` (which stood for any unsafe
    character) and, for a plain namespace, no `.llm` ending (the old LLM variant's folder)."""
    base, _, variant = namespace.partition(" ")
    legacy = legacy_dirname(base)
    return legacy == base and "_" not in base and (bool(variant) or not base.endswith(".llm"))


def namespace_path(root: str | os.PathLike, namespace: str, *, create: bool = True) -> Path:
    """`root/<namespace_dirname(namespace)>`. A folder an earlier version wrote for this namespace is
    moved there when the old name can only have been this namespace's; an ambiguous one is left alone
    (and never read), with a warning."""
    root = Path(root)
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
