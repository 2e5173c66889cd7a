"""Options of a consolidation run, with defaults that train in seconds on CPU."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ConsolidationConfig:
    strategy: str = "replay"                 # naive | replay | ewc | lwf | combinations like replay+lwf
    min_validations: int = 1                 # a fact is "validated" with this many confirmations...
    trusted_sources: tuple[str, ...] = ("user", "trusted")  # ...or from one of these (trust.py: per home)
    phrasings: int = 3                       # encoded question phrasings per fact
    use_stored_vectors: bool = True          # also train on the store's fact vector (no re-encoding)
    replay_size: int = 2000
    replay_policy: str = "class_balanced"    # or "reservoir"
    holdout_every: int = 4                   # one usage in N (by task hash) is held out as a probe
    epochs: int = 30                         # memorising arbitrary facts takes many passes: 8 epochs learn
                                             # ~77% of 1,000 generated facts, 30 learn ~94% of 5,000
    corrective_epochs: int = 8
    batch_size: int = 64
    lr: float = 5e-3
    hidden: int = 256
    learn_threshold: float = 0.8             # gate: the new material's probe accuracy must reach this
    tolerance: float = 0.02                  # gate: old-probe accuracy may drop at most this much
    forget_threshold: float = 0.1            # a skill is "forgotten" when its probe accuracy drops more
    gate: bool = True                        # False: promote every candidate (benchmarks measuring raw forgetting)
    correct: bool = True                     # run the targeted corrective round for stale slots / forgotten skills
    max_fact_probes: int = 1000              # probe items per round (sampled) to keep probing cheap
    max_encode: int = 30_000                 # question texts encoded per run: a bigger backlog gets fewer phrasings
    max_train_rows: int = 1_000_000          # rows (replay included) the main round may process: a bigger
                                             # backlog trains fewer epochs with bigger batches (0: no limit)
    keep_states: int = 10                    # promoted checkpoints that keep their learned state (for rollback)
    seed: int = 0
    cpu_threads: int | None = 1              # torch intra-op threads on CPU while training (None: leave as is);
                                             # the adapter is small, and extra threads mostly add contention
    strategy_options: dict = field(default_factory=lambda: {"ewc": {"lam": 100.0}, "lwf": {"alpha": 1.0}})

    def __post_init__(self) -> None:
        from memory_store.errors import InvalidInputError

        if self.replay_size < 0 or self.epochs < 0 or self.phrasings < 0 or self.batch_size < 1:
            raise InvalidInputError("replay_size, epochs and phrasings must be >= 0 and batch_size >= 1")
        if not 0 <= self.tolerance <= 1 or not 0 <= self.learn_threshold <= 1:
            raise InvalidInputError("tolerance and learn_threshold must be in [0, 1]")
        if self.phrasings == 0 and not self.use_stored_vectors:
            raise InvalidInputError("phrasings=0 needs use_stored_vectors: a fact needs at least one example")
        self.trusted_sources = tuple(self.trusted_sources)
