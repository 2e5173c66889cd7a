"""The MCP tools (official `mcp` SDK): memory and skills scoped to one namespace, for a model to call.

Over stdio (`agentcl mcp --namespace NS`) the namespace is fixed by the command line. Over streamable HTTP
(/mcp on `agentcl serve`) it comes from the `X-Agentcl-Namespace` header (default "default") and the API key
in `Authorization` must allow it. A user error becomes a tool error the model can read, never a crash."""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from memory_store.errors import UserError
from server.backend import Backend
from server.errors import Forbidden, Unauthorized
from server.tenancy import NAMESPACE_HEADER, caller_key, check_namespace, header_namespace_value, raw_header

INSTRUCTIONS = (
    "agentcl is a versioned memory for you. Store durable facts as subject/predicate/value (a new value for "
    "the same subject and predicate replaces the old one, which stays in history); store anything else as a "
    "note. Search memory before answering questions about the user or the world you were told about. Facts "
    "have validity windows: recall tells you whether a value is current. Skills are tools you can call.")

Text = Annotated[str, Field(min_length=1, max_length=10_000)]
Name = Annotated[str, Field(min_length=1, max_length=500)]
NamespaceResolver = Callable[[Context | None], str]


def fixed_namespace(namespace: str) -> NamespaceResolver:
    return lambda ctx: namespace


def header_namespace() -> NamespaceResolver:
    """Namespace from the request's X-Agentcl-Namespace header (UTF-8, as over REST), checked against the
    caller the auth middleware left in the request's scope (fail closed: no caller, no namespace)."""
    def resolve(ctx: Context | None) -> str:
        request = getattr(ctx.request_context, "request", None) if ctx else None
        scope = getattr(request, "scope", None)
        if scope is None:
            raise ToolError("this call came without an HTTP request to take its namespace from")
        try:
            key = caller_key(scope)
        except Unauthorized as exc:
            raise ToolError(str(exc)) from None
        return check_namespace(key, header_namespace_value(raw_header(scope, NAMESPACE_HEADER.encode())))
    return resolve


def build_mcp(backend: Backend, namespace_of: NamespaceResolver, *, lifespan=None) -> MCPServer:
    mcp = MCPServer("agentcl", instructions=INSTRUCTIONS, lifespan=lifespan, log_level="WARNING")

    async def call(ctx: Context | None, fn: Callable[..., Any]) -> Any:
        """Run `fn(namespace)` on the backend; user errors and refusals become tool errors."""
        try:
            ns = namespace_of(ctx)
            return await backend.run(fn, ns)
        except ToolError:
            raise
        except (UserError, Forbidden) as exc:
            raise ToolError(str(exc)) from None

    @mcp.tool()
    async def remember_fact(subject: Name, predicate: Name, value: Text, ctx: Context,
                            valid_from: Annotated[str | None, Field(description="ISO 8601 time it became true")] = None,
                            ttl: Annotated[str | None, Field(description="lifetime such as 90s, 15m, 2h, 7d")] = None,
                            confidence: Annotated[float, Field(ge=0, le=1)] = 1.0,
                            source: Annotated[str, Field(min_length=1, max_length=200)] = "agent") -> dict:
        """Remember a fact as subject / predicate / value, e.g. ("acme", "ceo", "Alice Smith"). If the slot
        (subject, predicate) already holds a different value, the new one supersedes it (the old value is kept
        in history). Returns what happened: inserted, validated (already known), superseded, history (older
        than the current value) or conflict, with the fact as stored."""
        return (await call(ctx, lambda ns: backend.store.add_fact(
            subject, predicate, value, namespace=ns, valid_from=valid_from, ttl=ttl, confidence=confidence,
            source=source))).to_dict()

    @mcp.tool()
    async def add_note(text: Annotated[str, Field(min_length=1, max_length=100_000)], ctx: Context,
                       speaker: Annotated[str | None, Field(max_length=500)] = None,
                       ttl: Annotated[str | None, Field(description="lifetime such as 90s, 15m, 2h, 7d")] = None,
                       metadata: dict[str, str] | None = None) -> dict:
        """Store a free-text note (an observation, a message, a reflection) so it can be found later with
        search_memory. Use remember_fact instead for a value that can change (someone's role, a setting)."""
        return (await call(ctx, lambda ns: backend.store.add_note(
            text, namespace=ns, speaker=speaker, ttl=ttl, metadata=metadata))).to_dict()

    @mcp.tool()
    async def search_memory(query: Text, ctx: Context, k: Annotated[int, Field(ge=1, le=50)] = 5,
                            kind: Literal["all", "fact", "note"] = "all") -> list[dict]:
        """Search facts and notes by meaning and keywords; best first. Expired and superseded facts are left
        out. Each result has kind (fact or note), id, text, score and status."""
        return [r.to_dict() for r in await call(ctx, lambda ns: backend.store.search(
            query, k=k, namespace=ns, kind=kind))]

    @mcp.tool()
    async def recall(subject: Name, predicate: Name, ctx: Context) -> dict:
        """The current value of one slot (subject, predicate), with its validity: valid_from, expires_at,
        confidence and source. `found` is false when nothing current is known (it may have expired or been
        forgotten; see history)."""
        fact = await call(ctx, lambda ns: backend.store.current(subject, predicate, namespace=ns))
        return {"found": fact is not None, "fact": fact.to_dict() if fact else None}

    @mcp.tool()
    async def history(subject: Name, predicate: Name, ctx: Context) -> list[dict]:
        """Every value a slot (subject, predicate) has had, oldest first, with each one's status (active,
        superseded, expired, retracted) and validity window."""
        return [f.to_dict() for f in await call(ctx, lambda ns: backend.store.history(subject, predicate,
                                                                                       namespace=ns))]

    @mcp.tool()
    async def forget(fact_id: Annotated[int, Field(ge=1)], ctx: Context,
                     reason: Annotated[str | None, Field(max_length=1000)] = None) -> dict:
        """Retract a fact by its id (from recall, history or search_memory) because it was wrong. It stops
        being returned but stays in history."""
        return (await call(ctx, lambda ns: backend.store.retract(fact_id, namespace=ns, reason=reason))).to_dict()

    @mcp.tool()
    async def audit(ctx: Context) -> dict:
        """A health report of this memory: conflicting values, expired facts still present, near-duplicate
        notes, low-confidence facts, facts at risk of being stale, and what the local model's probes found."""
        from agentcl.json_shapes import audit_json

        return await call(ctx, lambda ns: audit_json(backend.store, ns, backend.home))

    @mcp.tool()
    async def search_skills(task: Text, ctx: Context, k: Annotated[int, Field(ge=1, le=20)] = 5) -> list[dict]:
        """Find skills (tools) that fit a task description, best first, with their names and descriptions.
        Call one with call_skill."""
        return [h.to_dict() for h in await call(ctx, lambda ns: backend.skills(ns).search(task, k))]

    @mcp.tool()
    async def call_skill(name: Name, ctx: Context, args: dict[str, Any] | None = None,
                         task: Annotated[str | None, Field(max_length=10_000)] = None) -> dict:
        """Call a skill by name with its arguments (a JSON object matching its parameters; see search_skills).
        Returns ok, result, and on failure an error with a kind and message (for example a renamed argument
        and what it is called now). Give `task` (what you were trying to do) so a success teaches search."""
        outcome = await call(ctx, lambda ns: backend.skills(ns).call(name, args or {}, task=task))
        return outcome.to_dict()

    return mcp
