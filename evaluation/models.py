"""What an evaluation scores: a model behind one small interface, from a checkpoint or a GGUF file.

Every suite sees only `Subject`: encode/decode, per-token log-probabilities of a window, and generation
(sampled with artifacts.sampling settings from a seeded generator, or greedy) that stops at end-of-sequence
or at any region marker (a marker opens the next region, so the answer is over). Training never shows a
BOS: a document follows the previous one's EOS in the token stream, so EOS is what a scored document or a
prompt starts from (as the trainer's own validation does).
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from artifacts.architecture import ARCHITECTURE, fresh_model
from artifacts.checkpoint import load_model
from artifacts.grammar import SINGLE_TOKENS
from artifacts.llama_runtime import load_llama
from evaluation.errors import EvalError
from artifacts.sampling import GREEDY, Sampling
from artifacts.tokenizer import Tokenizer


class Subject(Protocol):
    name: str
    ctx_len: int
    vocab_size: int
    tokenizer_id: str | None
    seed: int | None               # the training seed: None when the untrained twin cannot be rebuilt
    eos_id: int
    stop_ids: frozenset[int]

    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...
    def token_logprobs(self, windows: list[list[int]]) -> list[np.ndarray]:
        """For each window w (len(w) <= ctx_len): log p(w[i] | w[:i]) for i = 1 .. len(w) - 1, in nats."""
    def generate(self, prompts: list[list[int]], max_new_tokens: int, sampling: Sampling = GREEDY,
                 seed: int = 0) -> list[list[int]]:
        """Continuation of each prompt (without it), stopped at a stop id (not included)."""


def _marker_ids(encode) -> set[int]:
    """Ids of the region markers and FIM sentinels the tokenizer keeps as one token (they end a generated answer)."""
    ids = set()
    for marker in SINGLE_TOKENS:
        enc = encode(marker)
        if len(enc) == 1:
            ids.add(enc[0])
    return ids


class HFSubject:
    """A transformers causal LM (CPU, float32, eval mode) with our tokenizer."""

    def __init__(self, model, tokenizer, name: str, seed: int | None = None, tokenizer_id: str | None = None,
                 hyper_parameters: dict | None = None):
        import torch

        self.torch = torch
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.seed = seed
        self.tokenizer_id = tokenizer_id
        self.hyper_parameters = hyper_parameters
        self.ctx_len = int(model.config.max_position_embeddings)
        self.vocab_size = int(model.config.vocab_size)
        self.eos_id = tokenizer.eos_id
        self.stop_ids = frozenset({self.eos_id} | _marker_ids(tokenizer.encode))

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text))

    def decode(self, ids: list[int]) -> str:
        # generated text is stored in the lake (eval_items): a byte-fallback piece sequence that cuts a character
        # becomes U+FFFD, as the GGUF subject's does, never a surrogate-escaped byte Arrow cannot encode
        return self.tokenizer.decode_bytes(list(ids)).decode("utf-8", errors="replace")

    def token_logprobs(self, windows: list[list[int]], batch_size: int = 16) -> list[np.ndarray]:
        # Windows are right-padded into batches: a causal model's outputs before the padding are unchanged.
        torch = self.torch
        out: list[np.ndarray] = []
        with torch.no_grad():
            for b in range(0, len(windows), batch_size):
                chunk = windows[b:b + batch_size]
                width = max(len(w) for w in chunk)
                x = torch.full((len(chunk), width), self.eos_id, dtype=torch.long)
                for i, w in enumerate(chunk):
                    x[i, :len(w)] = torch.tensor(w, dtype=torch.long)
                logits = self.model(input_ids=x).logits[:, :-1].float()
                lp = torch.log_softmax(logits, dim=-1).gather(2, x[:, 1:, None])[..., 0].double().numpy()
                out += [lp[i, :len(w) - 1] for i, w in enumerate(chunk)]
        return out

    def generate(self, prompts: list[list[int]], max_new_tokens: int, sampling: Sampling = GREEDY, seed: int = 0,
                 batch_size: int = 8) -> list[list[int]]:
        # Batched, left-padded (the attention mask hides the padding, generate derives positions from it):
        # one decoding loop serves batch_size prompts.
        torch = self.torch
        out: list[list[int]] = []
        with torch.no_grad(), torch.random.fork_rng(devices=[]):  # seeded draws, the caller's RNG untouched
            torch.manual_seed(seed)
            for b in range(0, len(prompts), batch_size):
                chunk = prompts[b:b + batch_size]
                width = max(len(p) for p in chunk)
                x = torch.full((len(chunk), width), self.eos_id, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for i, p in enumerate(chunk):
                    x[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
                    mask[i, width - len(p):] = 1
                y = self.model.generate(input_ids=x, attention_mask=mask, max_new_tokens=max_new_tokens,
                                        eos_token_id=sorted(self.stop_ids), **sampling.hf(),
                                        pad_token_id=self.eos_id, use_cache=True)
                out += [_cut_at_stop(y[i, width:].tolist(), self.stop_ids) for i in range(len(chunk))]
        return out

    def untrained(self) -> "HFSubject":
        """The same architecture from the same seed, with no training: the floor a trained model must beat.

        A trainers checkpoint is rebuilt through trainers.model.LlamaLM from its hyper-parameters (so the
        initial weights are exactly the run's first ones); a bare model from its config under the seed.
        """
        import torch
        from transformers import AutoModelForCausalLM

        if self.seed is None:
            raise EvalError(f"checkpoint {self.name} records no seed: cannot rebuild its untrained model")
        if self.hyper_parameters:
            # a run on another model (init_from, lora) rebuilds as the plain architecture it merged into,
            # from the run's seed: exactly the run's first weights (trainers/construction.py builds them so)
            hp = self.hyper_parameters
            model = fresh_model({k: hp[k] for k in ARCHITECTURE}, hp.get("init_std", 0.02), self.seed)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                model = AutoModelForCausalLM.from_config(self.model.config)
        for cfg in (model.config, model.generation_config):
            cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id = (
                self.model.config.pad_token_id, self.model.config.bos_token_id, self.model.config.eos_token_id)
        return HFSubject(model.float(), self.tokenizer, f"{self.name} (untrained)", self.seed, self.tokenizer_id)


class GGUFSubject:
    """A GGUF file through llama.cpp (llama-cpp-python), scored with all logits kept."""

    def __init__(self, path: str | Path, n_ctx: int | None = None):
        path = Path(path)
        if not path.is_file():
            raise EvalError(f"no GGUF file at {path}")
        try:  # windows never exceed the context the model was trained with (the GGUF's context_length)
            meta = load_llama(path, vocab_only=True).metadata
            arch = meta.get("general.architecture", "llama")
            trained_ctx = int(meta.get(f"{arch}.context_length", 0)) or 2048
            self.llm = load_llama(path, n_ctx=n_ctx or trained_ctx, logits_all=True, seed=0)
        except (ValueError, RuntimeError) as e:
            raise EvalError(f"cannot load GGUF {path}: {e}") from None
        self.name = str(path)
        self.seed = None
        self.tokenizer_id = None
        self.ctx_len = min(int(self.llm.n_ctx()), n_ctx or trained_ctx)
        self.vocab_size = int(self.llm.n_vocab())
        self.eos_id = int(self.llm.token_eos())
        self.stop_ids = frozenset({self.eos_id} | _marker_ids(self.encode))

    def encode(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def decode(self, ids: list[int]) -> str:
        return self.llm.detokenize(list(ids), special=True).decode("utf-8", errors="replace")

    def token_logprobs(self, windows: list[list[int]]) -> list[np.ndarray]:
        out = []
        for ids in windows:
            self.llm.reset()
            self.llm.eval(list(ids))
            logits = np.asarray(self.llm.scores[: len(ids) - 1], dtype=np.float64)
            m = logits.max(axis=1, keepdims=True)
            logz = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
            out.append(logits[np.arange(len(ids) - 1), ids[1:]] - logz)
        return out

    def generate(self, prompts: list[list[int]], max_new_tokens: int, sampling: Sampling = GREEDY,
                 seed: int = 0) -> list[list[int]]:
        out = []
        s = sampling
        for i, ids in enumerate(prompts):
            self.llm.reset()
            self.llm.set_seed(seed + i)
            new: list[int] = []
            for tok in self.llm.generate(list(ids), top_k=1 if s.greedy else s.top_k, top_p=s.top_p,
                                         temp=max(s.temperature, 0.0), repeat_penalty=s.repetition_penalty,
                                         reset=True):
                if tok in self.stop_ids or len(new) >= max_new_tokens or len(ids) + len(new) >= self.ctx_len:
                    break
                new.append(int(tok))
            out.append(new)
        return out

    def untrained(self):
        raise EvalError("the untrained baseline needs a checkpoint (--ckpt), not a GGUF")


def _cut_at_stop(ids: list[int], stop_ids) -> list[int]:
    for i, t in enumerate(ids):
        if t in stop_ids:
            return ids[:i]
    return ids


def load_checkpoint(ckpt: str | Path) -> HFSubject:
    """A trainer checkpoint (artifacts/checkpoint.py) with its tokenizer (artifacts/tokenizer.py); a bad one is an
    ArtifactError, a RepoLLMError the edge reports as it is."""
    loaded = load_model(ckpt)
    tokenizer = Tokenizer.from_file(loaded.tokenizer_path)
    hp = dict(loaded.meta.get("hyper_parameters") or {})
    return HFSubject(loaded.model, tokenizer, str(ckpt), hp.get("seed"), loaded.tokenizer_id, hp)


def load_subject(ckpt: str | None = None, gguf: str | None = None) -> Subject:
    if bool(ckpt) == bool(gguf):
        raise EvalError("give exactly one checkpoint or GGUF file")
    return load_checkpoint(ckpt) if ckpt else GGUFSubject(gguf)
