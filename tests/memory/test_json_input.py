"""User JSON: `json_value` (a pure check every JSON entry point goes through) and the import file reader
(bounded lines, regular files only): bad values are one line, nothing is written."""
from __future__ import annotations

import os

import pytest

from memory_store import MemoryStore
from memory_store.errors import InvalidInputError
from memory_store.normalize import MAX_INPUT_BYTES, clean_metadata, json_value, parse_json
from tests.reliability.helpers import assert_clean_error, fingerprint, run_cli


@pytest.mark.parametrize("good", [None, True, 0, -3, 10 ** 40, 1.5, "", "text \u00e9", [], {}, [1, [2, {"a": None}]],
                                  {"a": {"b": [1.0, "x"]}}, (1, 2)])
def test_json_value_returns_good_values_unchanged(good):
    assert json_value(good) is good


@pytest.mark.parametrize(("bad", "expected"), [
    (float("nan"), "value must be a finite number, got nan"),
    ({"a": [1, float("inf")]}, "value.a[1] must be a finite number, got inf"),
    ({"a": -float("inf")}, "value.a must be a finite number"),
    ({1: "x"}, "has a key that is not text"),
    ({"a": {None: 1}}, "value.a has a key that is not text"),
    ("\ud800", "lone surrogate"),
    ({"\udc00": 1}, "a key of value is not valid Unicode"),
    ({"a": object()}, "value.a must be a JSON value, got object"),
    ({"a": {1, 2}}, "must be a JSON value, got set"),
    (b"bytes", "must be a JSON value, got bytes"),
])
def test_json_value_refuses_what_no_backend_stores(bad, expected):
    with pytest.raises(InvalidInputError) as info:
        json_value(bad)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_json_value_bounds_depth_and_size_without_recursing():
    deep: list = []
    for _ in range(10_000):  # deeper than Python's recursion limit: refused, not a RecursionError
        deep = [deep]
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        json_value(deep)
    looped: list = []
    looped.append(looped)
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        json_value(looped)
    with pytest.raises(InvalidInputError, match="too large"):
        json_value(list(range(100)), max_items=50)
    assert json_value([[[1]]], max_depth=3) == [[[1]]]
    with pytest.raises(InvalidInputError, match="more than 2 levels"):
        json_value([[[1]]], max_depth=2)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"x": NaN}', "x must be a finite number"),
    ('{"x": [Infinity]}', "x[0] must be a finite number"),
    ('{"x": -Infinity}', "x must be a finite number"),
    ('{"x": 1e999}', "x must be a finite number, got inf"),
    ('{"x": 1, "x": 2}', "duplicate key 'x'"),
    ('{"a": {"b": 1, "b": 1}}', "duplicate key 'b'"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("1" * 5000, "too many digits"),
    ('"\\ud800"', "lone surrogate"),
])
def test_parse_json_refuses_what_json_loads_lets_through(text, expected):
    with pytest.raises(InvalidInputError) as info:
        parse_json(text, what="input")
    assert str(info.value).startswith("input") and expected in str(info.value)


def test_metadata_goes_through_json_value():
    assert clean_metadata({"a": [1, "b"]}) == {"a": [1, "b"]}
    with pytest.raises(InvalidInputError, match="metadata.a must be a finite number"):
        clean_metadata({"a": float("nan")})
    with pytest.raises(InvalidInputError, match="metadata has a key that is not text"):
        clean_metadata({1: "x"})  # json.dumps would quietly have turned it into "1"
    deep: dict = {}
    for _ in range(100):
        deep = {"d": deep}
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        clean_metadata(deep)


def _import_refused(tmp_path, path) -> str:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return assert_clean_error(run_cli(["memory", "import", str(path)], db=db, home=home))


@pytest.mark.parametrize(("line", "expected"), [
    ('{"type": "fact", "subject": "a", "predicate": "b", "object": "c", "object": "d"}', "duplicate key 'object'"),
    ('{"type": "note", "text": "x", "metadata": {"n": 1e999}}', "line 1: metadata.n must be a finite number"),
    ('{"type": "note", "text": "x", "metadata": ' + '{"a": ' * 100 + "1" + "}" * 101, "nested too deeply"),
])
def test_import_lines_go_through_parse_json(tmp_path, line, expected):
    path = tmp_path / "in.jsonl"
    path.write_text(line + "\n")
    assert expected in _import_refused(tmp_path, path)


def test_import_refuses_devices_pipes_and_endless_lines(tmp_path):
    assert "not a regular file" in _import_refused(tmp_path, "/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # refused before it is read (opening a FIFO for reading blocks until a writer comes: give it one)
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        assert "not a regular file" in _import_refused(tmp_path, fifo)
    finally:
        os.close(fd)
    huge = tmp_path / "huge.jsonl"
    with open(huge, "wb") as fh:
        fh.truncate(MAX_INPUT_BYTES + 10)  # one line of 16 MiB of NUL bytes, sparse on disk
    assert "line 1 is longer than 16 MiB" in _import_refused(tmp_path, huge)


def test_a_fact_with_bad_metadata_writes_nothing(tmp_path, embedder):
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=tmp_path, embedder=embedder)
    try:
        before = fingerprint(store)
        with pytest.raises(InvalidInputError, match="metadata.score must be a finite number"):
            store.add_fact("acme", "ceo", "Ana", metadata={"score": float("inf")})
        assert fingerprint(store) == before
    finally:
        store.close()


@pytest.mark.parametrize(("metadata", "expected"), [
    ({"speaker": "\ud800"}, "metadata filter.speaker is not valid Unicode"),  # was a UnicodeEncodeError
    ({"topic": float("nan")}, "metadata filter.topic must be a finite number"),
    ({"topic": {"\udc00": 1}}, "not valid Unicode"),
])
def test_search_metadata_filters_go_through_json_value(tmp_path, embedder, metadata, expected):
    store = MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=tmp_path, embedder=embedder)
    try:
        store.add_note("hello there", metadata={"topic": "x"})
        with pytest.raises(InvalidInputError) as info:
            store.search("hello", metadata=metadata)
        assert expected in str(info.value)
    finally:
        store.close()
