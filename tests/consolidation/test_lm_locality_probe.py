"""The scoped locality probe generates only prompts inside the adapter's scope: the others are answered
by the base model, so their grade is the base model's (pure logic, a recording stand-in for the LM;
the real SmolLM2 runs this probe in test_lm_backend.py)."""
from __future__ import annotations

from agentcl.consolidation.lm_stages import general_questions, locality


class _Scope:
    def __init__(self, words):
        self.words = words

    def covers(self, user: str) -> bool:
        return any(w in user.lower() for w in self.words)


class _RecordingLM:
    def __init__(self, scope, answer: str):
        self.scope, self.answer, self.asked = scope, answer, []

    def generate(self, users, *, max_new_tokens=24, adapter=True, scoped=True, batch_size=None):
        self.asked.append((list(users), adapter, scoped))
        return [self.answer] * len(users)


def test_only_prompts_in_scope_are_generated_and_the_rest_keep_the_base_grade():
    items = general_questions()["locality"][:12]
    word = items[3]["q"].lower().split()[-1].strip("?.")
    lm = _RecordingLM(_Scope([word]), answer="no idea")
    base_right = [True] * len(items)
    answers: list[str] = []
    graded = locality(lm, limit=12, base=False, max_new_tokens=8, base_right=base_right, answers_out=answers)
    inside = [i for i, it in enumerate(items) if word in it["q"].lower()]
    assert inside and len(inside) < len(items)
    assert lm.asked == [([items[i]["q"] for i in inside], True, True)]
    assert [i for i, g in enumerate(graded) if not g] == inside  # "no idea" is wrong; the others keep the base grade
    assert all(answers[i] == "no idea" for i in inside) and answers.count("") == len(items) - len(inside)


def test_without_base_grades_or_unscoped_every_prompt_is_generated():
    lm = _RecordingLM(_Scope(["zzzz"]), answer="no idea")
    locality(lm, limit=5, base=False, max_new_tokens=8)
    locality(lm, limit=5, base=False, max_new_tokens=8, scoped=False, base_right=[True] * 5)
    assert [len(users) for users, _, _ in lm.asked] == [5, 5]
    assert [scoped for _, _, scoped in lm.asked] == [True, False]
