"""The `agentcl skills` CLI: JSON shapes, bad input -> one line and exit 2 with the registry unchanged."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app

TOOL = '''
from skills import skill

@skill
def greet(name: str) -> str:
    """Greet someone.

    Args:
        name: Who to greet.
    """
    return "hello " + name
'''


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTCL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AGENTCL_DB_URL", raising=False)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, ["--home", str(tmp_path / "home"), "skills", *args])
    return run


def _names(cli):
    out = cli("list", "--json")
    assert out.exit_code == 0, out.output
    return {s["name"]: s["version"] for s in json.loads(out.stdout)}


def test_add_show_test_stats_lifecycle(cli, tmp_path):
    path = tmp_path / "greet.py"
    path.write_text(TOOL)
    out = cli("add", str(path), "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == [{"name": "greet", "version": 1, "action": "inserted", "diff": None}]
    assert "greet" in _names(cli) and "calculate" in _names(cli)
    out = cli("test", "greet", "--args", '{"name": "ann"}', "--task", "say hi to ann", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["result"] == "hello ann"
    shown = json.loads(cli("show", "greet", "--json").stdout)
    assert shown["parameters"]["required"] == ["name"] and shown["learned_examples"][0]["task"] == "say hi to ann"
    stats = json.loads(cli("stats", "greet", "--json").stdout)
    assert stats[0]["calls"] == 1 and stats[0]["successes"] == 1
    assert cli("deprecate", "greet", "--replacement", "calculate", "--json").exit_code == 0
    assert json.loads(cli("show", "greet", "--json").stdout)["replacement"] == "calculate"
    assert cli("disable", "greet").exit_code == 0
    assert cli("test", "greet", "--args", '{"name": "x"}').exit_code == 1  # the call ran and failed
    assert cli("enable", "greet").exit_code == 0
    assert json.loads(cli("remove", "greet", "--json").stdout) == {"removed": "greet"}
    assert "greet" not in _names(cli)


@pytest.mark.parametrize("args", [
    ["test", "calculate", "--args", "{not json"],
    ["test", "calculate", "--args", "[1, 2]"],
    ["test", "calculate", "--args", '{"expr": "1"}'],
    ["show", "no_such_skill"],
    ["deprecate", "calculate", "--replacement", "nothing_here"],
    ["add", "/no/such/path.py"],
    ["remove", "nope"],
])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(cli, args, tmp_path):
    from cli.main import main

    before = _names(cli)
    stats_before = json.loads(cli("stats", "--json").stdout)
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(tmp_path / "home"), "skills", *args])
    assert exc.value.code == 2
    assert _names(cli) == before
    assert json.loads(cli("stats", "--json").stdout) == stats_before


def test_bad_file_message_is_one_line(tmp_path, capsys):
    from cli.main import main

    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('boom at import')\n")
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(tmp_path / "home"), "skills", "add", str(bad)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "does not import" in err and "boom at import" in err and "\n" not in err


def test_search_json(cli):
    out = cli("search", "how many kilometres is 3 miles", "-k", "2", "--json")
    assert out.exit_code == 0, out.output
    hits = json.loads(out.stdout)
    assert len(hits) == 2 and hits[0]["name"] == "convert_units"
    assert set(hits[0]) == {"name", "version", "score", "description", "deprecated", "replacement"}
