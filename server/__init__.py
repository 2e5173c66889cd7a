"""`agentcl serve`: REST (under /v1) and MCP (streamable HTTP at /mcp, or stdio) over the same packages as
the CLI. A thin layer: parse, check the tenant, call memory_store / skills, render the CLI's JSON shapes.
It keeps the embedder and the search caches warm and holds no state that SQL does not."""
