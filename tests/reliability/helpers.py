"""Shared by the reliability, property and CLI tests: a fingerprint of everything a store holds (to prove
that an error changed nothing) and an in-process run of the real `agentcl` entry point."""
from __future__ import annotations

import hashlib
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from sqlalchemy import select

from memory_store import tables

TABLES = ("facts", "notes", "versions", "predicate_policies", "aliases")


def fingerprint(store, namespace: str | None = None) -> str:
    """A hash of every row of the memory tables (or only one namespace's rows): equal before and after a
    call means the call changed nothing in SQL."""
    digest = hashlib.sha256()
    with store.engine.connect() as conn:
        for name in TABLES:
            table = tables.metadata.tables[name]
            query = select(table).order_by(*table.primary_key.columns)
            if namespace is not None:
                query = query.where(table.c.namespace == namespace)
            for row in conn.execute(query):
                digest.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
            digest.update(b"|")
    return digest.hexdigest()


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run_cli(args: list[str], *, db: str, home) -> CliResult:
    """`agentcl --db DB --home HOME ARGS...` through cli.main:main, the console script's own function.
    Exceptions other than SystemExit propagate: a traceback in a test is a traceback a user would see."""
    from cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(["--db", db, "--home", str(home), *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_clean_error(result: CliResult) -> str:
    """Exit 2, nothing on stdout, exactly one short line on stderr, no traceback."""
    assert result.code == 2, (result.code, result.out[-2000:], result.err[-2000:])
    assert result.out == "", result.out[-2000:]
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err[-2000:]
    assert "Traceback" not in result.err
    assert len(lines[0]) <= 400, f"error line of {len(lines[0])} characters: {lines[0][:200]}..."
    return lines[0]
