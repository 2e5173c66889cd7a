"""Secrets (an OpenAI API key, the password in a database URL) never reach logs, reports, exports, the
store, or the CLI's output, on success or on error. Everything runs for real: the CLI in-process with
every logger at DEBUG, a local OpenAI-compatible HTTP server, SQLite and the PostgreSQL server."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.reliability.helpers import assert_clean_error, run_cli
from tests.support.openai_server import OpenAICompatServer

KEY = "sk-agentcl-SECRET-4f9a2c1e7b3d"
PASSWORD = "pw-SECRET-93b1d7"

SCENARIO = {
    "name": "secrets", "seed": 1, "step_duration": "1d", "questions": {"ceo": "Who runs {subject}?"},
    "entities": [{"name": "Acme", "facts": {"ceo": {"initial": "Alice Park", "changes": [{"step": 3, "value": "Bo Diaz"}]}}}],
    "phases": [{"name": "only", "steps": 6, "fact_share": 1.0}],
}


def leaks(secret: str, *texts: str) -> list[str]:
    """Where the secret (or a telling piece of it) shows up."""
    pieces = {secret, secret[-12:], secret.split("-SECRET-")[-1]}
    return [t[max(0, t.find(p) - 80):t.find(p) + 80] for t in texts for p in pieces if p in t]


def files_text(root: Path) -> str:
    """Every file under root (SQLite database and WAL included), as text."""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)  # every logger: ours, openai's, httpx's, sqlalchemy's
    return caplog


def _all_logs(caplog) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)


def test_api_key_stays_out_of_logs_reports_and_store(tmp_path, home, embedder, monkeypatch, debug_logs):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    db = f"sqlite:///{home / 'memory.db'}"
    with OpenAICompatServer(lambda body: {"content": "Alice Park"}, api_key=KEY) as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        result = run_cli(["run", "--scenario", str(scenario), "--policy", "openai", "--model", "test-model",
                          "--namespace", "secrets", "--json"], db=db, home=home)
        assert result.code == 0, result.err[-2000:]
        assert server.requests, "the agent never called the endpoint"
        export = tmp_path / "export.jsonl"
        assert run_cli(["memory", "export", str(export)], db=db, home=home).code == 0
        log = run_cli(["memory", "log", "--json"], db=db, home=home)
    report = json.loads(result.out)
    assert report["tasks"] == 6
    assert any(r.name.startswith("openai") for r in debug_logs.records)  # the client's own debug log was on
    found = leaks(KEY, result.out, result.err, log.out, export.read_text(), files_text(home), _all_logs(debug_logs))
    assert not found, found


def test_rejected_api_key_error_does_not_echo_it(tmp_path, home, embedder, monkeypatch, debug_logs):
    """The test server, like some real ones, echoes the wrong key in its 401 message."""
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    with OpenAICompatServer(api_key="sk-the-right-one") as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        result = run_cli(["run", "--scenario", str(scenario), "--policy", "openai"], db=f"sqlite:///{home / 'm.db'}",
                         home=home)
    line = assert_clean_error(result)
    assert "401" in line or "API key" in line, line
    assert not leaks(KEY, line, files_text(home), _all_logs(debug_logs))


@pytest.mark.postgres
def test_database_password_stays_out_of_output_logs_and_exports(pg_url, home, tmp_path, embedder, debug_logs):
    """The local server trusts its clients, so a URL with a password works; the password must still
    never be printed, logged or written anywhere."""
    url = pg_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    assert PASSWORD in url
    outputs = []
    for args in (["init", "--json"], ["memory", "add-fact", "acme", "ceo", "Alice", "--json"],
                 ["memory", "add-note", "launch in March", "--json"], ["memory", "log", "--json"],
                 ["memory", "search", "launch", "--json"], ["memory", "audit", "--json"],
                 ["memory", "export", str(tmp_path / "out.jsonl")], ["memory", "facts", "--as-of", "v99"]):
        res = run_cli(args, db=url, home=home)
        assert res.code in (0, 2), res.err
        outputs += [res.out, res.err]
    assert json.loads(outputs[0])["database"].count("***") == 1
    bad = [url.replace("/test?", "/no_such_db_agentcl?"),  # server error
           f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test",  # nothing listening
           f"postgresql+nosuchdriver://postgres:{PASSWORD}@127.0.0.1/test"]  # bad driver
    for bad_url in bad:
        line = assert_clean_error(run_cli(["memory", "facts"], db=bad_url, home=home))
        outputs.append(line)
    found = leaks(PASSWORD, *outputs, (tmp_path / "out.jsonl").read_text(), files_text(home), _all_logs(debug_logs))
    assert not found, found


@pytest.mark.postgres
def test_init_shows_the_database_url_with_only_the_password_masked(pg_url, home):
    """What the product prints: the URL a user gave, the password replaced by ***, nothing else changed
    (so the output still says which server, user, database and schema were used)."""
    assert "@" not in PG_URL or ":" not in PG_URL.split("@")[0].split("//")[-1]  # the tests add the password
    with_password = pg_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    res = run_cli(["init", "--json"], db=with_password, home=home)
    assert res.code == 0, res.err
    shown = json.loads(res.out)["database"]
    assert shown == pg_url.replace("postgres@", "postgres:***@", 1), shown
    res = run_cli(["init", "--json"], db=pg_url, home=home)
    assert res.code == 0 and json.loads(res.out)["database"] == pg_url  # nothing to hide: shown as given
