"""The explain suite: a commit message from a diff, a PR explanation from title + diff, on held-out pairs.

Scored against the reference with corpus BLEU (sacrebleu) and mean ROUGE-L F1 (rouge-score), and by the
reference's loss given the prompt (teacher-forced), which separates checkpoints long before BLEU does.
"""
from __future__ import annotations

import hashlib
import math

import sacrebleu
from rouge_score import rouge_scorer
from evaluation.config import EvalConfig
from evaluation.generation import answer_nlls, answers, sft_prompt
from evaluation.models import Subject
from evaluation.results import ItemOutcome, Metric


def items_from_pairs(pairs: list[dict]) -> list[ItemOutcome]:
    return [ItemOutcome(item_id="explain:" + hashlib.sha256(p["pair_id"].encode()).hexdigest()[:16], suite="explain",
                        kind=p["kind"], repo_id=p.get("repo_id"), source_id=p["pair_id"], prompt=p["prompt"],
                        reference=p["response"]) for p in pairs]


def run(subject: Subject, items: list[ItemOutcome], cfg: EvalConfig) -> list[Metric]:
    """Generate and score every item with status 'scored' (in place); metrics per kind."""
    rouge = rouge_scorer.RougeScorer(["rougeL"])
    todo = [i for i in items if i.status == "scored"]
    texts = [sft_prompt(i.prompt) for i in todo]
    generated = answers(subject, texts, cfg.max_prompt_tokens, cfg.explain_max_new_tokens, "explain: generating",
                        sampling=cfg.sampling, seed=cfg.seed)
    nlls = answer_nlls(subject, [(t, i.reference) for t, i in zip(texts, todo)], cfg.max_prompt_tokens)
    for item, gen, (nll, ntok) in zip(todo, generated, nlls):
        item.generation = gen.strip()
        item.scores = {
            "bleu": sacrebleu.sentence_bleu(item.generation, [item.reference]).score,
            "rougeL": rouge.score(item.reference, item.generation)["rougeL"].fmeasure,
            "response_nll": nll, "response_tokens": ntok,
        }
    metrics = []
    for kind in sorted({i.kind for i in todo}):
        group = [i for i in todo if i.kind == kind]
        n = len(group)
        bleu = sacrebleu.corpus_bleu([i.generation for i in group], [[i.reference for i in group]]).score
        loss = sum(i.scores["response_nll"] for i in group) / max(1, sum(i.scores["response_tokens"] for i in group))
        metrics += [Metric("explain", "bleu", kind, bleu, n),
                    Metric("explain", "rougeL", kind, sum(i.scores["rougeL"] for i in group) / n, n),
                    Metric("explain", "response_loss", kind, loss, n),
                    Metric("explain", "response_perplexity", kind, math.exp(min(loss, 700.0)), n)]
    return metrics
