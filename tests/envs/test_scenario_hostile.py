"""Hostile scenario files: each is refused in one line (exit 2 on the CLI) before anything runs, and
templates are filled without ever being evaluated."""
from __future__ import annotations

import copy
import json

import pytest

from agentcl.envs.drift import DriftWorld
from agentcl.envs.scenario import default_scenario_path, load_scenario
from agentcl.envs.templates import fill, template_problem
from memory_store.errors import InvalidInputError
from memory_store.normalize import MAX_INPUT_BYTES
from tests.reliability.helpers import assert_clean_error, run_cli

DEFAULT = json.loads(default_scenario_path().read_text())
SMALL = {"name": "s", "entities": [{"name": "Acme", "facts": {"ceo": {"initial": "Ana"}}}],
         "phases": [{"name": "p", "steps": 3}]}


def _refused(tmp_path, content: str | bytes) -> str:
    """The CLI's one line for `agentcl scenario validate FILE` and `agentcl run --scenario FILE`."""
    path = tmp_path / "bad.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    kw = {"db": f"sqlite:///{tmp_path / 'm.db'}", "home": tmp_path}
    line = assert_clean_error(run_cli(["scenario", "validate", str(path)], **kw))
    assert assert_clean_error(run_cli(["run", "--scenario", str(path), "--json"], **kw)) == line
    return line


def _with(**changes) -> str:
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(("content", "expected"), [
    (b"\xff\xfe{}", "not UTF-8"),
    ("[1, 2]", "top level must be a JSON object"),
    ('"scenario"', "top level must be a JSON object"),
    ('{"name": "a", "name": "b", "phases": []}', "duplicate key 'name'"),
    (_with(seed=1).replace('"seed": 1', '"seed": NaN'), "seed must be a finite number"),
    (_with(lookup={"cost": 1}).replace('"cost": 1', '"cost": Infinity'), "lookup.cost must be a finite number"),
    (_with(lookup={"cost": 1}).replace('"cost": 1', '"cost": 1e999'), "lookup.cost must be a finite number, got inf"),
    ('{"a": ' * 5000 + "1" + "}" * 5000, "nested too deeply"),
    ('{"seed": ' + "9" * 5000 + "}", "too many digits"),
])
def test_bad_files_are_refused_in_one_line(tmp_path, content, expected):
    assert expected in _refused(tmp_path, content)


def test_a_huge_or_endless_file_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(MAX_INPUT_BYTES + 10)  # sparse: 16 MiB of NUL bytes without using the disk
    with pytest.raises(InvalidInputError, match="larger than 16 MiB"):
        load_scenario(path)
    with pytest.raises(InvalidInputError, match="larger than 16 MiB"):
        load_scenario("/dev/zero")


@pytest.mark.parametrize(("changes", "expected"), [
    ({"entities": [{"name": "  ", "facts": {"ceo": {"initial": "Ana"}}}]}, "must not be blank"),
    ({"entities": [{"name": "Acme", "facts": {" ": {"initial": "Ana"}}}]}, "must not be blank"),
    ({"entities": [{"name": "Acme", "facts": {"ceo": {"initial": "\t"}}}]}, "must not be blank"),
    ({"entities": [{"name": "Acme", "facts": {"ceo": {"rotation": {"values": ["a", " "], "period": 2}}}}]},
     "must not be blank"),
    ({"name": " "}, "must not be blank"),
    ({"entities": [{"name": "Acme", "facts": {"ceo": {"initial": "Ana"}}},
                   {"name": "acme\u00a0 ", "facts": {"ceo": {"initial": "Bo"}}}]}, "duplicate entity name"),
    ({"entities": [{"name": "Acme", "facts": {"ceo": {"initial": "Ana"}, "CEO ": {"initial": "Bo"}}}]},
     "twins another"),
    ({"entities": [{"name": "Caf\u00e9", "facts": {"ceo": {"initial": "Ana"}}},
                   {"name": "Cafe\u0301", "facts": {"ceo": {"initial": "Bo"}}}]}, "duplicate entity name"),
    ({"questions": {"ceo": "Who runs {subject}?", "Ceo": "Boss of {subject}?"}}, "twins another"),
    ({"phases": [{"name": "p", "steps": 2}, {"name": "P", "steps": 2}]}, "phase name 'P' twins"),
    ({"phases": []}, "phases"),
    ({"phases": [{"name": "p", "steps": 0}]}, "greater than or equal to 1"),
    ({"phases": [{"name": "p", "steps": 10 ** 12}]}, "less than or equal to 100000"),
    ({"phases": [{"name": "p", "steps": 60_000}, {"name": "q", "steps": 60_000}]}, "at most 100000"),
    ({"step_duration": "365000d", "phases": [{"name": "p", "steps": 100}]}, "past the year 9999"),
    ({"entities": [{"name": "T", "facts": {"on-call": {"rotation": {"values": ["a", "b"], "period": 0}}}}]},
     "greater than or equal to 1"),
    ({"entities": [{"name": "T", "facts": {"on-call": {"rotation": {"values": ["a", "b"], "period": -3}}}}]},
     "greater than or equal to 1"),
    ({"tool_task_pool": 10 ** 9}, "less than or equal to 1000"),
    ({"questions": {"ceo": "Who runs {subject.__class__}?"}}, "may use only {subject} and {predicate}"),
    ({"questions": {"ceo": "{subject} {0}"}}, "may use only"),
    ({"questions": {"ceo": "{subject} {predicate!r}"}}, "may use only"),
    ({"questions": {"ceo": "{subject} {predicate:>99999999}"}}, "may use only"),
    ({"questions": {"ceo": "{subject} }"}}, "lone brace"),
    ({"entities": [{"name": "Acme", "facts": {"ceo": {"initial": "A", "question": "{x.__globals__}"}}}]},
     "may use only"),
])
def test_scenarios_that_cannot_run_are_refused(tmp_path, changes, expected):
    line = _refused(tmp_path, _with(**changes))
    assert expected in line and "bad.json" in line


def test_twin_tool_names_and_lookup_twins():
    tool = {"name": "percent_of", "operation": "percent_of",
            "versions": [{"from_step": 0, "params": [{"name": "percent"}, {"name": "value"}]}]}
    twin = {**tool, "name": "Percent_Of"}
    with pytest.raises(InvalidInputError, match="is a duplicate"):
        load_scenario({**SMALL, "tools": [tool, twin]})
    with pytest.raises(InvalidInputError, match="reserved for the lookup tool"):
        load_scenario({**SMALL, "tools": [{**tool, "name": "LOOKUP"}]})
    renamed = {**tool, "versions": [{"from_step": 0, "params": [{"name": "pct", "input": "percent"},
                                                                  {"name": "PCT", "input": "value"}]}]}
    with pytest.raises(InvalidInputError, match="twins another"):
        load_scenario({**SMALL, "tools": [renamed]})


def test_a_phase_that_can_never_ask_is_refused_at_load(tmp_path):
    # Its only tool is deprecated before the phase begins: the run could never get past that step.
    data = copy.deepcopy(DEFAULT)
    data["entities"] = []
    data["tools"] = [{"name": "tz", "operation": "timezone_convert", "deprecated_at": 5,
                      "versions": [{"from_step": 0, "params": [{"name": "time"}, {"name": "from_tz"},
                                                               {"name": "to_tz"}]}]}]
    data["phases"] = [{"name": "early", "steps": 5}, {"name": "late", "steps": 5}]
    assert "phase 'late' has nothing to ask at step 5" in _refused(tmp_path, json.dumps(data))
    data["phases"] = [{"name": "only", "steps": 4}]
    data["tools"][0]["versions"][0]["from_step"] = 2  # the tool appears at step 2: steps 0-1 have nothing
    data["tools"][0]["deprecated_at"] = None
    assert "phase 'only' has nothing to ask at step 0" in _refused(tmp_path, json.dumps(data))


def test_dict_sources_are_checked_too():
    with pytest.raises(InvalidInputError, match="finite number"):
        load_scenario({**SMALL, "lookup": {"cost": float("nan")}})
    with pytest.raises(InvalidInputError, match="not text"):
        load_scenario({**SMALL, "questions": {1: "x {subject}"}})


def test_templates_are_filled_never_evaluated():
    attack = "{subject.__class__.__mro__} {predicate.__globals__} {0} {subject!r:>50} {{subject}}"
    assert fill(attack, subject="Acme", predicate="ceo") == attack.replace("{{subject}}", "{subject}")
    assert fill("Who is the {predicate} of {subject}? {{ok}}", subject="Acme", predicate="ceo") == \
        "Who is the ceo of Acme? {ok}"
    # values are inserted as they are, never filled again
    assert fill("{subject}", subject="{predicate}", predicate="x") == "{predicate}"
    assert template_problem("{subject.__class__}") is not None and template_problem("Q {subject}?") is None
    # an entity name that looks like a field ends up in the question as written
    world = DriftWorld({**SMALL, "entities": [{"name": "{predicate.__class__}", "facts": {"ceo": {
        "initial": "Ana", "question": "Who leads {subject} ({predicate})?"}}}]})
    assert world.reset(0).text == "Who leads {predicate.__class__} (ceo)?"


def test_notices_are_filled_safely():
    data = {**SMALL, "entities": [{"name": "Acme", "facts": {"ceo": {"initial": "Ana", "changes": [
        {"step": 1, "value": "Bo", "notice": "{subject} changed its {predicate} {{today}}"}]}}}]}
    world = DriftWorld(data)
    assert [n.text for n in world.timeline.notices_at(1)] == ["Acme changed its ceo {today}"]
    with pytest.raises(InvalidInputError, match="may use only"):
        DriftWorld({**data, "entities": [{"name": "Acme", "facts": {"ceo": {"initial": "Ana", "changes": [
            {"step": 1, "value": "Bo", "notice": "{subject.__init__.__globals__}"}]}}}]})


def test_a_rotation_ending_past_year_9999_has_no_end_time():
    data = {**SMALL, "step_duration": "365000d", "phases": [{"name": "p", "steps": 2}],
            "entities": [{"name": "T", "facts": {"on-call": {"rotation": {"values": ["a", "b"], "period": 50}}}}]}
    world = DriftWorld(data)
    world.reset(0)
    from agentcl.envs.base import ToolCall

    result = world.execute_tool(ToolCall("lookup", {"subject": "T", "predicate": "on-call"}))
    assert result.ok and result.output["valid_until"] is None and result.output["valid_until_step"] == 50


@pytest.mark.parametrize(("args", "expected"), [
    (["--episodes", "99999999999999999999"], "--episodes"),  # would run (almost) forever
    (["--stale-cost", "inf"], "--stale-cost must be a finite number"),
    (["--lookup-cost", "1e999"], "--lookup-cost must be a finite number"),
])
def test_run_refuses_numbers_that_cannot_finish_or_mean_nothing(tmp_path, args, expected):
    kw = {"db": f"sqlite:///{tmp_path / 'm.db'}", "home": tmp_path}
    assert expected in assert_clean_error(run_cli(["run", "--json", *args], **kw))
    assert not (tmp_path / "runs").exists()
