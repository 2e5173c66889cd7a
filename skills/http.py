"""Executors for tools behind an HTTP API, declared as data so they persist with the skill version.

Secrets never become data: a header such as Authorization must be written as `${ENV_VAR}` (expanded
at call time from the environment), so the registry's database and `skills show` never hold the key."""
from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field

from memory_store.errors import InvalidInputError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_HEADER = re.compile(r"authorization|api[-_]?key|token|secret|password|cookie", re.IGNORECASE)
MAX_ERROR_BODY = 300


class HttpToolError(RuntimeError):
    """The service answered with an error status; the message carries the status and the start of its body."""


def expand_env(text: str) -> str:
    """`${NAME}` -> the environment variable NAME; a missing one is an error at call time."""
    def sub(match: re.Match) -> str:
        value = os.environ.get(match.group(1))
        if value is None:
            raise HttpToolError(f"environment variable {match.group(1)} is not set")
        return value

    return _ENV_REF.sub(sub, text)


@dataclass
class HttpExecutor:
    """GET/DELETE send the arguments as a query string, POST/PUT/PATCH as a JSON body. JSON replies are parsed."""

    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        parsed = urllib.parse.urlparse(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInputError(f"bad HTTP tool url {self.url!r}: need http(s)://host/...")
        if parsed.password and not _ENV_REF.search(parsed.password):
            raise InvalidInputError("HTTP tool url holds a password; write it as ${ENV_VAR} so it is not stored")
        if self.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise InvalidInputError(f"bad HTTP method {self.method!r}")
        for name, value in self.headers.items():
            if _SECRET_HEADER.search(name) and not _ENV_REF.search(value):
                raise InvalidInputError(f"HTTP header {name!r} looks secret; write its value as ${{ENV_VAR}} "
                                        f"(expanded at call time) so the key is never stored")
        if not 0 < self.timeout_s <= 600:
            raise InvalidInputError(f"HTTP timeout_s must be in (0, 600], got {self.timeout_s}")

    @classmethod
    def from_definition(cls, data: dict) -> HttpExecutor:
        if not isinstance(data, dict) or "url" not in data:
            raise InvalidInputError("an 'http' executor needs at least a 'url'")
        headers = data.get("headers") or {}
        if not isinstance(headers, dict):
            raise InvalidInputError("'http.headers' must be an object")
        try:
            timeout = float(data.get("timeout_s", 10.0))
        except (TypeError, ValueError):
            raise InvalidInputError(f"'http.timeout_s' must be a number, got {data.get('timeout_s')!r}") from None
        return cls(url=str(data["url"]), method=str(data.get("method", "POST")),
                   headers={str(k): str(v) for k, v in headers.items()}, timeout_s=timeout)

    def to_definition(self) -> dict:
        return asdict(self)

    def __call__(self, **kwargs):
        url, body = expand_env(self.url), None
        headers = {"Accept": "application/json", **{k: expand_env(v) for k, v in self.headers.items()}}
        if self.method in ("GET", "DELETE"):
            if kwargs:
                query = urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v)
                                                for k, v in kwargs.items()})
                url += ("&" if "?" in url else "?") + query
        else:
            body = json.dumps(kwargs).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=body, method=self.method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return _decode(response)
        except urllib.error.HTTPError as exc:
            # The service's own explanation is what the agent needs to revise its call.
            detail = exc.read(MAX_ERROR_BODY * 4).decode("utf-8", errors="replace")
            detail = " ".join(detail.split())[:MAX_ERROR_BODY]
            raise HttpToolError(f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")) from None


def _decode(response):
    raw = response.read().decode(response.headers.get_content_charset() or "utf-8", errors="replace")
    if "json" in (response.headers.get("Content-Type") or ""):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw
