"""Schemas from signatures and docstrings, JSON-spec normalisation, validation and parameter diffs."""
from __future__ import annotations

from typing import Literal

import pytest

from memory_store.errors import InvalidInputError
from skills import skill
from skills.docstrings import parse_docstring
from skills.param_schema import describe_diff, diff_parameters, normalize_schema
from skills.spec import skill_from_spec
from skills.validate import validate_args


def test_google_docstring_and_types():
    @skill(version="1.2", tags=["mail"], examples=["email bob the report"])
    def send_email(to: str, subject: str, cc: list[str] | None = None, urgent: bool = False,
                   mode: Literal["plain", "html"] = "plain") -> dict:
        """Send an email.

        Args:
            to: The recipient address.
            subject: The subject line,
                continued on a second line.
            cc: Copy these addresses.
        Returns:
            The message id.
        """
        return {}

    spec = send_email.__agentcl_skill__
    assert spec.name == "send_email" and spec.description == "Send an email."
    props = spec.parameters["properties"]
    assert props["to"] == {"type": "string", "description": "The recipient address."}
    assert props["subject"]["description"] == "The subject line, continued on a second line."
    assert props["cc"]["type"] == "array" and props["cc"]["items"] == {"type": "string"}
    assert props["urgent"] == {"type": "boolean", "default": False}
    assert props["mode"]["enum"] == ["plain", "html"]
    assert spec.parameters["required"] == ["to", "subject"]
    assert spec.version == "1.2" and spec.tags == ["mail"] and spec.examples == ["email bob the report"]
    assert send_email("a", "b") == {}  # the decorated function stays callable


def test_numpy_and_sphinx_docstrings():
    desc, params = parse_docstring("""Area of a circle.

    Parameters
    ----------
    radius : float
        The radius,
        in metres.
    unit : str
        Output unit.

    Returns
    -------
    float
    """)
    assert desc == "Area of a circle."
    assert params == {"radius": "The radius, in metres.", "unit": "Output unit."}
    desc, params = parse_docstring("Add.\n\n:param int a: first\n:param b: second\n:returns: sum")
    assert desc == "Add." and params == {"a": "first", "b": "second"}


def test_bfcl_dict_dialect_is_accepted():
    spec = {"name": "math.hypot", "description": "Norm.", "parameters": {
        "type": "dict", "properties": {"x": {"type": "integer"}, "y": {"type": "float"},
                                       "pts": {"type": "tuple", "items": {"type": "integer"}}},
        "required": ["x"]}}
    s = skill_from_spec(spec)
    assert s.parameters["type"] == "object"
    assert s.parameters["properties"]["y"]["type"] == "number"
    assert s.parameters["properties"]["pts"]["type"] == "array"
    openai = {"type": "function", "function": spec}
    assert skill_from_spec(openai).name == "math.hypot"


@pytest.mark.parametrize("bad", [
    {"type": "object", "properties": []},
    {"type": "string"},
    {"type": "object", "properties": {"a": {"type": "complex"}}},
    {"type": "object", "properties": {"a": {}}, "required": ["b"]},
    "not a schema",
])
def test_unusable_schemas_are_refused(bad):
    with pytest.raises(InvalidInputError):
        normalize_schema(bad)


def test_validation_names_unknown_missing_expected_and_suggests():
    schema = normalize_schema({"type": "object", "properties": {"recipient": {"type": "string"},
                                                                "body": {"type": "string"},
                                                                "n": {"type": "integer"}},
                               "required": ["recipient", "body"]})
    assert validate_args(schema, {"recipient": "a", "body": "b", "n": 3}) is None
    err = validate_args(schema, {"to": "a", "body": "b"}, renames={"to": "recipient"})
    assert err.kind == "invalid_args"
    assert err.unknown == ["to"] and err.missing == ["recipient"]
    assert err.expected == ["recipient", "body", "n"]
    assert err.did_you_mean == {"to": "recipient"}
    err = validate_args(schema, {"recipient": "a", "body": "b", "n": True})
    assert "n" in err.invalid  # bool is not an integer
    err = validate_args(schema, {"recipent": "a", "body": "b"})
    assert err.did_you_mean == {"recipent": "recipient"}  # typo, no rename history needed
    assert validate_args(schema, ["a"]).kind == "invalid_args"


def test_parameter_diff_pairs_renames():
    old = normalize_schema({"type": "object", "properties": {"to": {"type": "string", "description": "Who gets it"},
                                                             "bcc": {"type": "string"}}, "required": ["to"]})
    new = normalize_schema({"type": "object", "properties": {"recipient": {"type": "string",
                                                                           "description": "Who gets it"},
                                                             "cc": {"type": "array"}},
                            "required": ["recipient", "cc"]})
    diff = diff_parameters(old, new)
    assert diff["renamed"] == {"to": "recipient"}
    assert diff["removed"] == ["bcc"] and diff["added"] == ["cc"]
    assert diff["now_required"] == ["cc"]
    assert "renamed to -> recipient" in describe_diff(diff)


def test_nested_objects_are_validated_with_json_type_names():
    schema = normalize_schema({"type": "dict", "properties": {
        "address": {"type": "dict", "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}},
                    "required": ["city"], "additionalProperties": False}}, "required": ["address"]})
    assert validate_args(schema, {"address": {"city": "Oslo", "zip": 150}}) is None
    assert "address.city" in validate_args(schema, {"address": {"zip": 150}}).invalid["address"]
    assert "address.zip: expected integer, got string" in validate_args(
        schema, {"address": {"city": "Oslo", "zip": "0150"}}).message
    assert "unknown address.street" in validate_args(schema, {"address": {"city": "Oslo", "street": "x"}}).message
    err = validate_args(schema, {"address": ["Oslo"]})
    assert err.invalid == {"address": "address: expected object, got array"}  # JSON names, not Python's


def test_positional_only_parameters_are_an_unusable_schema():
    from skills import skill

    with pytest.raises(InvalidInputError, match="positional-only"):
        @skill
        def bad(a: int, /) -> int:
            """Cannot be called with a JSON object."""
            return a

    @skill
    def fine(b: int = 2, /, c: int = 3) -> int:
        """`b` keeps its default; it is not offered to callers."""
        return b + c

    assert list(fine.__agentcl_skill__.parameters["properties"]) == ["c"]


@pytest.mark.parametrize("value, where", [(float("nan"), "arguments.body"), (float("inf"), "arguments.body"),
                                          ("a\ud800", "arguments.body"), ({1: "x"}, "arguments.body")])
def test_arguments_that_are_not_json_never_reach_a_skill(value, where):
    """One rule for every caller (server, MCP, CLI, agent): what json_value refuses is an invalid_args error."""
    schema = normalize_schema({"type": "object", "properties": {"recipient": {"type": "string"},
                                                                "body": {}}, "required": ["recipient"]})
    err = validate_args(schema, {"recipient": "a", "body": value})
    assert err is not None and err.kind == "invalid_args" and where in err.message, err
