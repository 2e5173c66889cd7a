"""The report of one consolidation run (the stable shape of `agentcl consolidate run --json`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class ConsolidationReport:
    namespace: str = "default"
    strategy: str = "replay"
    device: str = "cpu"
    examples: int = 0                 # new training examples this run (facts' phrasings + usages)
    new_facts: int = 0
    new_usages: int = 0
    changed_slots: int = 0            # learned slots whose value changed or lapsed in the store
    retired_skills: list = field(default_factory=list)  # deprecated/disabled skills the model stops proposing
    removed_from_buffer: int = 0      # replay examples dropped because their fact was superseded
    replayed: int = 0                 # replayed examples mixed into batches (main + corrective rounds)
    buffer_size: int = 0
    stale_before: int = 0             # stale answers of the previously active model
    stale_detected: int = 0           # stale answers of the candidate after the main round
    stale_corrected: int = 0
    stale_remaining: int = 0
    forgotten_detected: int = 0
    forgotten_corrected: int = 0
    forgotten_remaining: int = 0
    lost_detected: int = 0            # earlier facts the candidate no longer answers right (after the main round)
    lost_corrected: int = 0
    lost_remaining: int = 0
    disagreements: int = 0            # learned slots where the candidate's answer differs from the store
    stale_slots: dict = field(default_factory=dict)
    forgotten_skills: dict = field(default_factory=dict)
    accuracy: dict = field(default_factory=dict)  # new, old_before, old_after, skills
    promoted: bool = False
    reason: str = ""
    checkpoint_id: int | None = None
    active_checkpoint: int | None = None
    round: int = 0
    metrics: dict = field(default_factory=lambda: {"acc": None, "bwt": None, "fwt": None, "forgetting": None})
    seconds: float = 0.0
    train_seconds: float = 0.0       # main and corrective rounds, with the probes between them
    encode_seconds: float = 0.0      # encoding question and task texts (stored vectors are reused)
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
