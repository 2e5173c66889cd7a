"""A small mutation check for the pure rule and metric modules (no dependencies beyond the test suite).

Each mutant changes one thing in one module (a comparison, a boolean operator, an arithmetic operator,
a constant, a return value, or drops one statement), then runs the module's fast test files. A mutant
the tests do not notice "survives": either a test is missing or the change is equivalent.

Mutants are written into a temporary copy of the repository, never into this checkout, so an
interrupted run (Ctrl-C, a kill) leaves the source untouched. The parent process imports the heavy
third-party libraries once and forks one child per mutant, which imports the mutated module fresh.
Over 300 lines on purpose: one standalone script (mutant kinds, the sandbox copy, the forking runner)
that must run without the package's own test helpers.

    python scripts/mutate.py                      # every module below
    python scripts/mutate.py memory_store/rules.py --json
    python scripts/mutate.py --list               # the mutants, without running them
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module -> the fast, pure test files that exercise it (keep these small: every mutant runs them)
TARGETS: dict[str, list[str]] = {
    "memory_store/rules.py": ["tests/memory/test_rules.py", "tests/memory/test_conflict_rules.py"],
    "memory_store/audit.py": ["tests/memory/test_rules.py", "tests/memory/test_audit_rules.py"],
    "agentcl/consolidation/gate.py": ["tests/consolidation/test_metrics_gate.py"],
    "agentcl/consolidation/metrics.py": ["tests/consolidation/test_metrics_gate.py"],
    "agentcl/consolidation/replay.py": ["tests/consolidation/test_replay.py"],
}
PRELOAD = ("numpy", "torch", "safetensors.numpy", "sqlalchemy", "alembic", "faiss", "pytest", "typer", "hypothesis")
COMPARE_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
              ast.Mod: ast.FloorDiv, ast.MatMult: ast.Mult}


@dataclass
class Mutant:
    module: str
    index: int
    line: int
    what: str
    source: str = ""
    outcome: str = ""  # killed | survived | timeout | error
    seconds: float = 0.0


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                ids.add(id(body[0]))
                ids.add(id(body[0].value))
    return ids


def _in_function(tree: ast.AST) -> set[int]:
    """ids of nodes inside a function body: module-level constants and class fields are data, not logic,
    except the ones listed in a module's tunable constants (mutated as constants below)."""
    inside = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for stmt in fn.body:
                inside.update(id(n) for n in ast.walk(stmt))
    return inside


def _sites(tree: ast.AST) -> list[tuple[ast.AST, str, object]]:
    """Every (node, kind, detail) that can be mutated, in a stable order."""
    skip, inside = _docstring_ids(tree), _in_function(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Compare) and id(node) in inside:
            for k, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAP:
                    out.append((node, "compare", k))
        elif isinstance(node, ast.BoolOp) and id(node) in inside:
            out.append((node, "boolop", None))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and id(node) in inside:
            out.append((node, "not", None))
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAP and id(node) in inside:
            out.append((node, "binop", None))
        elif isinstance(node, ast.AugAssign) and type(node.op) in BINOP_SWAP and id(node) in inside:
            out.append((node, "augop", None))
        elif isinstance(node, ast.Constant) and (id(node) in inside or _module_constant(tree, node)):
            if isinstance(node.value, bool) or (isinstance(node.value, int | float) and not isinstance(node.value, bool)):
                out.append((node, "constant", None))
        elif isinstance(node, ast.Return) and node.value is not None and id(node) in inside:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                out.append((node, "return", None))
        if isinstance(node, ast.stmt) and id(node) in inside and not isinstance(node, ast.Return | ast.Pass) \
                and not _is_sole_statement(tree, node):
            out.append((node, "drop", None))
    return out


def _module_constant(tree: ast.Module, const: ast.Constant) -> bool:
    """Numbers assigned to an UPPER_CASE name at module level (thresholds like LOW_CONFIDENCE)."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in stmt.targets):
            if any(n is const for n in ast.walk(stmt.value)):
                return True
    return False


def _is_sole_statement(tree: ast.AST, stmt: ast.stmt) -> bool:
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and stmt in block:
                return len(block) == 1
    return False


def _mutate(node: ast.AST, kind: str, detail) -> str:
    """Apply one mutation in place; returns a one-line description."""
    if kind == "compare":
        old = node.ops[detail]
        node.ops[detail] = COMPARE_SWAP[type(old)]()
        return f"{type(old).__name__} -> {type(node.ops[detail]).__name__}"
    if kind == "boolop":
        old = node.op
        node.op = ast.Or() if isinstance(old, ast.And) else ast.And()
        return f"{type(old).__name__} -> {type(node.op).__name__}"
    if kind == "not":
        return "drop `not`"
    if kind in ("binop", "augop"):
        old = node.op
        node.op = BINOP_SWAP[type(old)]()
        return f"{type(old).__name__} -> {type(node.op).__name__}"
    if kind == "constant":
        old = node.value
        if isinstance(old, bool):
            node.value = not old
        elif old == 0:
            node.value = type(old)(1)
        elif old == 1:
            node.value = type(old)(0)
        else:
            node.value = old + 1 if isinstance(old, int) else old * 2
        return f"constant {old!r} -> {node.value!r}"
    if kind == "return":
        node.value = ast.Constant(None)
        return "return None"
    if kind == "drop":
        return f"drop `{ast.unparse(node).splitlines()[0][:60]}`"
    raise ValueError(kind)


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, kind: str):
        self.target, self.kind = target, kind

    def visit(self, node):
        if node is self.target:
            if self.kind == "not":
                return node.operand
            if self.kind == "drop":
                return ast.copy_location(ast.Pass(), node)
        return super().visit(node)


def mutants(module: str) -> list[Mutant]:
    text = (ROOT / module).read_text()
    count = len(_sites(ast.parse(text)))
    out = []
    for i in range(count):
        tree = ast.parse(text)
        node, kind, detail = _sites(tree)[i]
        line = getattr(node, "lineno", 0)
        what = _mutate(node, kind, detail)
        tree = ast.fix_missing_locations(_Replace(node, kind).visit(tree))
        out.append(Mutant(module, i, line, what, ast.unparse(tree)))
    return out


def _copy_repo(dest: Path) -> None:
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", ".ruff_cache", ".pytest_cache", "*.egg-info")
    for entry in ROOT.iterdir():
        if entry.name in (".git", ".venv"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(entry, dest / entry.name)


def _run_tests(copy_root: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    """Run pytest on `tests` in a forked child (fresh imports of the project); returns (outcome, seconds)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        code = 3
        try:
            os.chdir(copy_root)
            sys.path.insert(0, str(copy_root))
            sys.dont_write_bytecode = True
            import pytest

            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                                        "-o", "addopts=", *tests]))
        finally:
            os._exit(code)
    deadline = start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", time.perf_counter() - start
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if code == 0:
        return "survived", seconds
    if code in (1, 2):  # 2: the mutant broke the tests' collection (the clean run collected them)
        return "killed", seconds
    return f"error (pytest exit {code})", seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: {', '.join(TARGETS)}")
    parser.add_argument("--list", action="store_true", help="print the mutants without running them")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--lines", default="", help="only mutants on these lines, e.g. 93,156 (one module)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per mutant (default: 5x the clean run + 10)")
    args = parser.parse_args(argv)
    modules = args.modules or list(TARGETS)
    for m in modules:
        if m not in TARGETS:
            parser.error(f"no tests mapped for {m}; known: {', '.join(TARGETS)}")
    all_mutants = [mu for m in modules for mu in mutants(m)]
    if args.lines:
        wanted = {int(n) for n in args.lines.split(",")}
        all_mutants = [mu for mu in all_mutants if mu.line in wanted]
    if args.list:
        for mu in all_mutants:
            print(f"{mu.module}:{mu.line}: {mu.what}")
        print(f"{len(all_mutants)} mutants")
        return 0

    for name in PRELOAD:  # imported once here; each child only imports the project itself
        try:
            __import__(name)
        except ImportError:
            pass
    if "torch" in sys.modules:  # forked children on a shared CPU: one intra-op thread each
        sys.modules["torch"].set_num_threads(1)
    results: list[Mutant] = []
    # a kill (SIGTERM) unwinds like Ctrl-C, so the temporary copy is removed; the checkout is never written
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="agentcl-mutate-") as tmp:
        copy_root = Path(tmp)
        _copy_repo(copy_root)
        for module in modules:
            tests = TARGETS[module]
            target = copy_root / module
            original = target.read_text()
            clean, clean_s = _run_tests(copy_root, tests, timeout=600)
            if clean != "survived":
                print(f"{module}: the tests fail without any mutation ({clean}); fix them first", file=sys.stderr)
                return 2
            timeout = args.timeout or 10 * clean_s + 30
            for mu in (m for m in all_mutants if m.module == module):
                target.write_text(mu.source)
                try:
                    mu.outcome, mu.seconds = _run_tests(copy_root, tests, timeout)
                    if mu.outcome == "timeout":  # a busy machine, or a mutant that loops: once more, longer
                        mu.outcome, mu.seconds = _run_tests(copy_root, tests, 3 * timeout)
                finally:
                    target.write_text(original)
                results.append(mu)
                if not args.json and mu.outcome != "killed":
                    print(f"{mu.outcome.upper()}: {mu.module}:{mu.line}: {mu.what}", flush=True)
    killed = sum(1 for m in results if m.outcome in ("killed", "timeout"))
    timeouts = sum(1 for m in results if m.outcome == "timeout")
    per_module = {m: {"total": sum(1 for r in results if r.module == m),
                      "killed": sum(1 for r in results if r.module == m and r.outcome in ("killed", "timeout"))}
                  for m in modules}
    if args.json:
        print(json.dumps({"total": len(results), "killed": killed, "timeouts": timeouts, "modules": per_module,
                          "survivors": [{"module": m.module, "line": m.line, "mutation": m.what, "outcome": m.outcome}
                                        for m in results if m.outcome not in ("killed", "timeout")]}, indent=2))
    else:
        for m, c in per_module.items():
            print(f"{m}: {c['killed']}/{c['total']} killed")
        print(f"total: {killed}/{len(results)} mutants killed ({timeouts} of them by a timeout)")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
