"""Scheduling and trust (issue 15, items 20-22), through the real CLI on a real SQLite store:
a run skipped because another job holds the lock is a normal outcome (exit 0, JSON says so); a rollback
stays active until there is new validated material or the user unpins it; trusted sources are
configurable per home and listed by `consolidate status`."""
from __future__ import annotations

import json

import pytest

from cli.main import main


@pytest.fixture
def cli(tmp_path, home, embedder, monkeypatch, capsys):
    import memory_store.embedding as emb

    monkeypatch.setattr(emb, "get_default_embedder", lambda device="auto": embedder)  # reuse the loaded model
    db = f"sqlite:///{tmp_path / 'cli.db'}"

    def run(*args):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(["--db", db, "--home", str(home), *args])
        out = capsys.readouterr()
        return exc.value.code, out.out, out.err
    run.db = db
    return run


def _json(result):
    code, out, err = result
    assert code == 0, err
    return json.loads(out)


def test_a_run_skipped_because_another_holds_the_lock_exits_0_and_says_so(cli, home, embedder):
    from agentcl.consolidation import consolidation_lock
    from memory_store import MemoryStore

    assert cli("memory", "add-fact", "acme", "ceo", "alice")[0] == 0
    with MemoryStore.open(cli.db, home=home, embedder=embedder) as store, consolidation_lock(store, home=home):
        code, out, err = cli("consolidate", "run", "--json", "--device", "cpu")
        assert code == 0, err  # before: exit 2 and an empty stdout
        skipped = json.loads(out)
        assert skipped["skipped"] is True and "another consolidation" in skipped["reason"]
        assert skipped["namespace"] == "default"
        code, out, _ = cli("consolidate", "run", "--device", "cpu")
        assert code == 0 and out.startswith("skipped: another consolidation")
        scheduled = _json(cli("consolidate", "schedule", "--every", "1s", "--max-runs", "1", "--json"))
        assert scheduled["skipped"] is True and scheduled["reason"] == skipped["reason"] and "at" in scheduled
    assert _json(cli("consolidate", "run", "--json", "--device", "cpu"))["promoted"]  # free again: it runs


def test_a_rollback_holds_until_new_validated_material(cli):
    cli("memory", "add-fact", "acme", "ceo", "alice")
    assert _json(cli("consolidate", "run", "--json", "--device", "cpu"))["promoted"]
    cli("memory", "add-fact", "acme", "ceo", "bob")
    assert _json(cli("consolidate", "run", "--json", "--device", "cpu"))["checkpoint_id"] == 2
    assert _json(cli("consolidate", "rollback", "1", "--json"))["pinned"]["checkpoint"] == 1
    skipped = _json(cli("consolidate", "run", "--json", "--device", "cpu"))
    assert skipped["skipped"] is True and "no new validated material" in skipped["reason"]
    # An unvalidated fact (an untrusted source, never confirmed) is not new validated material.
    cli("memory", "add-fact", "hooli", "ceo", "gavin", "--source", "rumour")
    assert _json(cli("consolidate", "run", "--json", "--device", "cpu"))["skipped"] is True
    status = _json(cli("consolidate", "status", "--json"))
    assert status["active_checkpoint"] == 1 and status["pinned"]["checkpoint"] == 1
    # New validated material ends the pin: the run goes ahead and learns everything current.
    cli("memory", "add-fact", "globex", "ceo", "carol")
    third = _json(cli("consolidate", "run", "--json", "--device", "cpu"))
    assert third["promoted"] and third["active_checkpoint"] == 3
    assert _json(cli("consolidate", "status", "--json"))["pinned"] is None
    assert _json(cli("consolidate", "unpin", "--json"))["unpinned"] is False


def test_trusted_sources_are_configurable_and_listed(cli):
    assert _json(cli("consolidate", "status", "--json"))["trusted_sources"] == ["user", "trusted"]
    cli("memory", "add-fact", "acme", "ceo", "alice", "--source", "trusted")
    first = _json(cli("consolidate", "run", "--json", "--device", "cpu"))
    assert first["new_facts"] == 1  # before: 0, only "user" was trusted
    assert _json(cli("consolidate", "trust", "user", "crm", "--json")) == {"trusted_sources": ["user", "crm"]}
    assert _json(cli("consolidate", "status", "--json"))["trusted_sources"] == ["user", "crm"]
    cli("memory", "add-fact", "globex", "ceo", "bob", "--source", "crm")
    cli("memory", "add-fact", "initech", "ceo", "carol", "--source", "trusted")
    second = _json(cli("consolidate", "run", "--json", "--device", "cpu"))
    assert second["new_facts"] == 1  # crm's fact; "trusted" is no longer in the list
    code, _, err = cli("consolidate", "trust", "bad source")
    assert code == 2 and err.startswith("error: bad source name") and "\n" not in err.strip()
    assert _json(cli("consolidate", "trust", "--reset", "--json")) == {"trusted_sources": ["user", "trusted"]}
