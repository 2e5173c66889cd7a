"""Every request names its namespace; the API key decides whether it may touch it.

The auth middleware leaves the caller in scope["state"]: the API key, or TRUSTED_LOCAL for a loopback server
with no keys. A request without either is refused here too (fail closed), so a route the middleware did not
guard cannot become open by accident."""
from __future__ import annotations

from urllib.parse import unquote_to_bytes

from fastapi import Path, Request

from memory_store.errors import InvalidInputError
from memory_store.normalize import clean_namespace
from server.errors import Forbidden, Unauthorized

TRUSTED_LOCAL = "trusted_local"
NAMESPACE_HEADER = "x-agentcl-namespace"


def caller_key(scope: dict):
    """The request's API key, or None for a trusted local caller; Unauthorized for anyone else."""
    state = scope.get("state") or {}
    key = state.get("api_key")
    if key is None and not state.get(TRUSTED_LOCAL):
        raise Unauthorized("missing or unknown API key (send 'Authorization: Bearer KEY')")
    return key


def key_of(request: Request):
    return caller_key(request.scope)


def check_namespace(key, namespace: str) -> str:
    """The cleaned namespace, or Forbidden when `key` (None: no keys configured, loopback) may not use it."""
    ns = clean_namespace(namespace)
    if key is not None and not key.allows(ns):
        raise Forbidden(f"API key {key.name!r} may not use namespace {ns!r}")
    return ns


def tenant(request: Request, namespace: str = Path(..., max_length=200,
                                                      description="The namespace (tenant) to act on.")) -> str:
    """FastAPI dependency: the namespace in the path, checked against the request's key."""
    return check_namespace(key_of(request), namespace)


# -- raw request bytes (pure) ----------------------------------------------------------------------
def raw_header(scope: dict, name: bytes) -> bytes | None:
    """The first value of header `name` (lower case) as sent: Starlette would hand it over as latin-1 text."""
    return next((value for key, value in scope.get("headers", ()) if key == name), None)


def header_namespace_value(raw: bytes | None) -> str:
    """The namespace an X-Agentcl-Namespace header names: UTF-8, as a REST path is decoded (so "équipe" is
    one namespace over both), cleaned like every namespace; "default" when absent or empty."""
    if not raw:
        return "default"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("the X-Agentcl-Namespace header is not UTF-8 text") from None
    return clean_namespace(text)


def url_problem(scope: dict) -> str | None:
    """Why the request's path or query does not decode as UTF-8 (None when it does). Starlette would replace
    bad bytes with U+FFFD, so '%FF' and '%FE' would name one and the same namespace."""
    for part, raw in (("path", scope.get("raw_path")), ("query", scope.get("query_string"))):
        if not raw:
            continue
        try:
            unquote_to_bytes(raw.replace(b"+", b" ") if part == "query" else raw).decode("utf-8")
        except UnicodeDecodeError:
            return f"the request {part} is not UTF-8 text after percent-decoding"
    return None
