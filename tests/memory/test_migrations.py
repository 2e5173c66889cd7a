"""Upgrades: a database created with the FIRST schema (Alembic revision 0001 of the memory store,
skills_0001 of the skill registry, the agent's events in the store's `events` table), filled the way that release wrote it, opens with today's code, is
migrated to head, and keeps every memory. Also: the migrations at head match the SQLAlchemy models
(a schema change without a migration fails here), and downgrade/upgrade round-trips.

The rows are written with plain SQL against the tables as revision 0001 created them (reflected from
the database, not today's models), so this keeps testing the real upgrade path as revisions are added."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import agentcl.agent
import memory_store
import skills
from agentcl.agent import event_log
from memory_store import MemoryStore
from memory_store.db import make_engine
from memory_store.integrity import check_integrity
from memory_store.record_types import fact_text

UTC = UTC
T0, T1, T2 = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC))


def config(package) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    return cfg


def revisions(package) -> list[str]:
    """Every revision, first to head."""
    return [r.revision for r in reversed(list(ScriptDirectory.from_config(config(package)).walk_revisions()))]


def run(engine, package, action: str, revision: str) -> None:
    cfg = config(package)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def current(engine, version_table: str = "alembic_version") -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": version_table}).get_current_revision()


def reflect(conn) -> sa.MetaData:
    meta = sa.MetaData()
    meta.reflect(conn)
    return meta


def _fact(fid, obj, status, valid_from, valid_to=None, supersedes=None, superseded_by=None, version=1, created=1):
    return dict(id=fid, namespace="default", subject="acme", predicate="ceo", object=obj, status=status,
                valid_from=valid_from, valid_to=valid_to, recorded_at=T2, retired_at=valid_to, expires_at=None,
                confidence=1.0, source="user", validation_count=0, last_validated_at=None, supersedes_id=supersedes,
                superseded_by_id=superseded_by, in_conflict=False, meta={}, created_version=created, version=version)


def _json(row: dict) -> dict:
    """The after-image shape release 1 wrote into the version log (Fact/Note.to_dict)."""
    out = {k: (v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v)
           for k, v in row.items() if k not in ("embedding", "meta")}
    out["metadata"] = row.get("meta", {})
    return out


def write_release_one(engine, embedder) -> None:
    """What release 1 left behind: a superseded and an active fact, a note, a policy, an alias, and the
    five version records of those writes."""
    alice = _fact(1, "Alice", "active", T0)
    alice_v2 = _fact(1, "Alice", "superseded", T0, valid_to=T1, superseded_by=2, version=2)
    bob = _fact(2, "Bob", "active", T1, supersedes=1, version=2, created=2)
    note = dict(id=1, namespace="default", note_type="observation", text="The launch is planned for March",
                speaker=None, external_id=None, thread=None, occurred_at=None, recorded_at=T2, expires_at=None,
                retired_at=None, status="active", meta={}, created_version=3, version=3)
    vec = lambda text: np.asarray(embedder.encode([text])[0], dtype=np.float32).tobytes()  # noqa: E731
    with engine.begin() as conn:
        t = reflect(conn).tables
        # Ids from the database itself (its autoincrement / sequence), as release 1 got them.
        for table, row, text in (("facts", alice_v2, fact_text("acme", "ceo", "Alice")),
                                 ("facts", bob, fact_text("acme", "ceo", "Bob")), ("notes", note, note["text"])):
            values = {k: v for k, v in row.items() if k != "id"}
            assert conn.execute(t[table].insert().values(**values, embedding=vec(text))).inserted_primary_key[0] == \
                row["id"]
        conn.execute(t["predicate_policies"].insert(), [dict(namespace="default", predicate="hq", functional=True,
                                                             ttl_seconds=7 * 86400.0, rule="latest", source_priority=[])])
        conn.execute(t["aliases"].insert(), [dict(namespace="default", kind="subject", alias="acme inc",
                                                  canonical="acme")])
        log = [(1, "add_fact", [{"kind": "fact", "id": 1}], None, [_json(alice)]),
               (2, "add_fact", [{"kind": "fact", "id": 1}, {"kind": "fact", "id": 2}], [_json(alice)],
                [_json(alice_v2), _json(bob)]),
               (3, "add_note", [{"kind": "note", "id": 1}], None, [_json(note)]),
               (4, "set_policy", [{"kind": "policy", "id": "hq"}], None, None),
               (5, "add_alias", [{"kind": "alias", "id": "acme inc"}], None, None)]
        conn.execute(t["versions"].insert(), [dict(version=v, at=T2, actor="release-1", op=op, namespace="default",
                                                   affected=aff, before=before, after=after)
                                              for v, op, aff, before, after in log])


@pytest.fixture
def fresh(monkeypatch):
    """Forget which URLs this process already migrated, so opening really runs the upgrade."""
    import memory_store.db
    import skills.repo

    monkeypatch.setattr(memory_store.db, "_migrated", set())
    monkeypatch.setattr(skills.repo, "_migrated", set())
    monkeypatch.setattr(event_log, "_migrated", set())


def test_a_first_schema_store_upgrades_and_keeps_its_memory(db_url, home, embedder, fresh):
    first, *later = revisions(memory_store)
    assert first == "0001"
    engine = make_engine(db_url)
    run(engine, memory_store, "upgrade", first)
    assert current(engine) == "0001"
    write_release_one(engine, embedder)
    engine.dispose()

    with MemoryStore.open(db_url, home=home, embedder=embedder) as store:  # today's code: migrates to head
        assert current(store.engine) == (later[-1] if later else first)
        assert [f.object for f in store.history("acme", "ceo")] == ["Alice", "Bob"]
        assert store.current("ACME Inc", "ceo").object == "Bob"  # the alias survived
        assert [(f.object, f.status) for f in store.facts(as_of="v1")] == [("Alice", "active")]
        assert store.policy("hq").ttl.days == 7
        assert store.search("when is the launch", k=1)[0].text == "The launch is planned for March"
        res = store.add_fact("acme", "ceo", "Carol")
        assert res.version == 6 and res.superseded == [2] and res.fact.id == 3
        assert store.add_fact("acme", "hq", "Paris").fact.expires_at is not None  # the old policy applies
        assert [r.version for r in store.log(full=False, all_namespaces=True)] == list(range(1, 8))
        assert check_integrity(store)["ok"]


def test_every_step_upgrades_and_downgrades(db_url, embedder, fresh):
    """One revision at a time up to head, data written at the first; then down to the first and up again."""
    steps = revisions(memory_store)
    engine = make_engine(db_url)
    try:
        run(engine, memory_store, "upgrade", steps[0])
        write_release_one(engine, embedder)
        for rev in steps[1:]:
            run(engine, memory_store, "upgrade", rev)
            assert current(engine) == rev
        run(engine, memory_store, "downgrade", steps[0])
        run(engine, memory_store, "upgrade", "head")
        assert current(engine) == steps[-1]
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM facts")).scalar_one() == 2
            assert conn.execute(sa.text("SELECT count(*) FROM versions")).scalar_one() == 5
    finally:
        engine.dispose()


def test_a_first_schema_skill_registry_upgrades(db_url, home, embedder, fresh):
    from skills import SkillRegistry

    steps = revisions(skills)
    assert steps[0] == "skills_0001"
    engine = make_engine(db_url)
    run(engine, skills, "upgrade", steps[0])
    assert current(engine, "skills_alembic_version") == "skills_0001"
    with engine.begin() as conn:
        t = reflect(conn).tables
        sid = conn.execute(t["skill_skills"].insert().values(
            name="legacy_lookup", origin="api", kind="python", status="active", enabled=True, deprecated=False,
            replacement=None, current_version=1, created_at=T2, updated_at=T2)).inserted_primary_key[0]
        vid = conn.execute(t["skill_versions"].insert().values(
            skill_id=sid, version=1, label=None, description="Look a word up in the legacy glossary.",
            parameters={"type": "object", "properties": {"word": {"type": "string"}}}, tags=["legacy"],
            examples=[], kind="python", definition=None, fingerprint="0" * 32, diff=None,
            created_at=T2)).inserted_primary_key[0]
        conn.execute(t["skill_stats"].insert().values(version_id=vid, calls=3, successes=2,
                                                      failures={"timeout": 1}, total_latency_ms=30.0, last_used_at=T2))
        conn.execute(t["skill_examples"].insert().values(version_id=vid, task="define ephemeral",
                                                         args={"word": "ephemeral"}, created_at=T2))
    engine.dispose()
    with SkillRegistry.open(db_url, home=home, embedder=embedder, builtins=False, entry_points=False) as registry:
        assert current(registry.engine, "skills_alembic_version") == steps[-1]
        info = registry.get("legacy_lookup")
        assert info.current.description == "Look a word up in the legacy glossary." and info.usable
        assert info.current.tags == ["legacy"]
        # examples from before namespaces belong to 'default', the namespace every registry used then
        assert [e.task for e in registry.examples("legacy_lookup")] == ["define ephemeral"]
        assert registry.examples("legacy_lookup", namespace="tenant-b") == []


MODELS = {memory_store: memory_store.tables.metadata, skills: skills.tables.metadata,
          agentcl.agent: event_log.metadata}


@pytest.mark.parametrize("package,version_table", [(memory_store, "alembic_version"),
                                                   (skills, "skills_alembic_version"),
                                                   (agentcl.agent, "agent_alembic_version")])
def test_migrations_at_head_match_the_models(db_url, package, version_table, fresh):
    """A change to memory_store/tables.py, skills/tables.py or agentcl/agent/event_log.py without its
    migration fails here. The agent's migrations run on a database the store created, as in use."""
    models = MODELS[package]
    engine = make_engine(db_url)
    try:
        if package is agentcl.agent:
            run(engine, memory_store, "upgrade", "head")
        run(engine, package, "upgrade", "head")
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "version_table": version_table, "compare_type": True,
                "include_name": lambda name, type_, parent: type_ != "table" or name in models.tables})
            diff = compare_metadata(ctx, models)
        assert diff == [], diff
    finally:
        engine.dispose()


def _write_old_events(engine) -> None:
    """Events as the previous release's MemoryStore.log_events wrote them: the store's `events` table."""
    with engine.begin() as conn:
        t = reflect(conn).tables["events"]
        conn.execute(t.insert(), [dict(namespace=ns, run_id="run-old", episode=0, step=step, stage=stage, at=T2,
                                       payload={"step": step})
                                  for ns in ("tenant-a", "tenant-b") for step in range(3)
                                  for stage in ("perceive", "act")])


def test_events_written_by_the_previous_release_are_still_shown(db_url, home, embedder, fresh):
    """A database whose events lived in the store's schema (`events`, store revision 0001 to 0003): after
    today's store and agent open it they are the agent's (`agent_events`), every one readable, still one
    namespace at a time, and new events follow them."""
    engine = make_engine(db_url)
    run(engine, memory_store, "upgrade", "head")  # the previous release was at the store's head
    _write_old_events(engine)
    engine.dispose()

    with MemoryStore.open(db_url, home=home, embedder=embedder) as store:
        log = event_log.EventLog(store.engine)
        assert current(store.engine, "agent_alembic_version") == revisions(agentcl.agent)[-1]
        assert "events" not in sa.inspect(store.engine).get_table_names()
        old = log.events("run-old", namespace="tenant-a")
        assert [(e["step"], e["stage"], e["payload"]) for e in old] == \
            [(s, stage, {"step": s}) for s in range(3) for stage in ("perceive", "act")]
        assert {e["namespace"] for e in old} == {"tenant-a"}
        assert len(log.events("run-old", namespace="tenant-b", stage="act")) == 3
        assert log.events("run-old", namespace="tenant-c") == []
        log.log_events([dict(namespace="tenant-a", run_id="run-old", episode=1, step=0, stage="act", payload={})])
        ids = [e["id"] for e in log.events("run-old", namespace="tenant-a")]
        assert len(ids) == 7 and ids == sorted(ids) and len(set(ids)) == 7  # the id sequence went on


def test_the_agent_migration_downgrades_to_the_store_table(db_url, fresh):
    """Down gives the store's revision-0001 `events` back (rows kept), so the store can downgrade in turn."""
    engine = make_engine(db_url)
    try:
        run(engine, memory_store, "upgrade", "head")
        _write_old_events(engine)
        run(engine, agentcl.agent, "upgrade", "head")
        run(engine, agentcl.agent, "downgrade", "base")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one() == 12
        run(engine, memory_store, "downgrade", "base")
        run(engine, memory_store, "upgrade", "head")
        run(engine, agentcl.agent, "upgrade", "head")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM agent_events")).scalar_one() == 0
    finally:
        engine.dispose()


def test_event_log_keeps_punctuation_twins_apart(tmp_path):
    import sqlalchemy as sa

    from agentcl.agent.event_log import EventLog

    log = EventLog(sa.create_engine(f"sqlite:///{tmp_path / 'twins.db'}"))
    for ns in ("team.a", "team-a"):
        log.log_events([dict(namespace=ns, run_id="run", episode=0, step=0, stage="act", payload={"who": ns})])
    assert [e["payload"]["who"] for e in log.events("run", namespace="team.a")] == ["team.a"]
    assert [e["payload"]["who"] for e in log.events("run", namespace="team-a")] == ["team-a"]
    assert log.events("run", namespace="team_a") == []
