"""Every knob of an evaluation run, in one place; the CLI fills it once and the suites receive it."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from evaluation.errors import EvalError
from artifacts.sampling import DEFAULT, Sampling

SUITES = ("lm", "explain", "code", "fim")


@dataclass(frozen=True)
class EvalConfig:
    suites: tuple[str, ...] = SUITES
    limit: int = 20                  # items per suite and category/kind (documents, pairs, functions)
    seed: int = 0                    # sampling order of items; the untrained baseline uses the checkpoint's seed
    # lm
    max_doc_bytes: int = 8_192       # a document is cut (at a character boundary) before scoring and compressing
    window_overlap: int = 32         # context tokens carried into each next scoring window (at most ctx/4)
    # generation (explain, code)
    max_prompt_tokens: int = 768     # prompts are cut from the left to fit
    explain_max_new_tokens: int = 48  # a commit message's subject line and a short explanation
    code_max_new_tokens: int = 96     # a body of max_body_lines lines (and a fim multi-line middle)
    fim_line_max_new_tokens: int = 24  # a fim single-line middle
    temperature: float = DEFAULT.temperature  # sampling as served (artifacts/sampling.py); 0: greedy
    top_p: float = DEFAULT.top_p
    top_k: int = DEFAULT.top_k
    repetition_penalty: float = DEFAULT.repetition_penalty
    # code
    min_body_lines: int = 1
    max_body_lines: int = 8
    go_timeout_s: float = 60.0       # one go build / vet
    go_tests: bool = False           # also run the package's own tests (bounded by go_test_timeout_s)
    go_test_timeout_s: float = 60.0
    workers: int = 2                 # concurrent go commands
    # decontamination
    ngram: int = 13                  # words (whitespace-separated) per n-gram
    contamination_threshold: float = 0.5  # share of an item's n-grams found in train that drops it
    # human review
    review_sample: int = 20          # generations per kind in an exported review sheet

    def __post_init__(self):
        bad = [s for s in self.suites if s not in SUITES]
        if bad:
            raise EvalError(f"unknown suite {bad[0]!r}; suites: all, {', '.join(SUITES)}")
        if self.limit < 1:
            raise EvalError(f"--limit must be at least 1, got {self.limit}")

    @property
    def sampling(self) -> Sampling:
        return Sampling(self.temperature, self.top_p, self.top_k, self.repetition_penalty)

    def as_dict(self) -> dict:
        return asdict(self)
