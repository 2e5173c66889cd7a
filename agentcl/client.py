"""Python clients for `agentcl serve`: `Client` (blocking) and `AsyncClient` (asyncio), both on httpx.

They have the MemoryStore methods an agent uses most, with the same arguments and the same return types
(Fact, Note, SearchResult, WriteResult, VersionRecord), and `client.skills` has SkillRegistry's list / get /
search / call / stats (as the server's JSON dicts). Moving an agent from in-process to a server is one line:

    store = MemoryStore.open()                          # in-process
    store = Client("http://127.0.0.1:8765", api_key=KEY)  # through a server

A 4xx from the server raises the same UserError family the store raises (NotFoundError, InvalidInputError),
with the server's one-line message; `AccessDenied` (a UserError) for 401/403."""
from __future__ import annotations

import json

from agentcl.client_calls import (  # noqa: F401 - the public names live here too
    DEFAULT_TIMEOUT_S,
    DEFAULT_URL,
    AccessDenied,
    Call,
    ServerError,
    _Operations,
    _raise_for,
)


def _tls_options(url: str) -> dict:
    """A plain-HTTP server needs no certificate store: loading it costs a CLI command ~0.1 s."""
    return {"verify": False} if url.startswith("http://") else {}


def _unreachable(url: str, exc: Exception) -> ServerError:
    return ServerError(f"cannot reach the agentcl server at {url}: {exc.__class__.__name__}: {exc}")


# -- the two clients ---------------------------------------------------------------------------------
class Client(_Operations):
    """Blocking client. Use as a context manager, or call close().

    `light=True` talks plain HTTP through the standard library instead of httpx: what the CLI uses, since
    importing httpx is a third of a short command's CPU time. https URLs always go through httpx."""

    def __init__(self, url: str | None = None, *, api_key: str | None = None, namespace: str = "default",
                 timeout: float = DEFAULT_TIMEOUT_S, light: bool = False):
        super().__init__(url, api_key, namespace, timeout)
        self._light = light and self.url.startswith("http://")

    def _client(self):
        if self._http is None:
            if self._light:
                self._http = _StdlibHttp(self.url, self._headers(), self.timeout)
            else:
                import httpx

                self._http = httpx.Client(base_url=self.url, headers=self._headers(), timeout=self.timeout,
                                          **_tls_options(self.url))
        return self._http

    def _do(self, call: Call):
        if self._light:
            try:
                status, text = self._client().request(call)
            except OSError as exc:
                raise _unreachable(self.url, exc) from None
        else:
            import httpx

            try:
                response = self._client().request(call.method, call.path, params=call.query(), json=call.body,
                                                  content=call.content)
            except httpx.HTTPError as exc:
                raise _unreachable(self.url, exc) from None
            status, text = response.status_code, response.text
        if status >= 400:
            _raise_for(status, text)
        return text if call.raw else call.parse(json.loads(text))

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _StdlibHttp:
    """One keep-alive http.client connection."""

    def __init__(self, url: str, headers: dict, timeout: float):
        from http.client import HTTPConnection
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.prefix = parts.path.rstrip("/")
        self.headers = headers
        self.conn = HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)

    def request(self, call: Call) -> tuple[int, str]:
        from urllib.parse import urlencode

        query = call.query()
        path = self.prefix + call.path + (f"?{urlencode(query, doseq=True)}" if query else "")
        headers = dict(self.headers)
        body = call.content
        if call.body is not None:
            body = json.dumps(call.body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(call.method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")

    def close(self) -> None:
        self.conn.close()


class AsyncClient(_Operations):
    """asyncio client: the same methods, awaited. Use `async with`, or await aclose()."""

    def __init__(self, url: str | None = None, *, api_key: str | None = None, namespace: str = "default",
                 timeout: float = DEFAULT_TIMEOUT_S):
        super().__init__(url, api_key, namespace, timeout)

    async def _do(self, call: Call):
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(base_url=self.url, headers=self._headers(), timeout=self.timeout,
                                           **_tls_options(self.url))
        try:
            response = await self._http.request(call.method, call.path, params=call.query(), json=call.body,
                                                content=call.content)
        except httpx.HTTPError as exc:
            raise _unreachable(self.url, exc) from None
        if response.status_code >= 400:
            _raise_for(response.status_code, response.text)
        return response.text if call.raw else call.parse(response.json())

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
