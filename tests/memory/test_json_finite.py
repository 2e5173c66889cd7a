"""Hostile-files defect 4: `--json` output is always valid JSON. Python's json writes NaN and Infinity,
which strict parsers refuse; they are printed as null."""
from __future__ import annotations

import json

import numpy as np
import pytest

from cli.main import main


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"invalid JSON constant {name} in output")
    return json.loads(text, parse_constant=refuse)


def _cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    assert exc.value.code == 0, out.err
    return _strict(out.out)


def test_saved_run_with_nan_prints_null(home, capsys):
    # A report whose success rate was 0/0 (json.loads reads NaN back without complaint).
    runs = home / "runs"
    runs.mkdir()
    (runs / "r1.json").write_text('{"run_id": "r1", "namespace": "default", "success_rate": NaN, '
                                  '"stale_answer_rate": Infinity, "seconds": -Infinity, "tasks": 0}')
    shown = _cli(capsys, "runs", "show", "r1", "--json")
    assert shown["success_rate"] is None and shown["stale_answer_rate"] is None and shown["seconds"] is None
    listed = _cli(capsys, "runs", "--json")
    assert listed[0]["run_id"] == "r1" and listed[0]["success_rate"] is None


def test_saved_report_file_stays_valid_json(home):
    from agentcl.agent.saved_runs import save_report

    path = save_report({"run_id": "r2", "namespace": "default", "success_rate": float("nan"),
                        "per_task": [np.float32("inf"), (1.5, float("-inf"))]})
    assert _strict(path.read_text()) == {"run_id": "r2", "namespace": "default", "success_rate": None,
                                         "per_task": [None, [1.5, None]]}


def test_print_json_numpy_and_nested(capsys):
    from cli.render import print_json

    print_json({"a": np.float64("nan"), "b": [np.float32(0.5), np.int64(3)], "c": {float("nan"): 1.0}, "d": "NaN"})
    assert _strict(capsys.readouterr().out) == {"a": None, "b": [0.5, 3], "c": {"nan": 1.0}, "d": "NaN"}
