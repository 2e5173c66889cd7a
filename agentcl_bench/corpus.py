"""Deterministic synthetic note texts for store benchmarks (varied enough that search is not trivial)."""
from __future__ import annotations

import random

PEOPLE = ["Alice", "Bob", "Carol", "Dan", "Erin", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kemal", "Lena", "Mia",
          "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
VERBS = ["visited", "repaired", "ordered", "reviewed", "painted", "booked", "cancelled", "discussed", "cooked",
         "borrowed", "shipped", "tested", "photographed", "recommended", "forgot", "planned", "sold", "found"]
THINGS = ["the blue bicycle", "a sourdough loaf", "the quarterly report", "a flight to Lisbon", "the garden shed",
          "a jazz concert", "the server rack", "a pottery class", "the wedding venue", "a used piano",
          "the hiking trail map", "a birthday cake", "the tax return", "a marathon registration", "the kitchen sink",
          "a camping tent", "the company offsite", "a chess tournament", "the apartment lease", "a vintage camera"]
WHEN = ["on Monday", "last weekend", "in early spring", "after the storm", "before the holidays", "at dawn",
        "during lunch", "in March", "yesterday evening", "two weeks ago"]
WHY = ["because the old one broke", "for the team", "as a surprise", "to save money", "after a long debate",
       "on a friend's advice", "for the first time", "despite the rain", "with great care", "in a hurry"]


def note_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(PEOPLE)} {rng.choice(VERBS)} {rng.choice(THINGS)} {rng.choice(WHEN)} {rng.choice(WHY)} "
            f"(entry {i})" for i in range(n)]


def query_texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    forms = ["Who {verb} {thing}?", "When did {person} deal with {thing}?", "What did {person} do {when}?",
             "Tell me about {thing} and {person}", "Which {thing} was {verb} {why}?"]
    return [rng.choice(forms).format(verb=rng.choice(VERBS), thing=rng.choice(THINGS), person=rng.choice(PEOPLE),
                                     when=rng.choice(WHEN), why=rng.choice(WHY)) for _ in range(n)]
