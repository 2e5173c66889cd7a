"""API keys: a name, the namespaces the key may touch, and a SHA-256 of the secret (never the secret).

Kept in AGENTCL_HOME/server/keys.json, written atomically under a file lock; the server re-reads the file
when it changes, so `agentcl serve keys add` takes effect without a restart. A key is 32 random bytes, so a
plain SHA-256 is enough (no password-stretching needed: there is nothing to brute-force).

A damaged file (not UTF-8, not JSON, the wrong shape, too large, unreadable) is never read as "no keys":
that would open a server to every caller. It raises KeyFileDamaged, which the CLI reports in one line and
the server answers with 503 until the file is fixed."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from memory_store.errors import InvalidInputError, NotFoundError, UserError, shown

ALL_NAMESPACES = "*"
KEY_PREFIX = "acl_"
MAX_KEY_FILE_BYTES = 1024 * 1024  # thousands of keys; a bigger file is not one this code wrote
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class KeyFileDamaged(UserError):
    """keys.json exists but cannot be trusted to say which keys there are."""


def is_loopback(host: str) -> bool:
    """Whether a bind address is loopback only: the one case where a server without keys trusts its callers."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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


def find_key(keys: list[ApiKey], secret: str) -> ApiKey | None:
    """The key whose hash matches `secret`, comparing every key in constant time each."""
    digest = hash_secret(secret)
    found = None
    for key in keys:
        if hmac.compare_digest(key.sha256, digest):
            found = key
    return found


def parse_keys(raw: bytes) -> list[ApiKey]:
    """The keys in the bytes of a keys.json, or KeyFileDamaged saying what is wrong (pure)."""
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise KeyFileDamaged(f"larger than {MAX_KEY_FILE_BYTES} bytes")
    if not raw.strip():
        raise KeyFileDamaged("empty")  # this code writes it whole (atomic replace): empty means truncated
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise KeyFileDamaged(f"not UTF-8 text (byte {exc.start})") from None
    except RecursionError:
        raise KeyFileDamaged("not JSON (nested too deeply)") from None
    except json.JSONDecodeError as exc:
        raise KeyFileDamaged(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise KeyFileDamaged('not an object with a "keys" list')
    keys = [_parse_key(i, entry) for i, entry in enumerate(data["keys"], 1)]
    names = [k.name for k in keys]
    if len(set(names)) != len(names):
        raise KeyFileDamaged("two keys have the same name")
    return keys


def _parse_key(i: int, entry: object) -> ApiKey:
    if not isinstance(entry, dict):
        raise KeyFileDamaged(f"key {i} is not an object")
    name, digest, namespaces = entry.get("name"), entry.get("sha256"), entry.get("namespaces")
    created = entry.get("created_at", "")
    if not isinstance(name, str) or not _NAME.match(name):
        raise KeyFileDamaged(f"key {i} has no valid name")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise KeyFileDamaged(f"key {name!r} has no valid sha256")
    if (not isinstance(namespaces, list) or not namespaces
            or not all(isinstance(ns, str) and ns for ns in namespaces)):
        raise KeyFileDamaged(f"key {name!r} has no valid namespaces list")
    if not isinstance(created, str):
        raise KeyFileDamaged(f"key {name!r} has a created_at that is not text")
    return ApiKey(name, digest, tuple(namespaces), created)


@dataclass
class KeyFile:
    """The keys of one AGENTCL_HOME."""

    path: Path
    _seen: tuple | None = field(default=None, repr=False)  # (inode, size, mtime) of the file last parsed
    _keys: list[ApiKey] = field(default_factory=list, repr=False)

    @classmethod
    def of_home(cls, home: Path) -> KeyFile:
        return cls(Path(home) / "server" / "keys.json")

    def keys(self) -> list[ApiKey]:
        """The current keys (re-read when the file changed); [] only when there is no file at all.
        KeyFileDamaged when the file is there but unreadable or not what this code writes."""
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            self._seen, self._keys = None, []
            return []
        except OSError as exc:  # a directory, no permission...
            self._seen = None
            raise self._damaged(exc.strerror or type(exc).__name__) from None
        with fh:
            st = os.fstat(fh.fileno())  # of the file read, not of whatever the path names a moment later
            seen = (st.st_ino, st.st_size, st.st_mtime_ns)
            if seen != self._seen:
                self._seen = None
                try:
                    self._keys = parse_keys(fh.read(MAX_KEY_FILE_BYTES + 1))
                except KeyFileDamaged as exc:
                    raise self._damaged(str(exc)) from None
                except OSError as exc:
                    raise self._damaged(exc.strerror or type(exc).__name__) from None
                self._seen = seen
        return list(self._keys)

    def _damaged(self, why: str) -> KeyFileDamaged:
        return KeyFileDamaged(f"the API key file {self.path} is damaged ({why}); restore it, or delete it and "
                              f"add the keys again")

    def verify(self, secret: str) -> ApiKey | None:
        return find_key(self.keys(), secret)

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
        self._seen = None
