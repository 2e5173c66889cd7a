"""Pure functions of the agent: learning renames and replacements from errors, argument mapping, UCB."""
from agentcl.agent import bandit
from agentcl.agent.tool_learning import (
    map_arguments,
    pair_renames,
    renames_from_error,
    replacement_from_error,
)


def test_single_rename_is_certain():
    err = {"code": "invalid_arguments", "unknown": ["value"], "missing": ["quantity"], "expected": []}
    assert renames_from_error(err) == {"value": "quantity"}


def test_several_renames_matched_by_words_synonyms_and_descriptions():
    err = {"code": "invalid_arguments", "unknown": ["from_currency", "to_currency"], "missing": ["target", "source"],
           "expected": [{"name": "source", "description": "currency to convert from"},
                        {"name": "target", "description": "currency to convert to"}]}
    assert renames_from_error(err) == {"from_currency": "source", "to_currency": "target"}


def test_other_errors_teach_no_renames():
    assert renames_from_error({"code": "timeout"}) == {}
    assert renames_from_error(None) == {}
    assert replacement_from_error({"code": "deprecated", "replacement": "fx_convert"}) == "fx_convert"
    assert replacement_from_error({"code": "invalid_arguments"}) is None


def test_learned_renames_beat_a_lagging_spec():
    args = map_arguments({"value": 5, "from_unit": "km"}, ["value", "from_unit"], learned={"value": "quantity"})
    assert args == {"quantity": 5, "from_unit": "km"}


def test_unplaced_inputs_go_to_the_best_free_parameter():
    args = map_arguments({"amount": 1, "from_currency": "USD", "to_currency": "EUR"}, ["amount", "source", "target"],
                         learned={})
    assert args == {"amount": 1, "source": "USD", "target": "EUR"}
    assert pair_renames(["start"], ["date"]) == {"start": "date"}


def test_ucb_tries_untried_by_prior_then_exploits():
    arms: dict = {}
    assert bandit.ucb_choice(["a", "b"], arms, prior={"a": 0.1, "b": 0.9}) == "b"
    bandit.update(arms, "b", 0.0)
    assert bandit.ucb_choice(["a", "b"], arms) == "a"
    for _ in range(5):
        bandit.update(arms, "a", 1.0)
    assert bandit.ucb_choice(["a", "b"], arms) == "a"
