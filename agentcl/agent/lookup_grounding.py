"""Grounding a text-only lookup: the policy decides WHETHER to look a fact up, the agent decides WHICH
slot. A 135M model that learned to call lookup for a question memory cannot answer still writes its
arguments badly ({"city": "Initech"}, a predicate of {"factor": 3}, the question's verb for the
predicate), and the world's lookup needs the slot's own names. The agent knows them from what it
validated: the questions it was asked about each slot (RunState.questions, learnt from corrections and
confirmed answers) and the facts memory showed. Pure functions; nothing here reads the store."""
from __future__ import annotations

import re
from collections.abc import Iterable

from agentcl.consolidation.text_examples import named_in
from memory_store.normalize import normalize_name

_WORD = re.compile(r"\w+")
STEM = 5  # a predicate word and a question word sharing this many first letters name one thing


def slot_by_template(question: str, questions: dict) -> tuple[str, str] | None:
    """The slot `question` asks, read from a question asked before about another subject in the same words
    ("In which city is Globex headquartered?" was asked about (globex, headquarters), so "In which city
    is Initech headquartered?" asks (Initech, headquarters)); None when no remembered question fits or two
    fit with different predicates. `questions`: (subject, predicate) -> question texts."""
    found = set()
    for (subject, predicate), texts in questions.items():
        for text in texts:
            spelled = named_in(text, subject)
            if spelled is None:
                continue
            before, _, after = text.partition(spelled)
            pattern = re.escape(before) + r"(?P<subject>.+?)" + re.escape(after)
            match = re.fullmatch(pattern, question.strip(), flags=re.IGNORECASE)
            if match and match.group("subject").strip():
                found.add((match.group("subject").strip(), predicate))
    predicates = {p for _, p in found}
    if len(predicates) != 1:
        return None
    return min(found)


def _stem_match(word: str, other: str) -> bool:
    a, b = word.casefold(), other.casefold()
    n = min(len(a), STEM)
    return len(b) >= n and a[:n] == b[:n] and (len(a) > STEM or a == b)


def predicate_named(question: str, predicates: Iterable[str]) -> str | None:
    """The one known predicate whose words the question uses (a word stem in common: "headquartered" for
    headquarters, "CEO" for ceo), else None (none, or several)."""
    words = _WORD.findall(question)
    hits = {p for p in predicates
            if all(any(_stem_match(w, q) for q in words) for w in _WORD.findall(p.replace("_", " ")))}
    return next(iter(hits)) if len(hits) == 1 else None


def ground_lookup(arguments: dict, question: str, questions: dict, known: Iterable[tuple[str, str]]) -> dict:
    """The lookup's arguments as the slot the question asks: {"subject", "predicate"} from a remembered
    question in the same words (slot_by_template), else from the known slots (`known`: (subject,
    predicate) of the facts memory showed and the slots questions were remembered for): a known subject
    the question names, else the model's subject when the question names it, else another of the model's
    argument values the question names; a predicate the model wrote that is known, else the one known
    predicate the question's words name. Whatever cannot be grounded stays as the model wrote it."""
    by_template = slot_by_template(question, questions)
    if by_template is not None:
        return {"subject": by_template[0], "predicate": by_template[1]}
    known = list(known) + list(questions)
    subjects = {s for s, _ in known if s}
    predicates = {normalize_name(p) for _, p in known if p}
    named = {spelled for s in subjects if (spelled := named_in(question, s)) is not None}
    values = [arguments.get("subject"), *(v for k, v in arguments.items() if k != "subject")]
    model_named = [spelled for v in values if isinstance(v, str) and (spelled := named_in(question, v)) is not None]
    subject = (next(iter(named)) if len(named) == 1 else model_named[0] if model_named
               else arguments.get("subject"))
    wrote = arguments.get("predicate")
    predicate = (wrote if isinstance(wrote, str) and normalize_name(wrote) in predicates
                 else predicate_named(question, predicates) or wrote)
    return {"subject": subject, "predicate": predicate}
