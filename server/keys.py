"""API keys: a name, the namespaces the key may touch, and a SHA-256 of the secret (never the secret).

Kept in AGENTCL_HOME/server/keys.json, written atomically under a file lock; the server re-reads the file
when it changes, so `agentcl serve keys add` takes effect without a restart. A key is 32 random bytes, so a
plain SHA-256 is enough (no password-stretching needed: there is nothing to brute-force)."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from memory_store.errors import InvalidInputError, NotFoundError, shown

ALL_NAMESPACES = "*"
KEY_PREFIX = "acl_"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    namespaces: tuple[str, ...]
    created_at: str = ""

    def allows(self, namespace: str) -> bool:
        return ALL_NAMESPACES in self.namespaces or namespace in self.namespaces

    @property
    def admin(self) -> bool:
        """May run writes that span namespaces (revert)."""
        return ALL_NAMESPACES in self.namespaces

    def public(self) -> dict:
        return {"name": self.name, "namespaces": list(self.namespaces), "created_at": self.created_at}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class KeyFile:
    """The keys of one AGENTCL_HOME."""

    path: Path
    _mtime: float | None = field(default=None, repr=False)
    _keys: list[ApiKey] = field(default_factory=list, repr=False)

    @classmethod
    def of_home(cls, home: Path) -> KeyFile:
        return cls(Path(home) / "server" / "keys.json")

    def keys(self) -> list[ApiKey]:
        """The current keys (re-read when the file changed)."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            self._mtime, self._keys = None, []
            return []
        if mtime != self._mtime:
            self._keys = self._read()
            self._mtime = mtime
        return list(self._keys)

    def _read(self) -> list[ApiKey]:
        """The keys in the file. A damaged file is a DamagedFileError, never "no keys": without keys the
        server would trust every caller, so the server refuses requests (503) until it is fixed."""
        from memory_store.file_reads import read_json, reading

        if self.path.stat().st_size == 0:
            return []
        fix = "restore it from a backup (deleting it removes every API key)"
        data = read_json(self.path, fix=fix)
        with reading(self.path, fix=fix):
            keys = [ApiKey(str(k["name"]), str(k["sha256"]), tuple(map(str, k["namespaces"])),
                           str(k.get("created_at", ""))) for k in data.get("keys", [])]
        return keys

    def verify(self, secret: str) -> ApiKey | None:
        digest = hash_secret(secret)
        found = None
        for key in self.keys():  # compare every key, in constant time each
            if hmac.compare_digest(key.sha256, digest):
                found = key
        return found

    def add(self, name: str, namespaces: list[str]) -> tuple[ApiKey, str]:
        """A new key; returns it and its secret (shown once, never stored)."""
        from memory_store.normalize import clean_namespace

        if not _NAME.match(name or ""):
            raise InvalidInputError(f"bad key name {shown(name)}: use 1-64 letters, digits, '.', '_' or '-'")
        if not namespaces:
            raise InvalidInputError("give at least one --namespace (or '*' for every namespace)")
        cleaned = tuple(dict.fromkeys(ns if ns == ALL_NAMESPACES else clean_namespace(ns) for ns in namespaces))
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(name, hash_secret(secret), cleaned, datetime.now(UTC).isoformat(timespec="seconds"))
        with self._locked():
            keys = self.keys()
            if any(k.name == name for k in keys):
                raise InvalidInputError(f"a key named {name!r} exists; remove it first")
            self._write(keys + [key])
        return key, secret

    def remove(self, name: str) -> None:
        with self._locked():
            keys = self.keys()
            if not any(k.name == name for k in keys):
                raise NotFoundError(f"no key named {shown(name)}")
            self._write([k for k in keys if k.name != name])

    def _locked(self):
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path) + ".lock", timeout=30)

    def _write(self, keys: list[ApiKey]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"keys": [asdict(k) | {"namespaces": list(k.namespaces)} for k in keys]},
                                  indent=2))
        os.chmod(tmp, 0o600)  # hashes only, but nobody else needs to read them
        os.replace(tmp, self.path)
        self._mtime = None
