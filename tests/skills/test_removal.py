"""Removing a discovered skill sticks (issue 15, item 13): built-ins and plug-ins are found again on every
open, so a removal is kept as a tombstone in SQL (SQLite and PostgreSQL); `skills restore` undoes it,
and adding the plug-in's file after removing the plug-in's skill works instead of sending the user
back to "remove it first"."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from memory_store.errors import InvalidInputError, NotFoundError
from skills import SkillRegistry

PLUGIN = '''
from skills import skill

@skill
def word_count(text: str) -> int:
    """Count the words of a text.

    Args:
        text: The text.
    """
    return len(text.split())
'''


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """A fake installed distribution with an agentcl.skills entry point, on this process's sys.path."""
    pkg = tmp_path / "site" / "wc_skillpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PLUGIN)
    dist = tmp_path / "site" / "wc_skillpkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wc-skillpkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[agentcl.skills]\nword_count = wc_skillpkg:word_count\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return pkg / "__init__.py"


def _open(url, tmp_path, embedder):
    return SkillRegistry.open(url, home=tmp_path / "home", embedder=embedder, builtins=True, entry_points=True)


def test_removed_builtin_and_plugin_skills_stay_removed_until_restored(db_url, tmp_path, embedder, plugin_site):
    with _open(db_url, tmp_path, embedder) as reg:
        assert reg.get("word_count").origin == "entrypoint:wc-skillpkg"
        reg.remove("word_count")
        reg.remove("calculate")
        reg.disable("convert_units")
    with _open(db_url, tmp_path, embedder) as reg:  # a new command: discovery runs again
        assert reg.find("word_count") is None and reg.find("calculate") is None
        assert not reg.get("convert_units").enabled
        assert [(r["name"], r["origin"]) for r in reg.removed()] == [
            ("calculate", "builtin"), ("word_count", "entrypoint:wc-skillpkg")]
        # The plug-in's file can be added in its place: no "remove it first" once it was removed.
        added = reg.add_path(plugin_site)
        assert [(r.name, r.action) for r in added] == [("word_count", "inserted")]
        assert reg.call("word_count", {"text": "a b c"}).result == 3
        with pytest.raises(InvalidInputError, match="remove that one, then restore word_count"):
            reg.restore("word_count")
        assert reg.removed()[1]["name"] == "word_count"  # the refusal changed nothing
        restored = reg.restore("calculate")
        assert restored.origin == "builtin" and reg.call("calculate", {"expression": "2+3"}).result == 5
        with pytest.raises(NotFoundError):
            reg.restore("calculate")
    with _open(db_url, tmp_path, embedder) as reg:
        assert reg.get("calculate").origin == "builtin"
        assert reg.get("word_count").origin.startswith("file:")  # the file's skill, not the plug-in's
        reg.remove("word_count")
        assert reg.restore("word_count").origin == "entrypoint:wc-skillpkg"


def test_cli_remove_says_it_sticks_and_list_shows_removed_and_disabled(tmp_path, monkeypatch):
    monkeypatch.delenv("AGENTCL_DB_URL", raising=False)
    runner = CliRunner()
    home = ["--home", str(tmp_path / "home")]
    out = runner.invoke(app, [*home, "skills", "remove", "calculate"])
    assert out.exit_code == 0 and "stays removed" in out.stdout and "skills restore calculate" in out.stdout
    runner.invoke(app, [*home, "skills", "disable", "convert_units"])
    listed = {s["name"]: s for s in json.loads(runner.invoke(app, [*home, "skills", "list", "--json"]).stdout)}
    assert "calculate" not in listed and listed["convert_units"]["enabled"] is False
    removed = json.loads(runner.invoke(app, [*home, "skills", "list", "--removed", "--json"]).stdout)
    assert [(r["name"], r["origin"]) for r in removed] == [("calculate", "builtin")]
    out = runner.invoke(app, [*home, "skills", "restore", "calculate", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["origin"] == "builtin"
    assert json.loads(runner.invoke(app, [*home, "skills", "list", "--removed", "--json"]).stdout) == []
