"""Learning how to call tools from their errors and specs. Pure functions: no store, no model.

A renamed parameter shows up as an `invalid_arguments` error naming unknown (old) and missing (new)
parameters; a replaced tool as a `deprecated` error naming its replacement. These functions turn such
errors into the knowledge the agent stores: "parameter X of tool T is now Y", "operation O uses tool T"."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import permutations

from memory_store.keyword import split_identifier

# Word-level synonyms seen across real APIs' renames (value->quantity, from->source, to->target).
SYNONYMS: dict[str, set[str]] = {
    "from": {"source", "src", "origin", "input"},
    "to": {"target", "dst", "destination", "output"},
    "value": {"quantity", "amount", "number", "val"},
    "start": {"date", "begin", "since"},
    "text": {"content", "body", "message"},
    "recipient": {"to", "receiver"},
}

Similarity = Callable[[str, str], float]


def words(name: str) -> set[str]:
    return {w.lower() for w in split_identifier(name).split() if w}


def _expand(ws: set[str]) -> set[str]:
    out = set(ws)
    for w in ws:
        out |= SYNONYMS.get(w, set())
        out |= {k for k, v in SYNONYMS.items() if w in v}
    return out


def name_affinity(old: str, new: str, description: str = "") -> float:
    """How plausibly parameter `old` was renamed to `new` (word overlap, synonyms, the new one's description)."""
    a, b = words(old), words(new)
    desc = words(description)
    score = 2.0 * len(a & b) + 1.0 * len(_expand(a) & b) + 0.5 * len(a & desc) + 0.25 * len(_expand(a) & desc)
    return score


def pair_renames(unknown: Iterable[str], missing: Iterable[str], *, descriptions: dict[str, str] | None = None,
                 similarity: Similarity | None = None) -> dict[str, str]:
    """Assign each unknown (old) parameter to a missing (new) one, maximising total affinity.
    One of each is a certain pair; several are matched by name, synonyms, descriptions and, when
    given, an embedding similarity."""
    old, new = list(unknown), list(missing)
    if not old or not new:
        return {}
    if len(old) == 1 and len(new) == 1:
        return {old[0]: new[0]}
    descriptions = descriptions or {}

    def affinity(o: str, n: str) -> float:
        score = name_affinity(o, n, descriptions.get(n, ""))
        if similarity is not None:
            score += similarity(" ".join(sorted(words(o))), f"{' '.join(sorted(words(n)))} {descriptions.get(n, '')}")
        return score

    table = {(o, n): affinity(o, n) for o in old for n in new}
    if len(old) <= len(new):
        best = max(permutations(new, len(old)), key=lambda perm: sum(table[(o, n)] for o, n in zip(old, perm)))
        return dict(zip(old, best))
    best = max(permutations(old, len(new)), key=lambda perm: sum(table[(o, n)] for o, n in zip(perm, new)))
    return dict(zip(best, new))


def renames_from_error(error: dict | None, *, similarity: Similarity | None = None) -> dict[str, str]:
    """{old: new} learned from an invalid-arguments error; {} when the error says nothing about names."""
    if not error or error.get("code") not in ("invalid_arguments", "invalid_args", "bad_arguments"):
        return {}
    descriptions = {}
    # the expected parameters with their descriptions, as "expected" items or a schema-style "parameters" list
    for item in [*(error.get("expected") or []), *(error.get("parameters") or [])]:
        if isinstance(item, dict) and "name" in item and item.get("description"):
            descriptions[str(item["name"])] = str(item["description"])
    return pair_renames(error.get("unknown") or [], error.get("missing") or [], descriptions=descriptions,
                        similarity=similarity)


def replacement_from_error(error: dict | None) -> str | None:
    if error and error.get("code") in ("deprecated", "removed", "retired") and error.get("replacement"):
        return str(error["replacement"])
    return None


def map_arguments(inputs: dict, params: list[str], *, learned: dict[str, str],
                  descriptions: dict[str, str] | None = None, similarity: Similarity | None = None) -> dict:
    """Canonical task inputs -> the tool's argument names: learned renames first (what the tool accepted
    or asked for beats its published spec, which may lag), then exact names, then the best-matching
    remaining parameter of the spec."""
    args, unplaced = {}, []
    for name, value in inputs.items():
        if name in learned:
            args[learned[name]] = value
        elif not params or name in params:
            args[name] = value
        else:
            unplaced.append(name)
    free = [p for p in params if p not in args]
    guess = pair_renames(unplaced, free, descriptions=descriptions, similarity=similarity) if unplaced and free else {}
    for name in unplaced:
        args[guess.get(name, name)] = inputs[name]
    return args
