"""LoCoMo evidence-recall evaluation: load conversations and questions, score any search function, and
the plain baselines (dense, BM25, RRF). The benchmark of the store itself is agentcl_bench.locomo.

Each conversation is its own namespace; each turn is one note whose external id is its `dia_id`.
A question's recall@k is the share of its evidence ids found in the top k results, averaged over the
questions of categories 1-4 (category 5, adversarial, has no answer in the conversation).
Everything here is pure except `load_locomo` (reads the file) and `_BaselineIndex` (embeds)."""
from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

DEFAULT_DATA_PATH = Path("..") / "shared" / "data" / "locomo" / "locomo_dev.json"
CATEGORIES = (1, 2, 3, 4)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
DEFAULT_KS = (1, 5, 10)
RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)

SearchFn = Callable[[str, str, int], Sequence[str]]  # (namespace, query, k) -> external ids, best first


@dataclass(frozen=True)
class Turn:
    """One message of a conversation: a note with external id `dia_id`."""

    dia_id: str
    speaker: str
    text: str
    session: int
    position: int  # index within its session (the thread)
    time: datetime | None  # the session's date time
    image_caption: str | None = None  # caption of an image shared with the message, when any


@dataclass(frozen=True)
class Conversation:
    sample_id: str
    speakers: tuple[str, ...]
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class Question:
    sample_id: str
    question: str
    evidence: tuple[str, ...]
    category: int
    answer: str = field(default="", compare=False)


def default_data_path(cwd: Path | None = None) -> Path:
    """`../shared/data/locomo/locomo_dev.json` relative to the working directory (the repo root)."""
    return (cwd or Path.cwd()) / DEFAULT_DATA_PATH


_SESSION_KEY = re.compile(r"^session_(\d+)$")


def parse_session_time(text: str | None) -> datetime | None:
    """'1:56 pm on 8 May, 2023' -> naive datetime; None when absent or in another format."""
    if not text:
        return None
    for fmt in ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def split_evidence(raw: Iterable[str]) -> tuple[str, ...]:
    """Evidence ids as listed, with 'D8:6; D9:17' style entries split and blanks dropped."""
    ids: list[str] = []
    for item in raw:
        for part in re.split(r"[;,]", str(item)):
            part = part.strip()
            if part and part not in ids:
                ids.append(part)
    return tuple(ids)


def parse_conversation(sample: Mapping) -> Conversation:
    conv = sample["conversation"]
    sessions = sorted(int(m.group(1)) for key in conv if (m := _SESSION_KEY.match(key)))
    turns: list[Turn] = []
    for number in sessions:
        when = parse_session_time(conv.get(f"session_{number}_date_time"))
        for position, msg in enumerate(conv[f"session_{number}"]):
            turns.append(
                Turn(
                    dia_id=msg["dia_id"],
                    speaker=msg.get("speaker", ""),
                    text=msg.get("text", ""),
                    session=number,
                    position=position,
                    time=when,
                    image_caption=msg.get("blip_caption"),
                )
            )
    speakers = tuple(s for s in (conv.get("speaker_a"), conv.get("speaker_b")) if s)
    return Conversation(sample_id=sample["sample_id"], speakers=speakers, turns=tuple(turns))


def parse_questions(sample: Mapping, known_ids: set[str], *, categories: Sequence[int] = CATEGORIES) -> list[Question]:
    """Questions of the given categories with evidence restricted to ids that exist in the conversation;
    questions left with no evidence are dropped (they cannot be scored)."""
    out = []
    for qa in sample.get("qa", []):
        if qa.get("category") not in categories:
            continue
        evidence = tuple(e for e in split_evidence(qa.get("evidence", [])) if e in known_ids)
        if evidence:
            out.append(Question(sample["sample_id"], qa["question"], evidence, int(qa["category"]), str(qa.get("answer", ""))))
    return out


def load_locomo(path: str | Path | None = None, *, categories: Sequence[int] = CATEGORIES) -> tuple[list[Conversation], list[Question]]:
    """Read the LoCoMo file: its conversations and their scorable questions."""
    path = Path(path) if path is not None else default_data_path()
    if not path.exists():
        raise FileNotFoundError(f"LoCoMo data not found at {path} (run from the repo root, next to ../shared)")
    samples = json.loads(path.read_text())
    conversations, questions = [], []
    for sample in samples:
        conv = parse_conversation(sample)
        conversations.append(conv)
        questions.extend(parse_questions(sample, {t.dia_id for t in conv.turns}, categories=categories))
    return conversations, questions


def recall_at_k(retrieved: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Share of the evidence ids that appear among the first k retrieved ids (0 when no evidence)."""
    if k <= 0:
        raise ValueError("k must be positive")
    wanted = set(evidence)
    if not wanted:
        return 0.0
    return len(wanted & set(retrieved[:k])) / len(wanted)


def summarise(rows: Sequence[tuple[int, Mapping[int, float]]], ks: Sequence[int] = DEFAULT_KS) -> dict:
    """rows of (category, {k: recall}) -> {"overall": {...}, "by_category": {name: {...}}} with n."""
    def block(selected: list[Mapping[int, float]]) -> dict:
        out: dict = {"n": len(selected)}
        for k in ks:
            out[f"recall@{k}"] = round(float(np.mean([r[k] for r in selected])), 4) if selected else 0.0
        return out

    by_cat: dict[int, list] = defaultdict(list)
    for cat, rec in rows:
        by_cat[cat].append(rec)
    return {
        "overall": block([rec for _, rec in rows]),
        "by_category": {CATEGORY_NAMES.get(c, str(c)): block(by_cat[c]) for c in sorted(by_cat)},
    }


def evaluate(search_fn: SearchFn, questions: Sequence[Question] | None = None, *, ks: Sequence[int] = DEFAULT_KS,
             namespace_of: Callable[[str], str] = lambda sample_id: sample_id) -> dict:
    """Recall@k of `search_fn(namespace, query, k)` over the questions (loaded from the default file when
    None). The namespace of a question is `namespace_of(sample_id)`."""
    if questions is None:
        _, questions = load_locomo()
    depth = max(ks)
    rows = []
    for q in questions:
        retrieved = list(search_fn(namespace_of(q.sample_id), q.question, depth))
        rows.append((q.category, {k: recall_at_k(retrieved, q.evidence, k) for k in ks}))
    return summarise(rows, ks)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], *, k: int = RRF_K) -> list[str]:
    """Ids ordered by the sum of 1/(k + rank) over the rankings (rank starts at 1)."""
    score: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            score[item] += 1.0 / (k + rank)
    return sorted(score, key=lambda item: -score[item])


class _BaselineIndex:
    """Plain per-conversation indexes: exact inner product over turn vectors, and BM25 over turn text.
    `speaker_prefix` embeds 'Speaker: text' (how conversation memories usually store a message); the
    bare text scores far lower (R@5 0.14) because questions name people the bare text rarely does."""

    def __init__(self, conversations: Sequence[Conversation], embedder, *, speaker_prefix: bool = True,
                 vectors: Mapping[str, np.ndarray] | None = None) -> None:
        import faiss

        from memory_store.keyword import BM25Index

        self.embedder = embedder
        self.ids: dict[str, list[str]] = {}
        self.faiss: dict[str, object] = {}
        self.bm25: dict[str, BM25Index] = {}
        for conv in conversations:
            self.ids[conv.sample_id] = [t.dia_id for t in conv.turns]
            texts = [f"{t.speaker}: {t.text}" if speaker_prefix and t.speaker else t.text for t in conv.turns]
            vecs = vectors[conv.sample_id] if vectors is not None else embedder.encode(texts)
            index = faiss.IndexFlatIP(vecs.shape[1])
            index.add(vecs)
            self.faiss[conv.sample_id] = index
            bm25 = BM25Index()
            for row, turn in enumerate(conv.turns):
                bm25.add(row, turn.text)
            self.bm25[conv.sample_id] = bm25

    def dense(self, namespace: str, query: str, k: int) -> list[str]:
        vector = self.embedder.encode([query])
        _, rows = self.faiss[namespace].search(vector, min(k, len(self.ids[namespace])))
        return [self.ids[namespace][r] for r in rows[0] if r >= 0]

    def keyword(self, namespace: str, query: str, k: int) -> list[str]:
        return [self.ids[namespace][row] for row, _ in self.bm25[namespace].top_k(query, k)]

    def rrf(self, namespace: str, query: str, k: int, *, depth: int = 100) -> list[str]:
        fused = reciprocal_rank_fusion([self.dense(namespace, query, depth), self.keyword(namespace, query, depth)])
        return fused[:k]
