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
    # examples belong to the namespace that learned them
    assert json.loads(cli("show", "greet", "-n", "tenant-b", "--json").stdout)["learned_examples"] == []
    assert cli("test", "greet", "--args", '{"name": "bo"}', "--task", "greet bo", "-n", "tenant-b").exit_code == 0
    assert [e["task"] for e in json.loads(cli("show", "greet", "-n", "tenant-b", "--json").stdout)
            ["learned_examples"]] == ["greet bo"]
    assert cli("deprecate", "greet", "--replacement", "calculate", "--json").exit_code == 0
    assert json.loads(cli("show", "greet", "--json").stdout)["replacement"] == "calculate"
    assert cli("disable", "greet").exit_code == 0
    assert cli("test", "greet", "--args", '{"name": "x"}').exit_code == 1  # the call ran and failed
    assert cli("enable", "greet").exit_code == 0
    assert json.loads(cli("remove", "greet", "--json").stdout) == {"removed": "greet", "origin": f"file:{path.resolve()}",
                                                                   "restorable": False}
    assert "greet" not in _names(cli)


@pytest.mark.parametrize("args", [
    ["test", "calculate", "--args", "{not json"],
    ["test", "calculate", "--args", "[1, 2]"],
    ["test", "calculate", "--args", '{"expr": "1"}'],
    ["test", "calculate", "--args", '{"expression": "1+1", "expression": "2+2"}'],  # which one? refused
    ["test", "calculate", "--args", '{"expression": "1+1", "expression": NaN}'],
    ["test", "calculate", "--args", '{"expression": "\\ud800"}'],  # a lone surrogate cannot be recorded
    ["show", "no_such_skill"],
    ["deprecate", "calculate", "--replacement", "nothing_here"],
    ["add", "/no/such/path.py"],
    ["remove", "nope"],
    ["show", "calculate", "-n", "two words"],
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


def _write_bad_inputs(tmp_path):
    """name -> path of a file `skills add` must refuse."""
    (tmp_path / "dup_dir").mkdir()
    (tmp_path / "dup_dir" / "a.py").write_text(TOOL)
    (tmp_path / "dup_dir" / "b.py").write_text(TOOL)
    (tmp_path / "half_dir").mkdir()
    (tmp_path / "half_dir" / "good.py").write_text(TOOL)  # good, but its neighbour is broken: nothing added
    (tmp_path / "half_dir" / "worse.py").write_text("def broken(:\n")
    files = {
        "dup_dir": tmp_path / "dup_dir",
        "half_dir": tmp_path / "half_dir",
        "builtin_clash": tmp_path / "clash.json",
        "bad_json": tmp_path / "bad.json",
        "bad_schema": tmp_path / "schema.json",
        "secret": tmp_path / "secret.json",
        "positional": tmp_path / "positional.py",
        "txt": tmp_path / "notes.txt",
    }
    files["builtin_clash"].write_text(json.dumps({"name": "calculate", "description": "Not the built-in.",
                                                   "parameters": {"type": "object", "properties": {}}}))
    files["bad_json"].write_text('{"name": "x", ')
    files["bad_schema"].write_text(json.dumps({"name": "x", "parameters": {"type": "object", "properties": {
        "a": {"type": "string"}}, "required": ["b"]}}))
    files["secret"].write_text(json.dumps({"name": "x", "parameters": {"type": "object"},
                                           "http": {"url": "http://h/", "headers": {"Authorization": "Bearer k"}}}))
    files["positional"].write_text("from skills import skill\n@skill\ndef p(a: int, /) -> int:\n    return a\n")
    files["txt"].write_text("hello")
    return files


@pytest.mark.parametrize("case,message", [
    ("dup_dir", "duplicate skill name"), ("half_dir", "does not import"), ("builtin_clash", "duplicate skill name"),
    ("bad_json", "not valid JSON"), ("bad_schema", "unusable schema"), ("secret", "looks secret"),
    ("positional", "positional-only"), ("txt", ".py or .json"),
])
def test_add_refuses_bad_files_with_one_line(cli, tmp_path, capsys, case, message):
    from cli.main import main

    path = _write_bad_inputs(tmp_path)[case]
    before = cli("list", "--json").stdout
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(tmp_path / "home"), "skills", "add", str(path)])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and err.startswith("error:") and message in err and "\n" not in err
    assert cli("list", "--json").stdout == before


def test_remove_of_a_replacement_and_test_of_a_candidate_composite(cli, tmp_path, capsys):
    from cli.main import main
    from skills import SkillRegistry

    home = tmp_path / "home"
    assert cli("deprecate", "date_diff", "--replacement", "calculate").exit_code == 0
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home), "skills", "remove", "calculate"])
    assert exc.value.code == 2 and "date_diff is deprecated in favour of it" in capsys.readouterr().err
    with SkillRegistry.open(home=home, entry_points=False) as reg:
        reg.propose_composite("km_to_m", "Kilometres to metres.", [{"skill": "convert_units", "args": {
            "value": "{{inputs.km}}", "from_unit": "km", "to_unit": "m"}}],
            {"type": "object", "properties": {"km": {"type": "number"}}, "required": ["km"]})
    assert json.loads(cli("show", "km_to_m", "--json").stdout)["status"] == "candidate"
    out = cli("test", "km_to_m", "--args", '{"km": 2}', "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["admitted"] is True and json.loads(out.stdout)["result"] == 2000
    assert json.loads(cli("show", "km_to_m", "--json").stdout)["status"] == "active"
