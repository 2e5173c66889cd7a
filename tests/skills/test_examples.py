"""The examples are real: the plug-in package installs with pip and its entry point is discovered;
examples/http_tool.py runs against its local HTTP service."""
from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from skills import SkillRegistry
from skills.loader import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """`pip install` of examples/skill_plugin into a private target dir (offline, no deps), on sys.path."""
    pytest.importorskip("setuptools", reason="building the example plug-in needs setuptools")
    src = tmp_path / "src"
    shutil.copytree(EXAMPLES / "skill_plugin", src)  # the build writes beside the sources: not into the repo
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "--disable-pip-version-check", "-q", "--target", str(site), str(src)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    sys.modules.pop("agentcl_skill_demo", None)


def test_plugin_package_installs_and_its_entry_point_is_discovered(installed_plugin, tmp_path, embedder,
                                                                   monkeypatch):
    dist = metadata.distribution("agentcl-skill-demo")
    assert Path(str(dist.locate_file(""))).resolve() == installed_plugin.resolve()
    assert [ep.value for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP] == ["agentcl_skill_demo:SKILLS"]
    reg = SkillRegistry.in_memory(embedder=embedder, entry_points=True)
    for name in ("word_count", "slugify"):
        assert reg.get(name).origin == "entrypoint:agentcl-skill-demo"
    assert reg.call("slugify", {"title": "Hello, World!"}).result == "hello-world"
    assert reg.call("word_count", {"text": "a b a", "unique": True}).result == 2
    assert reg.search("how many words does this text have", 1)[0].name == "word_count"
    # The CLI opens the registry with plug-ins too.
    monkeypatch.delenv("AGENTCL_DB_URL", raising=False)
    runner = CliRunner()
    home = ["--home", str(tmp_path / "home")]
    listed = {s["name"]: s for s in json.loads(runner.invoke(app, [*home, "skills", "list", "--json"]).stdout)}
    assert listed["slugify"]["origin"] == "entrypoint:agentcl-skill-demo"
    out = runner.invoke(app, [*home, "skills", "test", "slugify", "--args", '{"title": "A B"}', "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["result"] == "a-b"


def test_http_tool_example_runs_against_its_local_service(tmp_path):
    env = {**os.environ, "AGENTCL_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    env.pop("FX_API_KEY", None)
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    done = subprocess.run([sys.executable, str(EXAMPLES / "http_tool.py"), "--db", db], check=False,
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert "'rate': 1.08" in lines["call"] and "'ok': True" in lines["call"]
    assert lines["wrong call"].startswith("invalid_args - unknown from; missing base")
    assert lines["service error"] == 'exception - HttpToolError: HTTP 404 Not Found: {"error": "no rate for EUR/JPY"}'
    assert json.loads(lines["as an OpenAI tool"])["function"]["name"] == "fx_rate"
    # Persisted as data: the registry reopened in this process knows the tool, its stats and example.
    with SkillRegistry.open(db, home=tmp_path / "home", builtins=False, entry_points=False) as reg:
        info = reg.get("fx_rate")
        assert info.kind == "http" and info.current.definition["http"]["headers"] == {"X-Api-Key": "${FX_API_KEY}"}
        assert reg.stats("fx_rate")[0]["failures"] == {"invalid_args": 1, "exception": 1}
        assert reg.examples("fx_rate")[0].task == "How many dollars is one euro?"


def test_plugin_module_can_also_be_added_as_a_file(tmp_path, monkeypatch):
    """`agentcl skills add` of the plug-in's module: functions listed in SKILLS are not duplicates."""
    monkeypatch.delenv("AGENTCL_DB_URL", raising=False)
    runner = CliRunner()
    home = ["--home", str(tmp_path / "home")]
    out = runner.invoke(app, [*home, "skills", "add", str(EXAMPLES / "skill_plugin" / "agentcl_skill_demo" /
                                                         "__init__.py"), "--json"])
    assert out.exit_code == 0, out.output
    assert sorted((r["name"], r["action"]) for r in json.loads(out.stdout)) == [
        ("slugify", "inserted"), ("word_count", "inserted")]
