"""`agentcl init` and `agentcl memory ...`: write, read, audit and prune the versioned memory store.

Over 300 lines on purpose: one Typer sub-app, a short function per command, each a thin call into
memory_store; the commands' shared options are defined once here."""
from __future__ import annotations

import typer

from cli.render import key_values, print_json, table
from cli.runs_cmd import RUN, namespace_for
from cli.state import STATE, open_store
from memory_store.errors import InvalidInputError, shown

memory = typer.Typer(help="Audit, search, revert and prune the versioned memory store.", no_args_is_help=True)
NS = typer.Option("default", "--namespace", "-n", help="Namespace (tenant) to use.")
VALID_AT = typer.Option(None, "--valid-at", help="ISO time (world time): the facts true then.")
AS_OF = typer.Option(None, "--as-of", help="ISO time or vN (system time): what the store held then.")
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _meta(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"bad --meta {shown(pair)}: use key=value")
        out[key.strip()] = value
    return out


def _fact_rows(facts):
    return [(f.id, f.subject, f.predicate, f.object, f.status, f.to_dict()["valid_from"], f.to_dict()["valid_to"],
             f.to_dict()["expires_at"], f"{f.confidence:.2f}", f.source, f.version) for f in facts]


FACT_COLUMNS = ["id", "subject", "predicate", "object", "status", "valid_from", "valid_to", "expires_at",
                "conf", "source", "v"]
# At 80 columns these go first (in this order); subject and object are shortened with an ellipsis.
FACT_FIT = {"optional": ("source", "v", "conf", "expires_at", "valid_to"), "wide": ("object", "subject")}
# A slot's history: its title names subject and predicate, and the windows are the point.
HISTORY_FIT = {"optional": ("source", "v", "conf", "subject", "predicate", "expires_at"), "wide": ("object",)}


def init_cmd(json_out: bool = JSON) -> None:
    """Create (or migrate) the store and show where it lives."""
    from memory_store.db import redact_url

    with open_store() as store:
        info = {"home": str(store.home), "database": redact_url(store.url), "index_dir": str(store.index_dir),
                "version": store.current_version()}
    print_json(info) if json_out else key_values("agentcl initialised", info)


@memory.command("add-fact")
def add_fact(subject: str, predicate: str, obj: str = typer.Argument(..., metavar="OBJECT"),
             valid_from: str | None = typer.Option(None, "--valid-from", help="ISO 8601 time the fact became true."),
             ttl: str | None = typer.Option(None, "--ttl", help="Lifetime, e.g. 90s, 15m, 2h, 7d."),
             confidence: float = typer.Option(1.0, "--confidence"), source: str = typer.Option("user", "--source"),
             namespace: str = NS, run: str | None = RUN, json_out: bool = JSON) -> None:
    """Assert a fact; a contradiction supersedes the old value inside its slot (a value that starts in
    the future is scheduled: the current one stays current until then)."""
    namespace = namespace_for(namespace, run)
    with open_store() as store:
        result = store.add_fact(subject, predicate, obj, namespace=namespace, valid_from=valid_from, ttl=ttl,
                                confidence=confidence, source=source)
    if json_out:
        print_json(result.to_dict())
    else:
        table(f"{result.action} (version {result.version})", FACT_COLUMNS, _fact_rows([result.fact]), **FACT_FIT)


@memory.command("add-note")
def add_note(text: str, meta: list[str] = typer.Option([], "--meta", help="key=value, repeatable."),
             speaker: str | None = typer.Option(None, "--speaker"),
             ttl: str | None = typer.Option(None, "--ttl"), namespace: str = NS, run: str | None = RUN,
             json_out: bool = JSON) -> None:
    """Store a free-text note (embedded for search)."""
    namespace = namespace_for(namespace, run)
    metadata = _meta(meta)
    if speaker is None and "speaker" in metadata:  # --meta speaker=X means the note's speaker, as search reads it
        speaker = metadata.pop("speaker")
    with open_store() as store:
        note = store.add_note(text, namespace=namespace, speaker=speaker, ttl=ttl, metadata=metadata)
    print_json(note.to_dict()) if json_out else key_values(f"note {note.id} (version {note.version})", note.to_dict())


@memory.command("notes")
def notes(speaker: str | None = typer.Option(None, "--speaker", help="Only notes by this speaker."),
          meta: list[str] = typer.Option([], "--meta", help="Filter key=value, repeatable."),
          status: str = typer.Option("active", "--status", help="active|expired|retracted|all"),
          limit: int | None = typer.Option(None, "--limit"),
          namespace: str = NS, run: str | None = RUN, json_out: bool = JSON) -> None:
    """List notes, oldest first (ids for retract-note)."""
    namespace = namespace_for(namespace, run)
    with open_store() as store:
        found = store.notes(namespace=namespace, status=status, speaker=speaker, metadata=_meta(meta) or None,
                            limit=limit)
    if json_out:
        print_json([n.to_dict() for n in found])
    else:
        table(f"{len(found)} notes", NOTE_COLUMNS, [(n.id, n.speaker, n.status, n.to_dict()["recorded_at"], n.text)
                                                   for n in found], optional=("recorded_at", "speaker"), wide=("text",))


NOTE_COLUMNS = ["id", "speaker", "status", "recorded_at", "text"]


@memory.command("retract-note")
def retract_note(note_id: int = typer.Argument(..., metavar="ID"), namespace: str = NS, run: str | None = RUN,
                 json_out: bool = JSON) -> None:
    """Mark a note of this namespace retracted (kept in history; no longer searched)."""
    namespace = namespace_for(namespace, run)
    with open_store() as store:
        note = store.retract_note(note_id, namespace=namespace)
    print_json(note.to_dict()) if json_out else key_values(f"note {note.id} retracted (version {note.version})",
                                                            note.to_dict())


@memory.command("facts")
def facts(subject: str | None = typer.Option(None, "--subject"), predicate: str | None = typer.Option(None, "--predicate"),
          status: str | None = typer.Option(None, "--status", help="active|scheduled|superseded|expired|retracted|"
                                                                  "all (default: active; with --valid-at, all)"),
          as_of: str | None = AS_OF, valid_at: str | None = VALID_AT,
          namespace: str = NS, run: str | None = RUN, json_out: bool = JSON) -> None:
    """List facts (active by default). --valid-at T: the facts true at T; with --as-of S: as the store
    believed at S."""
    namespace = namespace_for(namespace, run)
    with open_store() as store:
        found = store.facts(namespace=namespace, subject=subject, predicate=predicate, status=status, as_of=as_of,
                            valid_at=valid_at)
    if json_out:
        print_json([f.to_dict() for f in found])
    else:
        table(f"{len(found)} facts", FACT_COLUMNS, _fact_rows(found), **FACT_FIT)


@memory.command("search")
def search(query: str, k: int = typer.Option(10, "-k", help="Number of results."),
           kind: str = typer.Option("all", "--kind", help="fact|note|all"),
           include_expired: bool = typer.Option(False, "--include-expired"),
           include_superseded: bool = typer.Option(False, "--include-superseded"),
           meta: list[str] = typer.Option([], "--meta", help="Filter key=value, repeatable."),
           speaker: str | None = typer.Option(None, "--speaker", help="Only notes by this speaker."),
           status: str | None = typer.Option(None, "--status", help="active|superseded|expired|retracted|all"),
           as_of: str | None = AS_OF, valid_at: str | None = VALID_AT,
           namespace: str = NS, run: str | None = RUN, json_out: bool = JSON) -> None:
    """Hybrid (dense + keyword) search; filters apply before ranking. --valid-at T: facts true at T and
    notes written by then; --as-of S: what the store held at S."""
    namespace = namespace_for(namespace, run)
    metadata = _meta(meta)
    if speaker is not None:
        metadata["speaker"] = speaker
    with open_store() as store:
        results = store.search(query, k=k, namespace=namespace, kind=kind, include_expired=include_expired,
                               include_superseded=include_superseded, metadata=metadata or None, status=status,
                               as_of=as_of, valid_at=valid_at)
    if json_out:
        print_json([r.to_dict() for r in results])
    else:
        table(f"{len(results)} results", ["kind", "id", "score", "status", "text"],
              [(r.kind, r.id, f"{r.score:.4f}", r.status, r.text) for r in results], wide=("text",))


@memory.command("history")
def history(subject: str, predicate: str, namespace: str = NS, run: str | None = RUN, json_out: bool = JSON) -> None:
    """Every value a slot has had (and any scheduled), oldest first."""
    namespace = namespace_for(namespace, run)
    with open_store() as store:
        found = store.history(subject, predicate, namespace=namespace)
    print_json([f.to_dict() for f in found]) if json_out else table(f"history of {subject} / {predicate}",
                                                                     FACT_COLUMNS, _fact_rows(found), **HISTORY_FIT)


@memory.command("log")
def log(since: int | None = typer.Option(None, "--since", help="Only versions after N."),
        limit: int = typer.Option(100, "--limit"), namespace: str = NS, json_out: bool = JSON) -> None:
    """The version log of one namespace: one record per write (version numbers are global)."""
    with open_store() as store:
        records = store.log(since=since, namespace=namespace, limit=limit, full=json_out)
    if json_out:
        print_json([r.to_dict() for r in records])
    else:
        table("version log", ["version", "at", "actor", "op", "namespace", "affected"],
              [(r.version, r.to_dict()["at"], r.actor, r.op, r.namespace,
                ", ".join(f"{a.get('kind')}:{a['first_id']}-{a['last_id']}" if "first_id" in a else
                          f"{a.get('kind')}:{a.get('id')}" for a in r.affected[:8]) + (" ..." if len(r.affected) > 8 else ""))
               for r in records])


@memory.command("revert")
def revert(version: str, namespace: str = NS, json_out: bool = JSON) -> None:
    """Restore one namespace to its state at VERSION (vN or N) by writing a new version."""
    from memory_store.revert import revert_summary

    with open_store() as store:
        summary = revert_summary(store.revert(version, namespace=namespace))
    if json_out:
        print_json(summary)
        return
    table(f"reverted namespace {summary['namespace']!r} to {version} as version {summary['version']}",
          ["kind", "id", "what", "from", "to"], [(c["kind"], c["id"], c["what"], c["from"], c["to"])
                                                 for c in summary["changes"]])


@memory.command("retract")
def retract(fact_id: int, reason: str | None = typer.Option(None, "--reason"), namespace: str = NS,
            json_out: bool = JSON) -> None:
    """Mark a fact of the namespace as retracted (kept in history)."""
    with open_store() as store:
        fact = store.retract(fact_id, namespace=namespace, reason=reason)
    print_json(fact.to_dict()) if json_out else table("retracted", FACT_COLUMNS, _fact_rows([fact]))


@memory.command("set-policy")
def set_policy(predicate: str, multi: bool = typer.Option(False, "--multi", help="Multi-valued predicate."),
               ttl: str | None = typer.Option(None, "--ttl", help="Default lifetime of its facts."),
               rule: str = typer.Option("latest", "--rule", help="latest|confidence|source"),
               source_priority: list[str] = typer.Option([], "--source", help="Sources, most trusted first."),
               namespace: str = NS, run: str | None = RUN, json_out: bool = JSON) -> None:
    """Set how a predicate's conflicts are resolved."""
    from agentcl.json_shapes import policy_json

    namespace = namespace_for(namespace, run)
    with open_store() as store:
        policy = store.set_policy(predicate, namespace=namespace, functional=not multi, ttl=ttl, rule=rule,
                                  source_priority=source_priority)
    data = policy_json(predicate, policy)
    print_json(data) if json_out else key_values("policy", data)


@memory.command("audit")
def audit(namespace: str = NS, run: str | None = RUN, json_out: bool = JSON) -> None:
    """Conflicts, expired-but-present, near-duplicates, low confidence, facts at risk, model probes."""
    from agentcl.json_shapes import audit_json

    namespace = namespace_for(namespace, run)
    with open_store() as store:
        report = audit_json(store, namespace, STATE.home)
    if json_out:
        print_json(report)
        return
    sections = ("conflicts", "expired_present", "near_duplicates", "low_confidence", "at_risk")
    table(f"audit of namespace {namespace!r}", ["finding", "count"],
          [(name.replace("_", " "), len(report[name])) for name in sections])
    for name in sections:
        if report[name]:
            table(name.replace("_", " "), *dict_rows(report[name][:50]), wide=("a", "b", "text", "object", "subject"))
    risky = [r for r in report["stale_risk"] if r["p_changed"] > 0][:20]
    if risky:  # learned from the namespace's own history of changes (memory_store/volatility.py)
        table("probability each value changed since last validated (riskiest 20)",
              ["subject", "predicate", "object", "p changed", "model", "unchecked for"],
              [(r["subject"], r["predicate"], r["object"], f"{r['p_changed']:.2f}", r["model"],
                f"{r['unchecked_for_s'] / 86400:.1f} d") for r in risky], wide=("object", "subject"))
    if report["probes"]:
        key_values("latest consolidation probes", report["probes"])


def dict_rows(items: list[dict]) -> tuple[list[str], list[list]]:
    """Columns (every key, in first-seen order) and rows for a list of finding dicts."""
    columns = list(dict.fromkeys(key for item in items for key in item))
    return columns, [[finding_cell(item.get(c)) for c in columns] for item in items]


def finding_cell(value):
    """A memory a finding points at ({'kind', 'id', 'text'}) reads 'note 12: text'; other nested values
    as key=value pairs."""
    if isinstance(value, dict):
        if {"kind", "id"} <= value.keys():
            return f"{value['kind']} {value['id']}: {value.get('text', '')}"
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(finding_cell(v)) for v in value)
    return value


@memory.command("prune")
def prune(expired: bool = typer.Option(False, "--expired"), superseded: bool = typer.Option(False, "--superseded"),
          retracted: bool = typer.Option(False, "--retracted"),
          older_than: str = typer.Option("30d", "--older-than", help="Retention, e.g. 30d."),
          dry_run: bool = typer.Option(False, "--dry-run"), namespace: str = NS, run: str | None = RUN,
          json_out: bool = JSON) -> None:
    """Physically delete retired memories older than the retention (tombstone version kept)."""
    namespace = namespace_for(namespace, run)
    if not (expired or superseded or retracted):
        expired = True
    with open_store() as store:
        plan = store.prune(namespace=namespace, expired=expired, superseded=superseded, retracted=retracted,
                           older_than=older_than, dry_run=dry_run)
    print_json(plan) if json_out else key_values("prune (dry run)" if dry_run else "prune", plan)


@memory.command("export")
def export(file: str, namespace: str = NS, json_out: bool = JSON) -> None:
    """Export one namespace's facts (with history), notes, policies and aliases as JSONL."""
    with open_store() as store:
        count = store.export_jsonl(file, namespace=namespace)
    data = {"file": file, "lines": count}
    print_json(data) if json_out else key_values("exported", data)


@memory.command("import")
def import_(file: str, format: str = typer.Option("jsonl", "--format", help="jsonl|conversation"),
            namespace: str = NS, json_out: bool = JSON) -> None:
    """Import JSONL into one namespace, all-or-nothing; a bad line is reported with its number and nothing
    is written. What the namespace already holds (message ids, its own exported rows) is skipped."""
    from cli.progress import stderr_progress

    with open_store() as store, stderr_progress() as progress:
        report = store.import_jsonl(file, format=format, namespace=namespace, progress=progress)
    print_json(report) if json_out else key_values("imported", report)


def register(app: typer.Typer) -> None:
    app.command("init")(init_cmd)
    app.add_typer(memory, name="memory")
