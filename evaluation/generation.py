"""Prompting a subject: region-marked prompts cut to fit the context, answers in batches (sampled as served,
seeded, or greedy)."""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from evaluation.models import Subject
from artifacts.sampling import GREEDY, Sampling

from artifacts.grammar import sft_parts


def sft_prompt(prompt: str) -> str:
    """An SFT pair's prompt as the model saw it in training (artifacts.grammar.sft_parts)."""
    return sft_parts(prompt, "")[0]


def prompt_ids(subject: Subject, text: str, max_prompt_tokens: int, max_new_tokens: int) -> list[int]:
    """EOS (a document boundary, as in training) + the prompt's tokens, cut from the left so that prompt and
    answer fit the context."""
    budget = min(max_prompt_tokens, subject.ctx_len - max_new_tokens - 1)
    return [subject.eos_id] + subject.encode(text)[-max(budget, 1):]


def answers(subject: Subject, texts: list[str], max_prompt_tokens: int, max_new_tokens: int, desc: str,
            batch: int = 8, sampling: Sampling = GREEDY, seed: int = 0) -> list[str]:
    """Answers to every prompt, at most max_new_tokens each, generated `batch` prompts at a time; a sampled
    batch draws from a generator seeded by (seed, batch index), so a rerun gives the same answers."""
    new = min(max_new_tokens, subject.ctx_len - 2)
    return generate_ids(subject, [prompt_ids(subject, t, max_prompt_tokens, new) for t in texts], new, desc, batch,
                        sampling, seed)


def generate_ids(subject: Subject, ids: list[list[int]], max_new_tokens: int, desc: str, batch: int = 8,
                 sampling: Sampling = GREEDY, seed: int = 0) -> list[str]:
    """Answers (decoded) to prompts already tokenised and fitted to the context, `batch` at a time; greedy
    unless `sampling` says otherwise, each batch then seeded by (seed, batch index)."""
    out: list[str] = []
    for b in tqdm(range(0, len(ids), batch), desc=desc, unit=" batches", leave=False):
        out += [subject.decode(o) for o in subject.generate(ids[b:b + batch], max_new_tokens, sampling, seed + b)]
    return out


def answer_nlls(subject: Subject, pairs: list[tuple[str, str]], max_prompt_tokens: int) -> list[tuple[float, int]]:
    """For each (prompt, reference answer): the answer's summed negative log-likelihood (nats, teacher-forced,
    its closing EOS included) after the prompt, and its token count."""
    seqs, lengths = [], []
    for prompt, response in pairs:
        resp = (subject.encode(response) + [subject.eos_id])[: max(1, subject.ctx_len - 2)]
        seq = prompt_ids(subject, prompt, max_prompt_tokens, len(resp)) + resp
        seqs.append(seq[-subject.ctx_len:])
        lengths.append(len(resp))
    lps = subject.token_logprobs(seqs) if seqs else []
    return [(float(-np.sum(lp[-n:])), n) for lp, n in zip(lps, lengths)]
