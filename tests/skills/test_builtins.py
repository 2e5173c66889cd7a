"""Built-in skills: calculator without eval, units, dates, workspace confinement (symlinks too)."""
from __future__ import annotations

import os

import pytest

from skills.builtins.calculator import evaluate
from skills.builtins.files import confine
from skills.builtins.units import convert


def test_calculator_is_safe_and_correct():
    assert evaluate("(3 + 4) * 2 ** 3") == 56
    assert evaluate("sqrt(16) + pi - pi") == 4.0
    assert evaluate("2^10") == 1024
    for bad in ("__import__('os').system('true')", "().__class__", "x + 1", "open('f')", "9 ** 9 ** 9", "lambda: 1"):
        with pytest.raises((ValueError, SyntaxError)):
            evaluate(bad)


def test_unit_conversion():
    assert convert(26.2, "miles", "km") == pytest.approx(42.1648128)
    assert convert(100, "F", "C") == pytest.approx(37.7777778)
    assert convert(1, "gib", "mb") == pytest.approx(1073.741824)
    with pytest.raises(ValueError):
        convert(1, "kg", "m")


def test_confine_refuses_escapes(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "secret.txt").write_text("s")
    os.symlink(tmp_path / "secret.txt", ws / "link.txt")
    os.symlink(tmp_path, ws / "updir")
    assert confine(ws, "a/b.txt") == (ws / "a" / "b.txt").resolve()
    for bad in ("../secret.txt", "/etc/passwd", "link.txt", "updir/secret.txt", "a/../../secret.txt"):
        with pytest.raises(PermissionError):
            confine(ws, bad)


def test_builtin_calls_through_registry(registry, tmp_path):
    assert registry.call("calculate", {"expression": "17 * 3"}).result == 51
    assert registry.call("convert_units", {"value": 1, "from_unit": "km", "to_unit": "m"}).result == 1000
    assert registry.call("date_add", {"date": "2024-03-01", "duration": "90d"}).result.startswith("2024-05-30")
    assert registry.call("date_diff", {"start": "2024-01-01", "end": "2024-12-25"}).result == 359
    assert registry.call("weekday", {"date": "2000-01-01"}).result == "Saturday"
    ok = registry.call("write_file", {"path": "notes/a.txt", "content": "hello"})
    assert ok.ok and (tmp_path / "ws" / "notes" / "a.txt").read_text() == "hello"
    assert registry.call("read_file", {"path": "notes/a.txt"}).result == "hello"
    escape = registry.call("write_file", {"path": "../evil.txt", "content": "x"})
    assert not escape.ok and escape.error.kind == "exception" and "escapes" in escape.error.message
    assert not (tmp_path / "evil.txt").exists()
    bad = registry.call("calculate", {"expression": "__import__('os')"})
    assert not bad.ok and bad.error.kind == "exception"
