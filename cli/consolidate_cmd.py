"""`agentcl consolidate ...`: distil validated memories into the local model, on demand or on a schedule,
and inspect or roll back its checkpoints."""
from __future__ import annotations

import time

import typer

from cli.render import key_values, print_json, table
from cli.runs_cmd import RUN, namespace_for
from cli.state import STATE, open_store

consolidate_app = typer.Typer(help="Distil validated memories into the local model (replay, probes, gate).",
                              no_args_is_help=True)
NS = typer.Option("default", "--namespace", "-n", help="Namespace (tenant) to consolidate.")
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
DEVICE = typer.Option("auto", "--device", help="auto (CUDA when available), cpu or cuda.")
BACKEND = typer.Option("prototype", "--backend",
                       help="prototype (adapter over the embedder, seconds) or llm (LoRA over the local LM).")
MODEL_DIR = typer.Option(None, "--model-dir",
                         help="Your own causal LM (transformers directory or .gguf file) for the llm backend; default: the "
                              "packaged SmolLM2-135M-Instruct.")
STRATEGY = typer.Option("replay", "--strategy",
                        help="naive, replay, ewc, lwf, or a combination such as replay+lwf or replay+ewc.")


def _open_registry():
    """The skill registry in the same database as the store (its usages become training examples)."""
    from skills import SkillRegistry

    return SkillRegistry.open(STATE.db, home=STATE.home)


def _config(strategy: str, replay_size: int | None, epochs: int | None):
    from agentcl.consolidation import ConsolidationConfig, make_strategy
    from agentcl.consolidation.trust import trusted_sources

    make_strategy(strategy)  # one clear line for a bad name, before anything runs
    options = {"strategy": strategy, "trusted_sources": trusted_sources(STATE.home)}
    if replay_size is not None:
        options["replay_size"] = replay_size
    if epochs is not None:
        options["epochs"] = epochs
    return ConsolidationConfig(**options)


def _run_once(namespace: str, device: str, config):
    from agentcl.consolidation import consolidate
    from agentcl.consolidation.pin import guard

    with open_store() as store:
        registry = _open_registry()
        try:
            # A rollback's pin holds until there is new validated material (ConsolidationPinned: a skip).
            guard(store, registry, namespace=namespace, home=store.home, min_validations=config.min_validations,
                  trusted_sources=config.trusted_sources)
            return consolidate(store, registry, namespace=namespace, device=device, config=config)
        finally:
            registry.close()


def _open_lm(model_dir: str | None, device: str):
    """The local language model (the packaged SmolLM2 unless --model-dir), loaded once per command."""
    from agentcl.model.causal_lm import CausalLM
    from memory_store.embedding import resolve_device
    from memory_store.errors import InvalidInputError

    try:
        import peft  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        raise InvalidInputError("the llm backend needs the llm extra: pip install 'agentcl[llm]'") from None
    return CausalLM.open(model_dir, home=STATE.home, device=resolve_device(device))


def _run_lm(namespace: str, device: str, model_dir: str | None, epochs: int | None):
    from agentcl.consolidation.lm_job import consolidate_lm
    from agentcl.consolidation.lm_state import LMCheckpoints
    from agentcl.consolidation.trust import trusted_sources
    from agentcl.model.base_lm import resolve_model_dir

    # a damaged checkpoint is one line before any model loads
    LMCheckpoints(STATE.home, namespace=namespace, create=False).check_active()
    resolve_model_dir(model_dir, home=STATE.home)  # a bad directory is one line before the store opens
    lm = _open_lm(model_dir, device)
    with open_store() as store:
        registry = _open_registry()
        try:
            config = {"trusted_sources": trusted_sources(STATE.home)} | ({"epochs": epochs} if epochs is not None else {})
            return consolidate_lm(store, registry, lm=lm, namespace=namespace, config=config)
        finally:
            registry.close()


def _backend(backend: str, model_dir: str | None) -> str:
    from memory_store.errors import InvalidInputError

    if backend not in ("prototype", "llm"):
        raise InvalidInputError(f"unknown backend {backend!r}: use prototype or llm")
    return "llm" if model_dir is not None else backend


def _summary(report) -> dict:
    d = report.to_dict()
    keys = ["promoted", "reason", "checkpoint_id", "active_checkpoint", "examples", "new_facts", "new_usages",
            "changed_slots", "removed_from_buffer", "replayed", "stale_before", "stale_detected", "stale_corrected",
            "forgotten_detected", "forgotten_corrected", "seconds", "device", "strategy"]
    out = {k: d[k] for k in keys}
    out["metrics"] = {k: d["metrics"].get(k) for k in ("acc", "bwt", "fwt", "forgetting")}
    return out


@consolidate_app.command("run")
def run_cmd(namespace: str = NS, run: str | None = RUN, device: str = DEVICE, strategy: str = STRATEGY,
            replay_size: int | None = typer.Option(None, "--replay-size", help="Replay buffer capacity."),
            epochs: int | None = typer.Option(None, "--epochs", help="Epochs of the main round."),
            backend: str = BACKEND, model_dir: str | None = MODEL_DIR, json_out: bool = JSON) -> None:
    """Consolidate once: select, train with replay, probe, correct, gate. A run skipped for a normal reason
    (another job holds the lock, a rollback's pin holds) exits 0; with --json: {"skipped": true, "reason"}."""
    from agentcl.consolidation.lock import ConsolidationSkipped

    namespace = namespace_for(namespace, run)
    try:
        if _backend(backend, model_dir) == "llm":
            report = _run_lm(namespace, device, model_dir, epochs)
        else:
            report = _run_once(namespace, device, _config(strategy, replay_size, epochs))
    except ConsolidationSkipped as exc:
        _skipped(namespace, str(exc), json_out)
        return
    if json_out:
        print_json(report.to_dict())
    else:
        key_values("consolidation", _summary(report))


def _skipped(namespace: str, reason: str, json_out: bool, **extra) -> None:
    info = {"skipped": True, "reason": reason, "namespace": namespace, **extra}
    print_json(info) if json_out else typer.echo(f"skipped: {reason}")


@consolidate_app.command("schedule")
def schedule_cmd(every: str = typer.Option(..., "--every", help="Interval between runs, e.g. 30m, 6h, 1d."),
                 namespace: str = NS, run: str | None = RUN, device: str = DEVICE, strategy: str = STRATEGY,
                 max_runs: int | None = typer.Option(None, "--max-runs", hidden=True,
                                                        help="Stop after N runs (tests)."),
                 json_out: bool = JSON) -> None:
    """Consolidate now and then every interval, until stopped (Ctrl-C). A run that finds another job
    holding the lock is skipped, not queued."""
    from agentcl.consolidation.lock import ConsolidationSkipped
    from memory_store.timeparse import iso, parse_duration, utcnow

    namespace = namespace_for(namespace, run)

    interval = parse_duration(every).total_seconds()
    config = _config(strategy, None, None)
    runs = 0
    while True:
        started = time.monotonic()
        try:
            summary = _summary(_run_once(namespace, device, config))
        except ConsolidationSkipped as exc:  # routine: another job runs, or a rollback's pin holds
            summary = {"skipped": True, "reason": str(exc), "namespace": namespace}
        summary["at"] = iso(utcnow())
        if json_out:
            print_json(summary)
        else:
            typer.echo(" ".join(f"{k}={v}" for k, v in summary.items() if k != "metrics"), err=False)
        runs += 1
        if max_runs is not None and runs >= max_runs:
            return
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


@consolidate_app.command("status")
def status_cmd(namespace: str = NS, run: str | None = RUN, json_out: bool = JSON) -> None:
    """Rounds, last run, active checkpoint, buffer size and what the latest probes found."""
    from agentcl.json_shapes import consolidation_status_json

    namespace = namespace_for(namespace, run)

    info = consolidation_status_json(STATE.home, namespace)
    print_json(info) if json_out else key_values(f"consolidation status ({namespace})", info)


def _checkpoints(namespace: str, backend: str):
    """The namespace's checkpoint store of one backend (the llm backend's lives in its own subfolder)."""
    from agentcl.consolidation.lm_state import LMCheckpoints
    from agentcl.model import CheckpointStore
    from memory_store.config import agentcl_home

    home = agentcl_home(STATE.home)
    if _backend(backend, None) == "llm":
        return LMCheckpoints(home, namespace=namespace)
    return CheckpointStore(home, namespace=namespace)


@consolidate_app.command("models")
def models_cmd(namespace: str = NS, run: str | None = RUN, backend: str = BACKEND, json_out: bool = JSON) -> None:
    """Every checkpoint (promoted or rejected), newest last; * marks the active one."""
    namespace = namespace_for(namespace, run)
    infos = [c.to_dict() for c in _checkpoints(namespace, backend).list()]
    if json_out:
        print_json(infos)
        return
    table(f"checkpoints ({namespace})", ["id", "active", "created_at", "promoted", "acc", "bwt", "reason"],
          [(c["id"], "*" if c["active"] else "", c["created_at"], c["promoted"], c["metrics"].get("acc"),
            c["metrics"].get("bwt"), c["reason"]) for c in infos])


@consolidate_app.command("rollback")
def rollback_cmd(checkpoint_id: int = typer.Argument(..., metavar="ID"), namespace: str = NS, run: str | None = RUN,
                 backend: str = BACKEND, json_out: bool = JSON) -> None:
    """Re-activate an earlier checkpoint (the agent's prior becomes that model again). A prototype
    checkpoint stays pinned: later runs skip until there is new validated material, or `consolidate unpin`."""
    from agentcl.consolidation.pin import material_digest
    from agentcl.json_shapes import consolidation_rollback_json

    namespace = namespace_for(namespace, run)
    if _backend(backend, None) == "llm":
        from memory_store.errors import NotFoundError

        ckpts = _checkpoints(namespace, backend)
        previous = ckpts.active_id()
        if checkpoint_id not in ckpts.ids():
            raise NotFoundError(f"no checkpoint {checkpoint_id} in namespace {namespace!r}")
        ckpts.check(checkpoint_id)  # a damaged checkpoint is never activated
        ckpts.activate(checkpoint_id)
        info = {"namespace": namespace, "backend": "llm", "active_checkpoint": checkpoint_id, "previous": previous}
        print_json(info) if json_out else key_values("rollback", info)
        return
    config = _config("replay", None, None)
    with open_store() as store:
        registry = _open_registry()
        try:  # the material the pin is measured against, read before anything changes
            digest = material_digest(store, registry, namespace=namespace, min_validations=config.min_validations,
                                     trusted_sources=config.trusted_sources)
        finally:
            registry.close()
    info = consolidation_rollback_json(STATE.home, namespace, checkpoint_id, digest=digest)
    print_json(info) if json_out else key_values("rollback", info)


@consolidate_app.command("unpin")
def unpin_cmd(namespace: str = NS, json_out: bool = JSON) -> None:
    """Let scheduled runs go on after a rollback, without waiting for new validated material."""
    from agentcl.consolidation.pin import clear_pin
    from agentcl.consolidation.state import state_dir

    pin = clear_pin(state_dir(STATE.home, namespace))
    info = {"namespace": namespace, "unpinned": pin is not None, "checkpoint": pin.get("checkpoint") if pin else None}
    print_json(info) if json_out else typer.echo(f"unpinned checkpoint {info['checkpoint']} of {namespace}" if pin
                                                 else f"nothing was pinned in {namespace}")


@consolidate_app.command("trust")
def trust_cmd(sources: list[str] | None = typer.Argument(None, help="Sources to trust (replaces the list)."),
              reset: bool = typer.Option(False, "--reset", help="Back to the defaults (user, trusted)."),
              json_out: bool = JSON) -> None:
    """Show or set the fact sources consolidation trusts without confirmation (kept in
    AGENTCL_HOME/consolidation.json)."""
    from agentcl.consolidation.trust import set_trusted_sources, trusted_sources
    from memory_store.errors import InvalidInputError

    if reset and sources:
        raise InvalidInputError("give sources or --reset, not both")
    now = set_trusted_sources(STATE.home, None) if reset else \
        set_trusted_sources(STATE.home, sources) if sources else trusted_sources(STATE.home)
    print_json({"trusted_sources": list(now)}) if json_out else typer.echo("trusted sources: " + ", ".join(now))


@consolidate_app.command("ask")
def ask_cmd(questions: list[str] = typer.Argument(..., metavar="QUESTION..."), namespace: str = NS,
            backend: str = typer.Option("llm", "--backend", help="llm (the local LM) or prototype."),
            model_dir: str | None = MODEL_DIR, device: str = DEVICE, json_out: bool = JSON) -> None:
    """What the promoted model answers to each question, next to what memory holds."""
    from agentcl.consolidation.lm_state import LMCheckpoints
    from memory_store.config import agentcl_home

    home = agentcl_home(STATE.home)
    if _backend(backend, model_dir) == "llm":
        from agentcl.model.base_lm import resolve_model_dir

        LMCheckpoints(home, namespace=namespace, create=False).check_active()  # damaged: one line, no model load
        resolve_model_dir(model_dir, home=home)
        lm = _open_lm(model_dir, device)
        active = LMCheckpoints(home, namespace=namespace).load_active_into(lm)
        answers = lm.generate(list(questions), max_new_tokens=48)
    else:
        from agentcl.model import CheckpointStore

        ckpts = CheckpointStore(home, namespace=namespace)
        active, model = ckpts.active_id(), ckpts.load_active()
        answers = [model.predict_fact(q)[0] if model is not None else None for q in questions]
    with open_store() as store:
        found = store.search_many(list(questions), k=1, namespace=namespace, kind="fact")
    rows = [{"question": q, "model": a, "memory": hits[0].text if hits else None}
            for q, a, hits in zip(questions, answers, found)]
    out = {"namespace": namespace, "backend": _backend(backend, model_dir), "checkpoint": active, "answers": rows}
    if json_out:
        print_json(out)
    else:
        table(f"ask ({namespace}, checkpoint {active})", ["question", "model", "memory"],
              [(r["question"], r["model"], r["memory"]) for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(consolidate_app, name="consolidate")
