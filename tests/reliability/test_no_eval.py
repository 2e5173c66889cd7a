"""No code path evaluates text: memories, model outputs and tool results are data, never code.

A static check over every module of the four packages: no eval/exec/compile builtins, no unpickling
(pickle, marshal, shelve, torch.load; checkpoints are safetensors), no yaml.load, no shell=True. The one
place that runs Python is the skill loader, and only files the operator names (`agentcl skills add PATH`)
or installed plug-ins."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["agentcl", "skills", "memory_store", "cli"]
FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill"}
FORBIDDEN_ATTRIBUTES = {("torch", "load"), ("yaml", "load"), ("yaml", "unsafe_load")}
# Module execution is allowed only where the operator names the file or installed the plug-in.
EXEC_MODULE_ALLOWED = {"skills/loader.py"}


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def violations(source: str, relative: str) -> list[str]:
    """Every forbidden construct in one module, as 'file:line what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"{relative}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{where} imports {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
            found.append(f"{where} calls {func.id}()")
        if isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else None
            if (owner, func.attr) in FORBIDDEN_ATTRIBUTES:
                found.append(f"{where} calls {owner}.{func.attr}()")
            if func.attr == "exec_module" and relative not in EXEC_MODULE_ALLOWED:
                found.append(f"{where} executes a module")
        for kw in node.keywords:
            if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                found.append(f"{where} runs a shell")
    return found


def test_the_check_catches_what_it_forbids():
    bad = ("import pickle\neval(x)\nexec(y)\ntorch.load(p)\nyaml.load(s)\nsubprocess.run(c, shell=True)\n"
           "spec.loader.exec_module(m)\n")
    assert len(violations(bad, "agentcl/x.py")) == 7
    assert violations("model.eval()\nre.compile('a')\n", "agentcl/x.py") == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_evaluates_text(package):
    files = [p for p in _sources() if p.relative_to(ROOT).parts[0] == package]
    assert files, f"no sources found under {package}/"
    found = [v for p in files for v in violations(p.read_text(), p.relative_to(ROOT).as_posix())]
    assert found == []
