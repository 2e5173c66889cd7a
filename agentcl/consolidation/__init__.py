"""Consolidation: distil validated memories and successful skill usages into the local model, with
replay, stale/forgetting probes, a corrective round and a promotion gate."""
from .config import ConsolidationConfig
from .examples import UsageRecord
from .gate import GateDecision, gate_decision
from .job import consolidate
from .lock import ConsolidationBusy, consolidation_lock
from .replay import ReplayBuffer, ReplayItem
from .report import ConsolidationReport
from .state import latest_findings
from .strategies import make_strategy

latest_probe_findings = latest_findings  # the name `agentcl memory audit` asks for

__all__ = ["ConsolidationBusy", "ConsolidationConfig", "ConsolidationReport", "GateDecision", "ReplayBuffer",
           "ReplayItem", "UsageRecord", "consolidate", "consolidation_lock", "gate_decision", "latest_findings", "latest_probe_findings",
           "make_strategy"]
