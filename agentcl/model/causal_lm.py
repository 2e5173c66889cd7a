"""Second backend: a local causal language model (any transformers checkpoint in a directory) trained
through LoRA adapters (peft). Answers are chosen among the classes learned so far by the likelihood of
their tokens, so the model cannot invent an answer and confidences are comparable with LocalModel's.
Same public methods as LocalModel: predict_fact, predict_skill, save, load."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

FACT, SKILL = "fact", "skill"


def prompt_for(kind: str, text: str) -> str:
    return f"Question: {text}\nAnswer:" if kind == FACT else f"Task: {text}\nTool:"


class CausalLMModel:
    def __init__(self, base_dir: str | os.PathLike, *, device: str = "cpu", adapter_dir: str | os.PathLike | None = None,
                 lora_r: int = 8, lora_alpha: int = 16, target_modules: str | list[str] | None = "all-linear"):
        from peft import LoraConfig, PeftModel, get_peft_model
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.base_dir, self.device = str(base_dir), device
        self.tokenizer = AutoTokenizer.from_pretrained(self.base_dir, local_files_only=True)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        base = AutoModelForCausalLM.from_pretrained(self.base_dir, local_files_only=True)
        if adapter_dir is not None:
            self.model = PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=True)
        else:
            config = LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.0, target_modules=target_modules,
                                task_type="CAUSAL_LM")
            self.model = get_peft_model(base, config)
        self.model.to(device)
        self.classes: list[tuple[str, str]] = []
        self.skill_args: dict[str, dict] = {}
        self.retired_skills: list[str] = []
        self.meta: dict = {}

    # -- classes and tokens ---------------------------------------------------------------------
    def ensure_classes(self, kind_labels: Sequence[tuple[str, str]]) -> None:
        for kl in kind_labels:
            if tuple(kl) not in self.classes:
                self.classes.append(tuple(kl))

    def _pair(self, prompt: str, target: str) -> tuple[list[int], list[int]]:
        p = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        t = self.tokenizer(" " + target, add_special_tokens=False)["input_ids"]
        if self.tokenizer.eos_token_id is not None:
            t = t + [self.tokenizer.eos_token_id]
        return p + t, [-100] * len(p) + t

    def _batch(self, pairs: list[tuple[list[int], list[int]]]):
        width = max(len(ids) for ids, _ in pairs)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(pairs), width), pad, dtype=torch.long)
        labels = torch.full((len(pairs), width), -100, dtype=torch.long)
        mask = torch.zeros((len(pairs), width), dtype=torch.long)
        for i, (a, b) in enumerate(pairs):
            ids[i, : len(a)], labels[i, : len(b)], mask[i, : len(a)] = torch.tensor(a), torch.tensor(b), 1
        return ids.to(self.device), labels.to(self.device), mask.to(self.device)

    # -- training -------------------------------------------------------------------------------
    def train_pairs(self, new: list[tuple[str, str, str]], replay: list[tuple[str, str, str]], *, epochs: int = 5,
                    batch_size: int = 8, lr: float = 5e-3, seed: int = 0) -> dict:
        """(kind, text, label) triples; each batch of new examples gets as many replayed ones."""
        gen = torch.Generator().manual_seed(seed)
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=lr)
        self.model.train()
        steps = replayed = 0
        for _ in range(epochs if new else 0):
            order = torch.randperm(len(new), generator=gen).tolist()
            for start in range(0, len(order), batch_size):
                chosen = [new[i] for i in order[start: start + batch_size]]
                if replay:
                    picks = torch.randint(len(replay), (min(batch_size, len(replay)),), generator=gen).tolist()
                    chosen += [replay[i] for i in picks]
                    replayed += len(picks)
                ids, labels, mask = self._batch([self._pair(prompt_for(k, t), y) for k, t, y in chosen])
                loss = self.model(input_ids=ids, attention_mask=mask, labels=labels).loss
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                steps += 1
        self.model.eval()
        return {"steps": steps, "replayed": replayed}

    # -- prediction -----------------------------------------------------------------------------
    @torch.no_grad()
    def predict_texts(self, texts: Sequence[str], kind: str) -> tuple[list[str | None], list[float]]:
        retired = set(self.retired_skills) if kind == SKILL else set()
        candidates = [label for k, label in self.classes if k == kind and label not in retired]
        if not candidates or not texts:
            return [None] * len(texts), [0.0] * len(texts)
        self.model.eval()
        labels, confs = [], []
        for text in texts:
            pairs = [self._pair(prompt_for(kind, text), c) for c in candidates]
            ids, lab, mask = self._batch(pairs)
            logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1]
            target = lab[:, 1:]
            logp = torch.log_softmax(logits.float(), dim=-1)
            picked = logp.gather(2, target.clamp(min=0).unsqueeze(2)).squeeze(2) * (target != -100)
            scores = picked.sum(1)
            probs = torch.softmax(scores, dim=0)
            best = int(probs.argmax())
            labels.append(candidates[best])
            confs.append(round(float(probs[best]), 6))
        return labels, confs

    def predict_fact(self, question_text: str) -> tuple[str | None, float]:
        labels, confs = self.predict_texts([question_text], FACT)
        return labels[0], confs[0]

    def predict_skill(self, task_text: str) -> tuple[str | None, dict, float]:
        labels, confs = self.predict_texts([task_text], SKILL)
        return labels[0], dict(self.skill_args.get(labels[0], {})) if labels[0] else {}, confs[0]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        """The LoRA adapter (safetensors) and model.json; the base weights stay where they are."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(directory))
        info = {"format": 1, "backend": "causal_lm", "base_dir": self.base_dir, "classes": [list(c) for c in self.classes],
                "skill_args": self.skill_args, "retired_skills": self.retired_skills, "meta": self.meta}
        tmp = directory / "model.json.tmp"
        tmp.write_text(json.dumps(info, indent=1, default=str))
        os.replace(tmp, directory / "model.json")

    @classmethod
    def load(cls, directory: str | os.PathLike, *, device: str = "cpu", base_dir: str | None = None) -> CausalLMModel:
        info = json.loads((Path(directory) / "model.json").read_text())
        model = cls(base_dir or info["base_dir"], device=device, adapter_dir=directory)
        model.classes = [tuple(c) for c in info["classes"]]
        model.skill_args, model.retired_skills = info["skill_args"], info.get("retired_skills", [])
        model.meta = info.get("meta", {})
        return model
