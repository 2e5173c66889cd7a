"""Persistence in SQL (SQLite file and PostgreSQL), files re-imported on demand, HTTP tools as data,
entry-point discovery, memory tools scoped to the agent's namespace."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from memory_store.errors import InvalidInputError
from skills import SkillRegistry

PLUGIN = '''
from skills import skill

@skill(tags=["demo"])
def shout(text: str) -> str:
    """Upper-case a text.

    Args:
        text: What to shout.
    """
    return text.upper() + "{suffix}"
'''


def _roundtrip(url, tmp_path, embedder):
    src = tmp_path / "plug.py"
    src.write_text(PLUGIN.format(suffix="!"))
    reg = SkillRegistry.open(url, home=tmp_path / "home", embedder=embedder, entry_points=False)
    assert [r.action for r in reg.add_path(src)] == ["inserted"]
    assert reg.call("shout", {"text": "hi"}, task="make it loud").result == "HI!"
    reg.add_note("shout", "keeps punctuation")
    reg.close()
    # A new process: the skill's executor is re-imported from its file on first use.
    reg = SkillRegistry.open(url, home=tmp_path / "home", embedder=embedder, entry_points=False)
    info = reg.get("shout")
    assert info.origin == f"file:{src.resolve()}" and info.current.notes == ["keeps punctuation"]
    assert reg.call("shout", {"text": "yo"}).result == "YO!"
    assert reg.stats("shout")[0]["calls"] == 2
    assert reg.examples("shout")[0].task == "make it loud"
    # Built-ins are registered once; reopening does not add versions.
    assert reg.get("calculate").current_version == 1
    # The file changed: re-adding makes version 2 with the source change recorded.
    src.write_text(PLUGIN.format(suffix="!!"))
    result = reg.add_path(src)[0]
    assert result.action == "new_version" and result.version == 2
    assert reg.call("shout", {"text": "a"}).result == "A!!"
    reg.close()


def test_sqlite_file_persistence(tmp_path, embedder):
    _roundtrip(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, embedder)


@pytest.mark.postgres
def test_postgres_persistence(pg_url, tmp_path, embedder):
    _roundtrip(pg_url, tmp_path, embedder)


def test_bad_files_leave_registry_unchanged(registry, tmp_path):
    before = [(s.name, s.current_version) for s in registry.list()]
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_xyz\n")
    with pytest.raises(InvalidInputError, match="does not import"):
        registry.add_path(broken)
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "a.py").write_text(PLUGIN.format(suffix=""))
    (folder / "b.py").write_text(PLUGIN.format(suffix="?"))  # same name twice in one add
    with pytest.raises(InvalidInputError, match="duplicate"):
        registry.add_path(folder)
    clash = tmp_path / "clash.py"
    clash.write_text("from skills import skill\n@skill\ndef calculate(x: int) -> int:\n    '''Not the built-in.'''\n"
                     "    return x\n")
    with pytest.raises(InvalidInputError, match="duplicate"):
        registry.add_path(clash)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text(json.dumps({"name": "t", "parameters": {"type": "object", "properties": {"a": {"type": "blob"}}}}))
    with pytest.raises(InvalidInputError, match="unusable schema"):
        registry.add_path(bad_json)
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(InvalidInputError, match="no skills"):
        registry.add_path(tmp_path / "empty.py")
    assert [(s.name, s.current_version) for s in registry.list()] == before


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        payload = json.dumps({"echo": body, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_http_tool_from_json_file_persists_as_data(tmp_path, embedder):
    server = HTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = {"type": "function", "function": {
            "name": "echo", "description": "Echo the arguments.",
            "parameters": {"type": "object", "properties": {"msg": {"type": "string"}}, "required": ["msg"]}},
            "http": {"url": f"http://127.0.0.1:{server.server_port}/echo", "method": "POST"}}
        path = tmp_path / "echo.json"
        path.write_text(json.dumps(spec))
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
        with SkillRegistry.open(url, home=tmp_path, embedder=embedder, builtins=False, entry_points=False) as reg:
            assert reg.add_path(path)[0].action == "inserted"
        with SkillRegistry.open(url, home=tmp_path, embedder=embedder, builtins=False, entry_points=False) as reg:
            res = reg.call("echo", {"msg": "hi"})
            assert res.ok and res.result == {"echo": {"msg": "hi"}, "path": "/echo"}
            assert reg.get("echo").kind == "http"
    finally:
        server.shutdown()


def test_entry_point_discovery(tmp_path, embedder, monkeypatch):
    """A fake installed distribution on sys.path with an agentcl.skills entry point."""
    pkg = tmp_path / "site" / "demo_skillpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PLUGIN.format(suffix="~"))
    dist = tmp_path / "site" / "demo_skillpkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-skillpkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[agentcl.skills]\nshout = demo_skillpkg:shout\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    reg = SkillRegistry.in_memory(embedder=embedder, entry_points=True)
    info = reg.get("shout")
    assert info.origin == "entrypoint:demo-skillpkg"
    assert reg.call("shout", {"text": "x"}).result == "X~"


def test_memory_tools_are_scoped_to_the_namespace(tmp_path, embedder):
    from memory_store import MemoryStore

    url = f"sqlite:///{tmp_path / 'mem.db'}"
    store = MemoryStore.open(url, home=tmp_path, embedder=embedder)
    alice = SkillRegistry.open(url, home=tmp_path, embedder=embedder, namespace="alice", memory=store,
                               entry_points=False)
    bob = SkillRegistry.open(url, home=tmp_path, embedder=embedder, namespace="bob", memory=store,
                             entry_points=False)
    assert alice.call("remember", {"subject": "office", "predicate": "city", "value": "Berlin"}).ok
    assert store.current("office", "city", namespace="alice").object == "berlin" or \
        store.current("office", "city", namespace="alice").object == "Berlin"
    assert store.current("office", "city", namespace="bob") is None
    found = alice.call("recall", {"query": "where is the office?"}).result
    assert any("berlin" in r["text"].lower() for r in found)
    assert bob.call("recall", {"query": "where is the office?"}).result == []
    assert bob.call("forget", {"subject": "office", "predicate": "city"}).result["forgotten"] is False
    assert alice.call("forget", {"subject": "office", "predicate": "city"}).result["forgotten"] is True
    assert store.current("office", "city", namespace="alice") is None
    store.close()


def test_everything_the_registry_learns_survives_a_reopen(db_url, tmp_path, embedder):
    """Versions with diffs and notes, lifecycle flags, stats by error kind, examples, verified composites:
    the same on SQLite and PostgreSQL (db_url runs this test on both)."""
    from skills import skill

    @skill(name="send_email")
    def email_v1(to: str, body: str) -> str:
        """Send an email.

        Args:
            to: Who receives it.
            body: The text.
        """
        return "sent to " + to

    @skill(name="send_email")
    def email_v2(recipient: str, body: str) -> str:
        """Send an email.

        Args:
            recipient: Who receives it.
            body: The text.
        """
        return "sent to " + recipient

    def open_registry():
        return SkillRegistry.open(db_url, home=tmp_path / "home", embedder=embedder, entry_points=False,
                                  workspace=tmp_path / "ws")

    with open_registry() as reg:
        reg.register(email_v1)
        assert reg.register(email_v2).diff["renamed"] == {"to": "recipient"}
        assert reg.call("send_email", {"to": "a", "body": "b"}).error.did_you_mean == {"to": "recipient"}
        assert reg.call("send_email", {"recipient": "ann", "body": "hi"}, task="mail ann").ok
        reg.call("calculate", {"expression": "1/0"})
        reg.deprecate("date_diff", replacement="calculate")
        reg.disable("weekday")
        with reg.trace() as first:
            reg.call("convert_units", {"value": 5, "from_unit": "km", "to_unit": "m"})
            reg.call("calculate", {"expression": "5000.0 / 2"})
        with reg.trace() as second:
            reg.call("convert_units", {"value": 1, "from_unit": "mi", "to_unit": "m"})
            reg.call("calculate", {"expression": "1609.344 / 2"})
        assert reg.mine_composites([first, second])[0]["verified"]
    with open_registry() as reg:
        info = reg.get("send_email")
        assert [v.version for v in info.versions] == [1, 2]
        assert info.current.diff["text"] == "renamed to -> recipient"
        assert info.current.notes == ["parameter `to` became `recipient` in v2"]
        assert info.current.stats.failures == {"invalid_args": 1} and info.current.stats.successes == 1
        assert info.current.stats.last_used_at is not None
        assert [(e.task, e.args, e.version) for e in reg.examples("send_email")] == [
            ("mail ann", {"recipient": "ann", "body": "hi"}, 2)]
        assert reg.get("calculate").current.stats.failures == {"exception": 1}
        assert reg.get("date_diff").replacement == "calculate" and not reg.get("weekday").enabled
        combo = reg.get("convert_units_then_calculate")
        assert combo.status == "active" and combo.current.definition["steps"][1]["args"] == {
            "expression": "{{steps.0.result}} / 2"}
        assert reg.call(combo.name, {"value": 2, "from_unit": "km", "to_unit": "m"}).result == 1000.0
        assert reg.search("email a message to someone", 1)[0].name == "send_email"
        assert "weekday" not in [h.name for h in reg.search("what day of the week", 10)]
