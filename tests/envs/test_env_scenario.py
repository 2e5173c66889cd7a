"""Scenario files: the packaged default validates; bad files fail in one line naming line and field."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from agentcl.envs.drift import DriftWorld
from agentcl.envs.jsonlocate import format_path, line_of, locate
from agentcl.envs.scenario import default_scenario_path, load_scenario, parse_scenario
from memory_store.errors import InvalidInputError, UserError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = json.loads(default_scenario_path().read_text())


def _error(data, tmp_path: Path) -> str:
    path = tmp_path / "bad.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    with pytest.raises(InvalidInputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_packaged_default_and_examples_validate():
    assert load_scenario().name == "default"
    example = load_scenario(ROOT / "examples" / "my_scenario.json")
    env = DriftWorld(example)
    assert env.reset(0) is not None and env.scenario.horizon == example.horizon


def test_syntax_error_names_line_and_column(tmp_path):
    text = '{\n  "name": "x",\n  "phases": [\n    {"name": "a" "steps": 3}\n  ]\n}\n'
    message = _error(text, tmp_path)
    assert ": line 4 column 18: invalid JSON:" in message


def test_wrong_type_names_line_and_field(tmp_path):
    data = copy.deepcopy(DEFAULT)
    data["entities"][1]["facts"]["ceo"]["changes"][0]["step"] = "soon"
    text = json.dumps(data, indent=2)
    message = _error(text, tmp_path)
    line = _line_of(text, '"soon"')
    assert f"line {line}: entities[1].facts.ceo.changes[0].step: " in message
    assert "valid integer" in message


def test_unknown_field_and_missing_field(tmp_path):
    data = copy.deepcopy(DEFAULT)
    data["tools"][0]["versions"][0]["parms"] = []
    text = json.dumps(data, indent=2)
    message = _error(text, tmp_path)
    line = _line_of(text, '"parms"')
    assert f"line {line}: tools[0].versions[0].parms: unknown field" in message
    data = copy.deepcopy(DEFAULT)
    del data["phases"][2]["steps"]
    message = _error(data, tmp_path)
    assert "phases[2].steps: Field required" in message


def test_reference_errors_point_at_the_field(tmp_path):
    data = copy.deepcopy(DEFAULT)
    data["tools"][1]["replaced_by"] = "teleport"
    text = json.dumps(data, indent=2)
    message = _error(text, tmp_path)
    line = _line_of(text, '"teleport"')
    assert f"line {line}: tools[1].replaced_by: 'teleport' is not a tool" in message
    data = copy.deepcopy(DEFAULT)
    data["questions"]["ceo"] = "Who runs it?"
    assert "questions.ceo: a question template must contain {subject}" in _error(data, tmp_path)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["tools"][0]["versions"][1]["params"][0].update(input="amount"), "must carry each input"),
    (lambda d: d["tools"][0].update(operation="fly"), "unknown operation 'fly'"),
    (lambda d: d["entities"][0]["facts"]["ceo"].update(rotation={"values": ["a", "b"], "period": 2}),
     "exactly one of 'initial'"),
    (lambda d: d["entities"][0]["facts"]["ceo"]["changes"].append({"step": 5, "value": "x"}), "increasing"),
    (lambda d: d.update(step_duration="soon"), "step_duration: bad duration"),
    (lambda d: d["phases"][0].update(fact_share=1.5), "phases[0].fact_share"),
    (lambda d: d["phases"][1].update(operations=["percent_of", "fly"]), "phases[1].operations[1]: no tool"),
    (lambda d: d.update(phases=[]), "phases: List should have at least 1 item"),
    (lambda d: d["entities"][0]["facts"]["ceo"]["changes"][0].update(notice="{who} left"),
     "entities[0].facts.ceo.changes[0].notice: a template may use only"),
])
def test_schema_problems(tmp_path, mutate, expected):
    data = copy.deepcopy(DEFAULT)
    mutate(data)
    assert expected in _error(data, tmp_path)


def test_more_problems_are_counted(tmp_path):
    data = copy.deepcopy(DEFAULT)
    data["phases"][0]["steps"] = "many"
    data["phases"][1]["steps"] = -1
    assert "(and 1 more problem)" in _error(data, tmp_path)


def test_missing_file_and_dict_source(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_scenario(tmp_path / "nope.json")
    assert load_scenario(copy.deepcopy(DEFAULT)).horizon == 300
    with pytest.raises(InvalidInputError, match="<dict>: line 1: name"):
        load_scenario({"phases": [{"name": "a", "steps": 1}], "entities": []})


def test_nothing_to_ask_is_a_user_error():
    data = copy.deepcopy(DEFAULT)
    data["phases"] = [{"name": "tools only", "steps": 5, "fact_share": 0, "operations": ["timezone_convert"]}]
    data["entities"] = []
    with pytest.raises(UserError, match="nothing to ask at step 0"):  # refused when loaded, not mid-run
        DriftWorld(data)


def test_locate_paths_and_lines():
    text = '{\n "a": [1,\n  {"b": "x"}],\n "c": {}\n}'
    pos = locate(text)
    assert line_of(text, pos[("a",)]) == 2 and line_of(text, pos[("a", 1, "b")]) == 3
    assert line_of(text, pos[("c",)]) == 4
    assert format_path(("a", 1, "b")) == "a[1].b"
    assert parse_scenario(json.dumps(DEFAULT)).name == "default"
