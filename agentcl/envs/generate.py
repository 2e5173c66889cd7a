"""Random DriftWorld scenarios: a pure function of (seed, difficulty), so no figure rests on one
hand-written world and held-out worlds are one seed away.

What varies: organisations and teams, predicates and their question texts, when facts change (announced
or silent, sometimes back to an earlier value), rotations of varied lengths and periods, tool names,
parameter renames (documented on time, late or never, the same parameter renamed twice), replacements
whose parameter names differ, and tools that appear late. `harsh`: most changes silent, corrections on at
most 20 % of wrong answers, every tool drifts at least once.

The output is a plain dict in the format of `agentcl/envs/SCENARIO.md`; `load_scenario` validates it.

Over 300 lines on purpose: every part of a world (facts, rotations, tools, renames, questions) draws from
one seeded random stream in a fixed order, so a seed means the same world; split across modules, that
order would be spread over several files."""
from __future__ import annotations

import random
from dataclasses import dataclass

from .operations import OPERATIONS

DIFFICULTIES = ("easy", "default", "harsh")


@dataclass(frozen=True)
class Profile:
    horizon: int
    companies: tuple[int, int]  # (min, max) organisations
    teams: tuple[int, int]  # (min, max) teams with rotations
    change_rate: float  # expected value changes per slot per 100 steps (times the predicate's volatility)
    announce: float  # probability a change is announced
    change_back: float  # probability a change returns to an earlier value
    correction: tuple[float, float]  # correction probability range
    tools: tuple[int, int]  # (min, max) operations served
    drift_share: float  # share of tools that drift (harsh: all)
    undocumented: float  # probability a rename is never documented
    late_doc: float  # probability a rename is documented late (given it is documented)


PROFILES = {
    "easy": Profile(horizon=200, companies=(3, 4), teams=(1, 1), change_rate=0.3, announce=0.9, change_back=0.0,
                    correction=(0.7, 0.9), tools=(3, 4), drift_share=0.4, undocumented=0.0, late_doc=0.2),
    "default": Profile(horizon=300, companies=(4, 5), teams=(1, 2), change_rate=0.4, announce=0.6,
                       change_back=0.15, correction=(0.4, 0.6), tools=(4, 5), drift_share=0.7, undocumented=0.2,
                       late_doc=0.4),
    "harsh": Profile(horizon=200, companies=(4, 6), teams=(2, 3), change_rate=0.4, announce=0.2,
                     change_back=0.3, correction=(0.1, 0.2), tools=(4, 5), drift_share=1.0, undocumented=0.4,
                     late_doc=0.6),
}

_SYLLABLES = ("nor", "va", "lex", "tri", "qua", "mer", "dal", "zen", "cor", "bri", "tal", "ori", "pex", "sol",
              "ven", "kai", "rho", "lum", "fen", "gra", "tor", "mi", "sar", "vel", "ost", "ple", "dyn", "ark")
_SUFFIXES = ("Labs", "Systems", "Group", "Holdings", "Works", "Logistics", "Foods", "Bank", "Robotics", "Health",
             "Energy", "Media", "Partners", "Industries", "Analytics")
_FIRST = ("Ana", "Ben", "Chloe", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi", "Luca",
          "Mira", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Ximena",
          "Yusuf", "Zoe", "Arjun", "Bea", "Carlos", "Dana", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Julia")
_LAST = ("Silva", "Okafor", "Nakamura", "Petrov", "Yilmaz", "Haddad", "Lindqvist", "Moreau", "Kowalski",
         "Adeyemi", "Rossi", "Tanaka", "Schmidt", "Novak", "Costa", "Ibrahim", "Larsen", "Mendes", "Chen",
         "Kaur", "Dubois", "Fischer", "Ortega", "Sato", "Wojcik", "Bauer", "Nguyen", "Osei", "Varga", "Quist")
_CITIES = ("Lisbon", "Oslo", "Nairobi", "Osaka", "Lyon", "Porto", "Krakow", "Dublin", "Tallinn", "Seville",
           "Montreal", "Busan", "Rotterdam", "Cape Town", "Valencia", "Ghent", "Bergen", "Leipzig", "Turin",
           "Quito", "Hanoi", "Perth", "Denver", "Austin", "Malmo", "Graz")
_TIERS = ("Bronze", "Silver", "Gold", "Platinum", "Starter", "Growth", "Scale", "Enterprise")
_TEAMS = ("payments", "search", "billing", "platform", "mobile", "data", "security", "checkout", "identity",
          "infra", "growth", "support")

_VOLATILITY = (0.0, 0.5, 1.0, 1.0, 2.0)  # a predicate's change rate, relative to the profile's

# predicate -> (kind of value, question templates); a scenario picks one template per predicate
_COMPANY_PREDICATES = {
    "ceo": ("person", ("Who is the CEO of {subject}?", "Who runs {subject} as chief executive?",
                       "Name the chief executive of {subject}.")),
    "cfo": ("person", ("Who is the CFO of {subject}?", "Who is {subject}'s chief financial officer?")),
    "cto": ("person", ("Who is the CTO of {subject}?", "Who leads technology at {subject}?")),
    "head of sales": ("person", ("Who heads sales at {subject}?", "Who is the head of sales of {subject}?")),
    "headquarters": ("city", ("In which city is {subject} headquartered?", "Where are {subject}'s headquarters?")),
    "main warehouse": ("city", ("Where is {subject}'s main warehouse?", "In which city does {subject} keep its main warehouse?")),
    "refund window": ("days", ("How long is the refund window at {subject}?", "How many days do {subject} customers have to return goods?")),
    "payment terms": ("days", ("What are {subject}'s payment terms?", "Within how many days does {subject} pay invoices?")),
    "support tier": ("tier", ("Which support tier does {subject} have?", "What support plan is {subject} on?")),
}
_TEAM_PREDICATES = {
    "on-call": ("Who is on call for the {subject}?", "Who holds the pager for the {subject} right now?"),
    "release manager": ("Who is the release manager of the {subject}?", "Who manages releases for the {subject}?"),
    "triage lead": ("Who leads triage for the {subject}?", "Who is the {subject}'s triage lead?"),
}

# tool names per operation (first: the original; others for replacements) and parameter names per input
_TOOL_NAMES = {
    "convert_units": ("convert_units", "unit_convert", "measure_convert", "units_v2", "quantity_convert"),
    "currency_convert": ("currency_convert", "fx_convert", "money_exchange", "fx_rate_apply", "convert_money"),
    "add_days": ("add_days", "date_shift", "shift_date", "calendar_add", "date_offset"),
    "percent_of": ("percent_of", "percentage", "pct_calc", "share_of", "percent_calc"),
    "timezone_convert": ("timezone_convert", "tz_convert", "time_shift", "convert_time", "zone_convert"),
}
_PARAM_NAMES = {
    ("convert_units", "value"): ("quantity", "amount", "qty", "magnitude", "input_value"),
    ("convert_units", "from_unit"): ("source_unit", "unit_from", "src_unit", "input_unit"),
    ("convert_units", "to_unit"): ("target_unit", "unit_to", "dst_unit", "output_unit"),
    ("currency_convert", "amount"): ("sum", "money", "value", "amount_value"),
    ("currency_convert", "from_currency"): ("source", "src_currency", "from_ccy", "base_currency"),
    ("currency_convert", "to_currency"): ("target", "dst_currency", "to_ccy", "quote_currency"),
    ("add_days", "start"): ("date", "start_date", "from_date", "begin"),
    ("add_days", "days"): ("offset", "n_days", "day_count", "delta_days"),
    ("percent_of", "percent"): ("pct", "percentage", "rate", "percent_value"),
    ("percent_of", "value"): ("base", "total", "of_value", "number"),
    ("timezone_convert", "time"): ("clock", "at_time", "hhmm", "local_time"),
    ("timezone_convert", "from_tz"): ("source_tz", "tz_from", "origin_zone", "from_zone"),
    ("timezone_convert", "to_tz"): ("target_tz", "tz_to", "dest_zone", "to_zone"),
}


def generate_scenario(seed: int, difficulty: str = "default") -> dict:
    """A scenario dict (the SCENARIO.md format); the same (seed, difficulty) always gives the same dict."""
    if difficulty not in PROFILES:
        raise ValueError(f"unknown difficulty {difficulty!r}; use {', '.join(DIFFICULTIES)}")
    profile = PROFILES[difficulty]
    rng = random.Random(f"agentcl-scenario:{difficulty}:{seed}")
    horizon = profile.horizon
    names = _Names(rng)
    questions: dict[str, str] = {}
    # Each predicate has its own volatility in a world (a CEO changes less often than a triage lead), so the
    # rate at which a predicate's values change is something an agent can learn from history.
    volatility = _volatility(rng)
    entities = [_company(rng, names, profile, questions, volatility)
                for _ in range(rng.randint(*profile.companies))]
    entities += [_team(rng, names, profile, questions, volatility) for _ in range(rng.randint(*profile.teams))]
    _announce(rng, entities, profile.announce)
    tools = _tools(rng, profile)
    phases = _phases(rng, horizon)
    announced = sum(1 for e in entities for f in e["facts"].values() for c in f.get("changes", []) if c.get("announce"))
    changes = sum(len(f.get("changes", [])) for e in entities for f in e["facts"].values())
    return {
        "name": f"generated-{difficulty}-{seed}",
        "description": (f"Generated by `agentcl scenario generate --seed {seed} --difficulty {difficulty}`: "
                        f"{len(entities)} entities, {changes} value changes ({announced} announced), "
                        f"{len(tools)} tools, {horizon} steps."),
        "seed": seed,
        "step_duration": "1d",
        "max_actions_per_task": 4,
        "tool_task_pool": 6,
        "feedback": {"correction_probability": round(rng.uniform(*profile.correction), 3)},
        "lookup": {"name": "lookup", "cost": 1.0},
        "questions": questions,
        "entities": entities,
        "tools": tools,
        "phases": phases,
    }


def _volatility(rng: random.Random) -> dict[str, float]:
    return {p: rng.choice(_VOLATILITY) for p in sorted(_COMPANY_PREDICATES) + sorted(_TEAM_PREDICATES)}


def predicate_change_rates(seed: int, difficulty: str = "default") -> dict[str, float]:
    """The true expected value changes per step of each predicate in the scenario of (seed, difficulty): what
    an agent can only estimate from history. For analysis (scripts/drift_bound.py), never for an agent.
    Rotations change by their period instead."""
    profile = PROFILES[difficulty]
    rng = random.Random(f"agentcl-scenario:{difficulty}:{seed}")  # the volatilities are its first draws
    return {p: profile.change_rate / 100 * v for p, v in _volatility(rng).items()}


class _Names:
    """Draws names without repeats within one scenario."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set()

    def _fresh(self, make) -> str:
        for _ in range(1000):
            name = make()
            if name.casefold() not in self.used:
                self.used.add(name.casefold())
                return name
        raise RuntimeError("name pool exhausted")  # cannot happen with the pools' sizes

    def person(self) -> str:
        return self._fresh(lambda: f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}")

    def company(self) -> str:
        def make() -> str:
            stem = "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(2, 3)))
            return f"{stem.capitalize()} {self.rng.choice(_SUFFIXES)}"
        return self._fresh(make)

    def team(self) -> str:
        return self._fresh(lambda: f"{self.rng.choice(_TEAMS)} team")


def _value_maker(kind: str, rng: random.Random, names: _Names):
    if kind == "person":
        return names.person
    if kind == "city":
        return lambda: rng.choice(_CITIES)
    if kind == "days":
        return lambda: f"{rng.choice((7, 10, 14, 21, 30, 45, 60, 90))} days"
    return lambda: rng.choice(_TIERS)


def _change_steps(rng: random.Random, horizon: int, rate: float) -> list[int]:
    """Change steps of one slot: a Poisson-like count at `rate` per 100 steps, spread over the run."""
    expected = rate * horizon / 100
    count = sum(1 for _ in range(int(expected * 3)) if rng.random() < 1 / 3)
    steps = sorted(rng.sample(range(10, horizon - 5), k=min(count, horizon - 15)))
    out: list[int] = []
    for s in steps:  # at least 8 steps apart, so each value can be asked about
        if not out or s - out[-1] >= 8:
            out.append(s)
    return out


def _fact_with_changes(rng: random.Random, profile: Profile, make_value, volatility: float) -> dict:
    initial = make_value()
    history = [initial]
    changes = []
    for step in _change_steps(rng, profile.horizon, profile.change_rate * volatility):
        earlier = [v for v in history[:-1] if v != history[-1]]
        if earlier and rng.random() < profile.change_back:
            value = rng.choice(earlier)  # back to an earlier value
        else:
            value = None
            for _ in range(50):
                candidate = make_value()
                if candidate not in history:
                    value = candidate
                    break
            if value is None:
                continue
        change: dict = {"step": step, "value": value}
        changes.append(change)
        history.append(value)
    fact: dict = {"initial": initial}
    if changes:
        fact["changes"] = changes
    return fact


def _announce(rng: random.Random, entities: list[dict], share: float) -> None:
    """Announce `share` of all the value changes (rounded), chosen at random; the rest stay silent."""
    changes = [c for e in entities for f in e["facts"].values() for c in f.get("changes", [])]
    for change in rng.sample(changes, k=round(share * len(changes))):
        change["announce"] = True


def _company(rng: random.Random, names: _Names, profile: Profile, questions: dict, volatility: dict) -> dict:
    chosen = rng.sample(sorted(_COMPANY_PREDICATES), k=rng.randint(2, 4))
    facts = {}
    for predicate in chosen:
        kind, templates = _COMPANY_PREDICATES[predicate]
        questions.setdefault(predicate, rng.choice(templates))
        facts[predicate] = _fact_with_changes(rng, profile, _value_maker(kind, rng, names), volatility[predicate])
    return {"name": names.company(), "facts": facts}


def _team(rng: random.Random, names: _Names, profile: Profile, questions: dict, volatility: dict) -> dict:
    chosen = rng.sample(sorted(_TEAM_PREDICATES), k=rng.randint(1, 2))
    facts = {}
    for i, predicate in enumerate(chosen):
        questions.setdefault(predicate, rng.choice(_TEAM_PREDICATES[predicate]))
        if i == 0:  # a rotation: a value with a natural lifetime
            people = [names.person() for _ in range(rng.randint(2, 5))]
            facts[predicate] = {"rotation": {"values": people, "period": rng.choice((3, 5, 7, 10, 14)),
                                             "start": rng.randint(0, 6)}}
        else:
            facts[predicate] = _fact_with_changes(rng, profile, names.person, volatility[predicate])
    return {"name": names.team(), "facts": facts}


def _params(op: str, names: dict[str, str]) -> list[dict]:
    """Parameter list carrying each canonical input under `names[input]` (default: its own name)."""
    out = []
    for canonical, _ in OPERATIONS[op].inputs:
        name = names.get(canonical, canonical)
        out.append({"name": name} if name == canonical else {"name": name, "input": canonical})
    return out


def _rename(rng: random.Random, op: str, current: dict[str, str], used: set[str]) -> dict[str, str]:
    """New parameter names for 1-2 inputs, never a name this tool used before for any input."""
    inputs = [c for c, _ in OPERATIONS[op].inputs]
    targets = rng.sample(inputs, k=1 if len(inputs) < 3 or rng.random() < 0.7 else 2)
    out = dict(current)
    for canonical in targets:
        pool = [n for n in _PARAM_NAMES[(op, canonical)] if n not in used and n not in out.values()]
        if pool:
            out[canonical] = rng.choice(pool)
            used.add(out[canonical])
    return out


def _documented_from(rng: random.Random, profile: Profile, step: int) -> int | None:
    """None: documented at once; otherwise a later step (beyond the horizon: never documented)."""
    if rng.random() < profile.undocumented:
        return profile.horizon + 1000
    if rng.random() < profile.late_doc:
        return step + rng.randint(5, 40)
    return None


def _tools(rng: random.Random, profile: Profile) -> list[dict]:
    horizon = profile.horizon
    ops = rng.sample(sorted(OPERATIONS), k=rng.randint(*profile.tools))
    drifting = set(ops) if profile.drift_share >= 1 else {op for op in ops if rng.random() < profile.drift_share}
    late = rng.choice(ops) if rng.random() < 0.7 else None  # an operation whose first tool appears late
    out: list[dict] = []
    for op in ops:
        pool = list(_TOOL_NAMES[op])
        first_name = pool.pop(0) if rng.random() < 0.5 else pool.pop(rng.randrange(len(pool)))
        appears = rng.randint(horizon // 4, horizon // 2) if op == late else 0
        tool: dict = {"name": first_name, "operation": op}
        names: dict[str, str] = {}
        used = {c for c, _ in OPERATIONS[op].inputs}
        versions = [{"from_step": appears, "params": _params(op, names)}]
        if op in drifting:
            kind = rng.choice(("rename", "rename_twice", "replace")) if profile.drift_share >= 1 else \
                rng.choice(("rename", "replace"))
            lo = appears + 20
            if kind in ("rename", "rename_twice"):
                steps = sorted(rng.sample(range(lo, horizon - 20), k=2 if kind == "rename_twice" else 1))
                if kind == "rename_twice" and steps[1] - steps[0] < 15:
                    steps = steps[:1]
                last_renamed = None
                for step in steps:
                    if last_renamed is not None and rng.random() < 0.6:
                        # rename the same parameter again
                        pool2 = [n for n in _PARAM_NAMES[(op, last_renamed)] if n not in used]
                        if pool2:
                            names = {**names, last_renamed: rng.choice(pool2)}
                            used.add(names[last_renamed])
                        else:
                            names = _rename(rng, op, names, used)
                    else:
                        new = _rename(rng, op, names, used)
                        last_renamed = next((c for c in new if new[c] != names.get(c, c)), None)
                        names = new
                    version = {"from_step": step, "params": _params(op, names)}
                    if (doc := _documented_from(rng, profile, step)) is not None:
                        version["documented_from"] = doc
                    versions.append(version)
            else:  # replaced by another tool whose parameter names differ
                step = rng.randint(lo + 10, horizon - 25)
                new_name = rng.choice(pool)
                pool.remove(new_name)
                new_names = _rename(rng, op, {}, set(used))
                tool["deprecated_at"] = step
                tool["replaced_by"] = new_name
                out.append({"name": new_name, "operation": op,
                            "description": f"{OPERATIONS[op].description} Replaces {first_name}.",
                            "versions": [{"from_step": step - rng.randint(0, 15), "params": _params(op, new_names)}]})
        tool["versions"] = versions
        out.insert(len(out) - (1 if "replaced_by" in tool else 0), tool)
    return out


def _phases(rng: random.Random, horizon: int) -> list[dict]:
    """Baseline, drift, late and revisit phases covering the horizon."""
    first = horizon * 3 // 10
    second = horizon * 3 // 10
    third = horizon // 5
    last = horizon - first - second - third
    return [
        {"name": "baseline", "steps": first, "fact_share": round(rng.uniform(0.45, 0.6), 2)},
        {"name": "drift", "steps": second, "fact_share": round(rng.uniform(0.45, 0.55), 2), "revisit_share": 0.1},
        {"name": "late", "steps": third, "fact_share": round(rng.uniform(0.4, 0.55), 2), "revisit_share": 0.2},
        {"name": "revisit", "steps": last, "fact_share": 0.5, "revisit_share": round(rng.uniform(0.5, 0.7), 2)},
    ]
