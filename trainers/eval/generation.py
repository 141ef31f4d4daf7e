"""Prompting a subject: region-marked prompts cut to fit the context, greedy answers."""
from __future__ import annotations

from trainers.eval.models import Subject

PROMPT, RESPONSE = "<PROMPT>", "<RESPONSE>"  # transforms/grammar.py; the SFT data and chat template use them so


def sft_prompt(prompt: str) -> str:
    """An SFT pair's prompt as the model saw it in training: after <PROMPT>, answered after <RESPONSE>."""
    text = prompt if prompt.startswith(PROMPT) else PROMPT + prompt
    return text if text.endswith(RESPONSE) else text + RESPONSE


def prompt_ids(subject: Subject, text: str, max_prompt_tokens: int, max_new_tokens: int) -> list[int]:
    """EOS (a document boundary, as in training) + the prompt's tokens, cut from the left so that prompt and
    answer fit the context."""
    budget = min(max_prompt_tokens, subject.ctx_len - max_new_tokens - 1)
    return [subject.eos_id] + subject.encode(text)[-max(budget, 1):]


def answer(subject: Subject, text: str, max_prompt_tokens: int, max_new_tokens: int) -> str:
    ids = prompt_ids(subject, text, max_prompt_tokens, max_new_tokens)
    new = max(1, min(max_new_tokens, subject.ctx_len - len(ids)))
    return subject.decode(subject.generate(ids, new))


def answer_nll(subject: Subject, prompt: str, response: str, max_prompt_tokens: int) -> tuple[float, int]:
    """Summed negative log-likelihood (nats) of the reference answer after the prompt, and its token count."""
    import numpy as np

    resp = subject.encode(response) + [subject.eos_id]
    resp = resp[: max(1, subject.ctx_len - 2)]
    ids = prompt_ids(subject, prompt, max_prompt_tokens, len(resp))
    seq = ids + resp
    lp = subject.token_logprobs([seq[-subject.ctx_len:]])[0]
    return float(-np.sum(lp[-len(resp):])), len(resp)
