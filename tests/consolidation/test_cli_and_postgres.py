"""`agentcl consolidate ...` through the real CLI, and the PostgreSQL advisory lock."""
import json

import pytest
from typer.testing import CliRunner

from cli.main import app, main


def _invoke(args):
    return CliRunner().invoke(app, args, catch_exceptions=False)


def test_cli_run_models_status_rollback(tmp_path, home, embedder, monkeypatch):
    import memory_store.embedding as emb

    monkeypatch.setattr(emb, "get_default_embedder", lambda device="auto": embedder)  # reuse the loaded model
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    base = ["--db", db, "--home", str(home)]
    assert _invoke(base + ["memory", "add-fact", "acme", "ceo", "alice"]).exit_code == 0
    out = _invoke(base + ["consolidate", "run", "--json", "--device", "cpu"])
    report = json.loads(out.stdout)
    assert report["promoted"] and {"examples", "replayed", "metrics", "seconds", "device"} <= set(report)
    assert _invoke(base + ["memory", "add-fact", "acme", "ceo", "bob"]).exit_code == 0
    second = json.loads(_invoke(base + ["consolidate", "run", "--json", "--strategy", "replay+lwf"]).stdout)
    assert second["promoted"] and second["stale_before"] == 1
    models = json.loads(_invoke(base + ["consolidate", "models", "--json"]).stdout)
    assert [m["id"] for m in models] == [1, 2] and models[1]["active"]
    back = json.loads(_invoke(base + ["consolidate", "rollback", "1", "--json"]).stdout)
    assert back["active_checkpoint"] == 1 and back["previous"] == 2 and back["pinned"]["checkpoint"] == 1
    status = json.loads(_invoke(base + ["consolidate", "status", "--json"]).stdout)
    # the state rolled back with the model: one round, alice learned, bob not yet
    assert status["active_checkpoint"] == 1 and status["rounds"] == 1 and status["learned_slots"] == 1
    assert status["last_run"]["checkpoint"] == 2 and status["pinned"]["checkpoint"] == 1
    # Issue 15, item 21: the next scheduled run no longer re-learns bob and undoes the rollback.
    sched = _invoke(base + ["consolidate", "schedule", "--every", "1s", "--max-runs", "1", "--json"])
    skipped = json.loads(sched.stdout)
    assert sched.exit_code == 0 and skipped["skipped"] is True and "pinned by a rollback" in skipped["reason"]
    assert json.loads(_invoke(base + ["consolidate", "status", "--json"]).stdout)["active_checkpoint"] == 1
    unpin = json.loads(_invoke(base + ["consolidate", "unpin", "--json"]).stdout)
    assert unpin == {"namespace": "default", "unpinned": True, "checkpoint": 1}
    sched = _invoke(base + ["consolidate", "schedule", "--every", "1s", "--max-runs", "1", "--json"])
    third = json.loads(sched.stdout)
    assert third["promoted"] and third["active_checkpoint"] == 3 and third["stale_before"] == 1  # bob learned again
    idle = _invoke(base + ["consolidate", "schedule", "--every", "1s", "--max-runs", "1", "--json"])
    assert json.loads(idle.stdout)["promoted"] is False


@pytest.mark.parametrize("args", [["consolidate", "rollback", "42"], ["consolidate", "run", "--strategy", "sgd"],
                                  ["consolidate", "schedule", "--every", "soon"]])
def test_cli_user_errors_exit_2(args, home, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home)] + args)
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.postgres
def test_postgres_advisory_lock_and_run(pg_url, home, embedder):
    from agentcl.consolidation import ConsolidationBusy, consolidate, consolidation_lock
    from memory_store import MemoryStore

    with MemoryStore.open(pg_url, home=home, embedder=embedder) as store:
        store.add_fact("acme", "ceo", "alice")
        with consolidation_lock(store, home=home):
            with pytest.raises(ConsolidationBusy):
                consolidate(store, device="cpu")
            consolidate(store, namespace="other", device="cpu")  # another namespace is not blocked
        report = consolidate(store, device="cpu")
        assert report.promoted and report.new_facts == 1
