"""The local causal language model with one LoRA adapter (peft): chat-template prompts, training on
(question, answer) text pairs with the loss on the answer only, greedy batched generation, and the
adapter saved/loaded as safetensors. The base weights are never changed: generation can switch the
adapter off (anchors, the base model's locality answers), and `scope` (consolidation/scope.py) sends the
prompts the adapter never learned about to the base model. While a round trains, a frozen copy of the
adapter it started from can be held as a second peft adapter ("previous"), the teacher of replayed rows."""
from __future__ import annotations

import copy
import inspect
import os
import random
from collections.abc import Sequence
from pathlib import Path

import torch

SYSTEM = "Be brief."  # short: every token of the prompt is paid for in every training step
ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
TRAINED, PREVIOUS = "default", "previous"  # peft adapter names: the one trained and used, the frozen teacher


class CausalLM:
    def __init__(self, tokenizer, base, *, device: str = "cpu", lora_r: int = 16, lora_alpha: int = 32,
                 source: str = ""):
        from peft import LoraConfig, get_peft_model

        self.tokenizer, self.device, self.source = tokenizer, device, source
        config = LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.0, target_modules="all-linear",
                            task_type="CAUSAL_LM")
        self.model = get_peft_model(base, config)
        self.model.to(device).eval()
        self._initial = self.adapter_state()  # a fresh adapter is the identity (LoRA B starts at 0)
        # transformers' causal LMs that can skip the vocabulary projection where no logit is wanted
        self._keeps_logits = "logits_to_keep" in inspect.signature(base.forward).parameters
        self._end = tokenizer.eos_token or ""
        self.scope = None  # an object with covers(user) -> bool; None: every prompt goes through the adapter

    @classmethod
    def open(cls, model_dir=None, *, home=None, device: str = "cpu", **lora) -> CausalLM:
        from .base_lm import load_base, resolve_model_dir

        path = resolve_model_dir(model_dir, home=home)
        tokenizer, base = load_base(path, home=home, device=device)
        return cls(tokenizer, base, device=device, source=str(path), **lora)

    # -- adapter state ------------------------------------------------------------------------------
    def adapter_state(self) -> dict[str, torch.Tensor]:
        from peft import get_peft_model_state_dict

        return {k: v.detach().clone() for k, v in get_peft_model_state_dict(self.model).items()}

    def set_adapter_state(self, state: dict[str, torch.Tensor] | None) -> None:
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(self.model, self._initial if state is None else state)
        self.model.eval()

    def save_adapter(self, directory: str | os.PathLike) -> None:
        self.model.save_pretrained(str(directory), selected_adapters=[TRAINED])  # never the held teacher

    @property
    def has_previous(self) -> bool:
        return PREVIOUS in self.model.peft_config

    def hold_previous(self, state: dict[str, torch.Tensor] | None) -> None:
        """Hold `state` (an adapter_state() of this model) as a second, frozen peft adapter: the teacher of
        train_step's `previous` rows. None drops it. It costs one more adapter's weights (about 20 MB in
        float32 for SmolLM2-135M at r=16) and nothing in a forward pass while it is not the active one."""
        from peft import set_peft_model_state_dict

        if state is None:
            if self.has_previous:
                self.model.delete_adapter(PREVIOUS)
            return
        if not self.has_previous:
            self.model.add_adapter(PREVIOUS, copy.deepcopy(self.model.peft_config[TRAINED]))
        set_peft_model_state_dict(self.model, state, adapter_name=PREVIOUS)
        self.model.set_adapter(TRAINED)  # the trained adapter stays active and trainable; the teacher frozen
        self.model.eval()

    def load_adapter(self, directory: str | os.PathLike | None) -> None:
        """Load a saved adapter (None: the fresh, identity adapter)."""
        if directory is None:
            self.set_adapter_state(None)
            return
        from safetensors.torch import load_file

        weights = load_file(str(Path(directory) / ADAPTER_FILES[0]), device=str(self.device))
        self.set_adapter_state(weights)

    # -- text ---------------------------------------------------------------------------------------
    def prompt(self, user: str, context: Sequence[tuple[str, str]] = ()) -> str:
        """The rendered prompt of `user`: after the short system prompt, or after `context` ((role, content)
        turns: a policy's own system text and worked turns) when given."""
        head = [{"role": r, "content": c} for r, c in context] or [{"role": "system", "content": SYSTEM}]
        messages = [*head, {"role": "user", "content": user}]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _pair(self, user: str, answer: str, context: Sequence[tuple[str, str]] = ()) -> tuple[list[int], list[int]]:
        p = self.tokenizer(self.prompt(user, context), add_special_tokens=False)["input_ids"]
        a = self.tokenizer(answer + self._end, add_special_tokens=False)["input_ids"]
        return p + a, [-100] * len(p) + a

    def _batch(self, pairs):
        width = max(len(ids) for ids, _ in pairs)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(pairs), width), pad, dtype=torch.long)
        labels = torch.full((len(pairs), width), -100, dtype=torch.long)
        mask = torch.zeros((len(pairs), width), dtype=torch.long)
        for i, (a, b) in enumerate(pairs):  # right padding for training
            ids[i, : len(a)], labels[i, : len(b)], mask[i, : len(a)] = torch.tensor(a), torch.tensor(b), 1
        return ids.to(self.device), labels.to(self.device), mask.to(self.device)

    # -- training -----------------------------------------------------------------------------------
    def optimizer(self, lr: float):
        return torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)

    def train_step(self, pairs: Sequence[tuple[str, str]], opt, *, distill: Sequence[bool] | None = None,
                   kl_weight: float = 1.0, previous: Sequence[bool] | None = None, kl_previous: float = 0.0
                   ) -> float:
        """One gradient step on (user text, answer text[, context turns]) pairs; returns the loss. Rows
        flagged in `distill` are not fitted to their text but kept close to the base model: KL(base || adapted) over the full
        next-token distribution at each answer position, which holds far more of the base model's
        behaviour than its one greedy answer does (the locality lever). Rows flagged in `previous` are
        fitted and also kept close to the held previous adapter (hold_previous): `kl_previous` times
        KL(previous || adapted) at their answer positions; one extra forward pass, without gradients,
        over those rows alone. Rows with context turns (a policy's whole chat, several times longer) get
        their own forward pass, gradients summed: padded together, every short row would be as long."""
        n = len(pairs)
        distill = list(distill) if distill is not None else [False] * n
        previous = list(previous) if previous is not None and kl_previous > 0 else [False] * n
        groups: dict[bool, list[int]] = {}
        for i, pair in enumerate(pairs):
            groups.setdefault(len(pair) > 2 and bool(pair[2]), []).append(i)
        self.model.train()
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for rows in groups.values():
            loss = self._loss([pairs[i] for i in rows], [distill[i] for i in rows], [previous[i] for i in rows],
                              kl_weight=kl_weight, kl_previous=kl_previous)
            loss.backward()
            total += float(loss.detach())
        opt.step()
        self.model.eval()
        return total

    def _loss(self, pairs, distill: list[bool], previous: list[bool], *, kl_weight: float,
              kl_previous: float) -> torch.Tensor:
        """train_step's loss over rows that share one forward pass (see there)."""
        ids, labels, mask = self._batch([self._pair(*p) for p in pairs])
        flags = torch.tensor(distill, device=self.device)
        held = torch.tensor(previous, device=self.device) & ~flags
        # Only answer positions are scored, and answers are each row's tail: the vocabulary projection (a fifth
        # of this model's compute) runs from the batch's first answer token on, not over the prompts.
        target = labels[:, 1:]
        first = int((target != -100).float().argmax(1).min())
        keep = {"logits_to_keep": ids.shape[1] - first} if self._keeps_logits else {}
        cut = first if keep else 0
        target = target[:, cut:]
        answer = target != -100

        def logits_of(rows: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=ids[rows], attention_mask=mask[rows], **keep).logits[:, -target.shape[1] - 1:-1]

        teacher = None
        if bool(held.any()):
            if not self.has_previous:
                raise ValueError("rows flagged `previous` but no previous adapter is held (hold_previous)")
            self.model.set_adapter(PREVIOUS)
            try:
                with torch.no_grad():
                    teacher = logits_of(held)[answer[held]].float()
            finally:
                self.model.set_adapter(TRAINED)
        everyone = torch.ones_like(flags)
        logits = logits_of(everyone).float()
        fit = answer & ~flags[:, None]
        loss = logits.new_zeros(())
        if bool(fit.any()):
            loss = loss + torch.nn.functional.cross_entropy(logits[fit], target[fit])
        if bool(flags.any()):
            with torch.no_grad(), self.model.disable_adapter():
                base = logits_of(flags).float()
            rows = answer[flags]
            loss = loss + kl_weight * _kl(logits[flags][rows], base[rows])
        if teacher is not None:
            loss = loss + kl_previous * _kl(logits[held][answer[held]], teacher)
        return loss

    # -- generation ---------------------------------------------------------------------------------
    def generate(self, users: Sequence[str], *, max_new_tokens: int = 24, batch_size: int | None = None,
                 adapter: bool = True, scoped: bool = True) -> list[str]:
        """Greedy answers to single user turns (under the short system prompt), batched. With `adapter`,
        a prompt outside `scope` is still answered by the base model unless `scoped` is False (which
        measures what the adapter alone does to every prompt)."""
        if not adapter:
            routes = [False] * len(users)
        elif self.scope is None or not scoped:
            routes = [True] * len(users)
        else:
            routes = [bool(self.scope.covers(u)) for u in users]
        prompts = [self.prompt(u) for u in users]
        out: list[str | None] = [None] * len(users)
        for flag in (True, False):
            idx = [i for i, r in enumerate(routes) if r is flag]
            if idx:
                texts = self._complete([prompts[i] for i in idx], max_new_tokens=max_new_tokens,
                                       batch_size=batch_size, adapter=flag)
                for i, t in zip(idx, texts):
                    out[i] = t
        return [t or "" for t in out]

    def chat(self, conversations: Sequence[list[dict]], *, max_new_tokens: int = 24,
             batch_size: int | None = None, adapter: bool = True) -> list[str]:
        """Greedy replies to whole chats (lists of {"role", "content"} messages); `adapter` False: the base
        model's replies (what a round's shape probe compares the candidate with)."""
        prompts = [self.tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
                   for c in conversations]
        return self._complete(prompts, max_new_tokens=max_new_tokens, batch_size=batch_size, adapter=adapter)

    @torch.no_grad()
    def _complete(self, prompts: list[str], *, max_new_tokens: int, batch_size: int | None,
                  adapter: bool) -> list[str]:
        """Greedy continuations of rendered prompts, batched with left padding; a GPU takes wider batches."""
        batch_size = batch_size or (16 if str(self.device) == "cpu" else 64)
        out: list[str] = []
        self.model.eval()
        kwargs = dict(max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=self.tokenizer.pad_token_id,
                      temperature=None, top_p=None, top_k=None)
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start: start + batch_size]
            enc = self.tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            if adapter:
                ids = self.model.generate(**enc, **kwargs)
            else:
                with self.model.disable_adapter():
                    ids = self.model.generate(**enc, **kwargs)
            out += [t.strip() for t in self.tokenizer.batch_decode(ids[:, enc["input_ids"].shape[1]:],
                                                                   skip_special_tokens=True)]
        return out


def _kl(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) per position, averaged over positions (rows of next-token logits)."""
    return torch.nn.functional.kl_div(torch.log_softmax(student, -1), torch.log_softmax(teacher, -1),
                                      log_target=True, reduction="batchmean")


def shuffled(items: list, seed: int) -> list:
    items = list(items)
    random.Random(seed).shuffle(items)
    return items
