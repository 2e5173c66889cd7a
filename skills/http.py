"""Executors for tools behind an HTTP API, declared as data so they persist with the skill version."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field

from memory_store.errors import InvalidInputError


@dataclass
class HttpExecutor:
    """GET sends the arguments as a query string, POST/PUT/PATCH as a JSON body. JSON replies are parsed."""

    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        parsed = urllib.parse.urlparse(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInputError(f"bad HTTP tool url {self.url!r}: need http(s)://host/...")
        if self.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise InvalidInputError(f"bad HTTP method {self.method!r}")

    @classmethod
    def from_definition(cls, data: dict) -> HttpExecutor:
        if not isinstance(data, dict) or "url" not in data:
            raise InvalidInputError("an 'http' executor needs at least a 'url'")
        return cls(url=str(data["url"]), method=str(data.get("method", "POST")),
                   headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
                   timeout_s=float(data.get("timeout_s", 10.0)))

    def to_definition(self) -> dict:
        return asdict(self)

    def __call__(self, **kwargs):
        url, body = self.url, None
        headers = {"Accept": "application/json", **self.headers}
        if self.method in ("GET", "DELETE"):
            if kwargs:
                query = urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v)
                                                for k, v in kwargs.items()})
                url += ("&" if "?" in url else "?") + query
        else:
            body = json.dumps(kwargs).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=body, method=self.method, headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            raw = response.read().decode(response.headers.get_content_charset() or "utf-8")
            if "json" in (response.headers.get("Content-Type") or ""):
                return json.loads(raw)
            return raw
