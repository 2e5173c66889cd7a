"""Pure rules that grade a text answer against a fact slot's truth (and spot stale answers)."""
from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN = re.compile(r"[\w@+\-']+(?:\.[\w@+\-']+)*")


def tokens(text: str) -> list[str]:
    """Casefolded words; inner dots kept ("v2.3", "ana@acme.com"), sentence punctuation dropped."""
    return _TOKEN.findall(text.casefold())


def mentions(answer: str, value: str) -> bool:
    """`value` occurs in `answer` as a whole run of words."""
    a, v = tokens(answer), tokens(value)
    if not v:
        return False
    return any(a[i:i + len(v)] == v for i in range(len(a) - len(v) + 1))


def matches(answer: str, value: str, *, others: Iterable[str] = ()) -> bool:
    """The answer gives `value`: equal up to case/punctuation, or mentions it and none of `others`
    (so listing every value the slot ever had is not a correct answer)."""
    if tokens(answer) == tokens(value):
        return True
    if not mentions(answer, value):
        return False
    return not any(mentions(answer, o) and not mentions(value, o) for o in others if o != value)


def grade_fact(answer: str, truth: str, *, earlier: Iterable[str], all_values: Iterable[str]
               ) -> tuple[bool, bool]:
    """(correct, stale): stale means the answer gives a value the slot held earlier but not now."""
    all_values = set(all_values)
    correct = matches(answer, truth, others=all_values)
    stale = not correct and any(matches(answer, old, others=all_values) for old in earlier if old != truth)
    return correct, stale
