"""Every request names its namespace; the API key decides whether it may touch it."""
from __future__ import annotations

from fastapi import Path, Request

from memory_store.normalize import clean_namespace
from server.errors import Forbidden


def key_of(request: Request):
    return request.scope.get("state", {}).get("api_key")


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
