"""Every shell command and Python snippet in README.md and examples/*/README.md runs as written, in
document order, on a fresh temporary AGENTCL_HOME (one per README).

How the blocks run, to keep this fast (one embedder load for the whole file):
- ```bash lines are split on `&&`; `agentcl ...` runs in this process through cli.main:main (the console
  script's own function) and must exit 0; `python ...` runs as a subprocess; `pip install X` installs X
  with `--no-deps --no-build-isolation --target` into a private directory that is put on the path
  (never into the test's environment); any other line runs under bash.
- ```python blocks are executed in this process.
- A block right after `<!-- readme-test: file NAME -->` is written to NAME first (before any block runs).
- A block right after `<!-- readme-test: skip REASON -->` is illustrative only; the list is checked below
  so that it stays tiny. Commands left out for their run time are in EXCLUDED, each with its reason.
The working directory is a temporary directory holding a link to examples/."""
from __future__ import annotations

import importlib
import io
import os
import re
import shlex
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "README.md", *sorted(ROOT.glob("examples/*/README.md"))]
MARKER = re.compile(r"<!--\s*readme-test:\s*(skip|file)\s+(.+?)\s*-->")
FENCE = re.compile(r"^```(\w*)\s*$")
EXCLUDED = {  # command prefix -> why it is not run here
    "agentcl bench": "benchmarks take minutes to an hour; tests/bench and tests/memory/test_search_benches.py "
                     "run them with small sizes",
    "agentcl consolidate schedule": "runs until stopped (tests/consolidation run it with --max-runs)",
    "agentcl run --policy openai": "needs an OpenAI-compatible endpoint (network)",
    "agentcl consolidate run --backend llm": "trains the real SmolLM2 for minutes on a 2-core CPU; "
                                             "tests/consolidation/test_lm_backend.py runs the same job on a few "
                                             "facts and steps",
    "agentcl run --policy llm": "the local LM decides every step: many minutes on a 2-core CPU; "
                                "tests/policies/test_local_lm_agent.py runs it on a two-step world",
    "agentcl serve$": "runs until stopped (tests/server start the real server on a free port)",
    "agentcl serve --": "runs until stopped (tests/server start the real server on a free port)",
    "agentcl mcp": "serves MCP on stdin/stdout until closed (tests/server/test_mcp.py drives it with the SDK's client)",
    "curl ": "talks to a running `agentcl serve`; tests/server/test_rest.py sends the same requests",
}
MAX_SKIPPED_BLOCKS = 2


@dataclass
class Block:
    lang: str
    text: str
    line: int
    marker: tuple[str, str] | None


def blocks(path: Path) -> list[Block]:
    out, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.search(before)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        out.append(Block(fence.group(1), "\n".join(lines[i + 1:end]) + "\n", i + 1,
                         (marker.group(1), marker.group(2)) if marker else None))
        i = end + 1
    return out


def commands(script: str) -> list[list[str]]:
    """Each shell command of a bash block as its argument list (comments dropped, `&&` split). A line
    with redirections or pipes (not `agentcl`) stays one command: ["bash", "-c", line]."""
    joined = re.sub(r"\\\n", " ", script)
    out = []
    for line in joined.splitlines():
        tokens = shlex.split(line, comments=True)
        if tokens and tokens[0] != "agentcl" and any(op in tokens for op in (">", ">>", "|", "<", ";")):
            out.append(["bash", "-c", line])
            continue
        while tokens:
            cut = tokens.index("&&") if "&&" in tokens else len(tokens)
            out.append(tokens[:cut])
            tokens = tokens[cut + 1:]
    return out


class Runner:
    def __init__(self, work: Path, home: Path):
        self.work, self.home, self.site = work, home, work / ".site"
        self.log: list[tuple[float, str]] = []  # (seconds, command): the slowest are printed

    def env(self) -> dict:
        path = os.pathsep.join([str(self.site), str(ROOT), os.environ.get("PYTHONPATH", "")])
        return {**os.environ, "AGENTCL_HOME": str(self.home), "PYTHONPATH": path}

    def run(self, argv: list[str], where: str) -> None:
        began = time.perf_counter()
        try:
            self._run(argv, where)
        finally:
            self.log.append((round(time.perf_counter() - began, 1), shlex.join(argv)))

    def _run(self, argv: list[str], where: str) -> None:
        text = shlex.join(argv)
        if argv[0] == "agentcl":
            self.agentcl(argv[1:], where)
        elif argv[:2] == ["pip", "install"]:
            targets = [a for a in argv[2:] if not a.startswith("-")]
            self.shell([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                        "--target", str(self.site), *targets], where, text)
            if str(self.site) not in sys.path:
                sys.path.insert(0, str(self.site))
            importlib.invalidate_caches()
        elif argv[0] == "python":
            self.shell([sys.executable, *argv[1:]], where, text)
        elif argv[:2] == ["bash", "-c"]:
            self.shell(argv, where, argv[2])
        else:
            self.shell(["bash", "-c", text], where, text)

    def agentcl(self, args: list[str], where: str) -> None:
        from cli.main import main

        out, err, code = io.StringIO(), io.StringIO(), 0
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(args)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        assert code == 0, f"{where}: `agentcl {shlex.join(args)}` exited {code}: {err.getvalue()[-1500:]}"

    def shell(self, argv: list[str], where: str, text: str) -> None:
        done = subprocess.run(argv, cwd=self.work, env=self.env(), capture_output=True, text=True, timeout=600,
                              check=False)
        assert done.returncode == 0, f"{where}: `{text}` exited {done.returncode}: {done.stderr[-1500:]}"

    def python(self, code: str, where: str) -> None:
        began = time.perf_counter()
        exec(compile(code, where, "exec"), {"__name__": "__readme__"})  # noqa: S102 - the README's own code
        self.log.append((round(time.perf_counter() - began, 1), f"<python block {where}>"))


def excluded(argv: list[str]) -> str | None:
    """Why `argv` is not run here, or None. A prefix ending in `$` must match the whole command."""
    text = " ".join(argv)
    return next((why for prefix, why in EXCLUDED.items()
                 if (text == prefix[:-1] if prefix.endswith("$") else text.startswith(prefix))), None)


@pytest.mark.timeout(1200)  # about 2 minutes on an idle 2-core machine; far more when it is shared
@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_readme_runs_as_written(readme, tmp_path, monkeypatch, embedder):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    monkeypatch.setenv("AGENTCL_HOME", str(home))
    monkeypatch.delenv("AGENTCL_DB_URL", raising=False)
    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "path", list(sys.path))
    from cli.state import STATE

    monkeypatch.setattr(STATE, "db", None)
    monkeypatch.setattr(STATE, "home", None)
    found = blocks(readme)
    for block in found:
        if block.marker and block.marker[0] == "file":
            (work / block.marker[1]).write_text(block.text)
    runner = Runner(work, home)
    ran = 0
    for block in found:
        where = f"{readme.relative_to(ROOT)}:{block.line}"
        if block.marker and block.marker[0] == "skip":
            continue
        if block.lang in ("bash", "sh", "shell"):
            for argv in commands(block.text):
                if argv and not excluded(argv):
                    runner.run(argv, where)
                    ran += 1
        elif block.lang == "python":
            runner.python(block.text, where)
            ran += 1
    print(f"\n{readme.name}: {ran} commands and snippets, slowest:",
          *(f"{t:7.1f} s  {c}" for t, c in sorted(runner.log, reverse=True)[:8]), sep="\n")
    assert ran > 0


def test_skipped_blocks_are_few_and_say_why():
    skipped = [(p.name, b.line, b.marker[1]) for p in READMES for b in blocks(p) if b.marker and b.marker[0] == "skip"]
    assert len(skipped) <= MAX_SKIPPED_BLOCKS, skipped
    assert all(len(reason) > 10 for _, _, reason in skipped)


def test_the_parser_splits_commands_and_drops_comments():
    assert commands('agentcl a "x # y" # note\nagentcl b && agentcl c --k \\\n v\n') == [
        ["agentcl", "a", "x # y"], ["agentcl", "b"], ["agentcl", "c", "--k", "v"]]
