"""Which tool the agent tries for an operation, and with which arguments: the tool its memory trusts for
the operation, otherwise a UCB bandit over skill-search candidates (the local model's guess counting as
the best-ranked one); arguments mapped from the task's inputs through the parameter renames it learnt."""
from __future__ import annotations

from agentcl.agent import bandit
from agentcl.agent.knowledge import TRUSTED, Knowledge
from agentcl.agent.run_state import RunState
from agentcl.agent.tool_learning import map_arguments
from agentcl.agent.toolbox import Toolbox


def operation_label(operation: str) -> str:
    """The words of an operation's name, as skill search reads them ("convert_units" -> "convert units")."""
    return operation.replace("_", " ")


class ToolChoice:
    def __init__(self, state: RunState, knowledge: Knowledge, toolbox: Toolbox):
        self.state = state
        self.knowledge = knowledge
        self.toolbox = toolbox

    def rank(self, operation: str, text: str | None = None, *, skill_prior: str | None = None) -> list[str]:
        """The known tool for the operation first; otherwise a UCB bandit over skill-search candidates for
        the task's `text` (default: the operation's label), the local model's guess (if any) counting as
        the best-ranked candidate."""
        lookup = self.state.lookup
        usable = {s.name for s in self.toolbox.usable()} - {lookup}
        known = self.knowledge.tool_for(operation)
        if known is not None and known.object in usable and known.confidence >= TRUSTED:
            return [known.object]
        label = operation_label(operation)
        hits = self.toolbox.candidates(f"{label}: {label if text is None else text}", k=3, exclude=(lookup,))
        prior = {n: s for n, s in hits}
        if skill_prior in usable:
            prior[skill_prior] = max(prior.values(), default=0.0) + 1.0
            if skill_prior not in [n for n, _ in hits]:
                hits = [(skill_prior, prior[skill_prior]), *hits]
        names = [n for n, _ in hits]
        if not names:
            return []
        arms = self.state.arms.setdefault(operation, {})
        first = bandit.ucb_choice(names, arms, prior=prior)
        return [first] + [n for n in names if n != first]

    def arguments(self, tool: str, inputs: dict) -> dict:
        """The task's inputs under the tool's parameter names (learnt renames first, then by name)."""
        spec = self.toolbox.specs.get(tool)
        params = [p.name for p in spec.parameters] if spec else []
        descriptions = {p.name: p.description for p in spec.parameters} if spec else {}
        return map_arguments(inputs, params, learned=self.knowledge.renames(tool), descriptions=descriptions)
