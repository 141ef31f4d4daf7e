"""The code suite: complete a held-out function's body; does the package still build, does it vet, how close is
it to the original (difflib ratio), and (optionally) do the package's own tests pass.

Candidates are checked first with their original body: only tasks whose package builds offline are kept
(the others are recorded as uncheckable), so a failure is the model's, not the sandbox's.
"""
from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

from tqdm import tqdm

from lake import Lake
from evaluation import gobuild
from evaluation.config import EvalConfig
from evaluation.generation import answers
from evaluation.gotasks import CodeTask, close_body
from evaluation.models import Subject
from artifacts.repetition import repetition
from evaluation.results import ItemOutcome, Metric

CATEGORY = "function_body"


def _outcome(task: CodeTask, site: gobuild.PackageSite | None) -> ItemOutcome:
    return ItemOutcome(task.item_id, "code", CATEGORY, task.repo_id, f"{task.path}#{task.name}", task.prompt,
                       task.reference, scores={"site": site.kind if site else None})


def checkable_tasks(lake: Lake, candidates: Iterable[CodeTask], cfg: EvalConfig, workdir: Path
                    ) -> tuple[list[tuple[CodeTask, gobuild.PackageSite, ItemOutcome]], list[ItemOutcome]]:
    """Up to cfg.limit tasks whose original package builds at its site; and the candidates that did not."""
    kept, dropped = [], []
    it = iter(candidates)
    tried, max_tries = 0, cfg.limit * 4
    with ThreadPoolExecutor(cfg.workers) as pool, tqdm(desc="code: checking originals", unit=" tasks",
                                                        leave=False) as bar:
        while len(kept) < cfg.limit and tried < max_tries:
            chunk = [t for _, t in zip(range(max(1, min(cfg.workers, cfg.limit - len(kept)))), it)]
            if not chunk:
                break
            tried += len(chunk)
            sites = [gobuild.locate(lake, t, workdir) for t in chunk]
            # build only: vet (and tests) of the original run later, for the bodies that compile
            results = list(pool.map(lambda ts: gobuild.check(ts[1], ts[0].content, workdir, cfg.go_timeout_s,
                                                              run_vet=False), zip(chunk, sites)))
            for task, site, res in zip(chunk, sites, results):
                item = _outcome(task, site)
                if res.compiles:
                    kept.append((task, site, item))
                else:
                    site.close()
                    item.status, item.scores["error"] = "uncheckable", res.error
                    dropped.append(item)
                bar.update(1)
    return kept, dropped


def run(subject: Subject, tasks: list[tuple[CodeTask, gobuild.PackageSite, ItemOutcome]], cfg: EvalConfig,
        workdir: Path) -> list[Metric]:
    todo = [(t, s, i) for t, s, i in tasks if i.status == "scored"]
    generated = answers(subject, [t.prompt for t, _, _ in todo], cfg.max_prompt_tokens, cfg.code_max_new_tokens,
                        "code: generating bodies", sampling=cfg.sampling, seed=cfg.seed)
    bodies = []
    for (_, _, item), gen in zip(todo, generated):
        item.generation = gen
        bodies.append(close_body(gen))

    def score(args):
        (task, site, item), body = args
        if body is None:
            return gobuild.CheckResult(False, error="the generation does not close the function body")
        tests = cfg.go_test_timeout_s if cfg.go_tests else None
        res = gobuild.check(site, task.with_body(body), workdir, cfg.go_timeout_s, tests_timeout=tests)
        if res.compiles:  # vet and tests count only where the original passes them
            original = gobuild.check(site, task.content, workdir, cfg.go_timeout_s, tests_timeout=tests)
            item.scores.update(original_vet=original.vet, original_tests=original.tests)
        return res

    with ThreadPoolExecutor(cfg.workers) as pool:
        results = list(tqdm(pool.map(score, zip(todo, bodies)), total=len(todo), desc="code: building",
                            unit=" tasks", leave=False))
    for (task, site, item), body, res in zip(todo, bodies, results):
        site.close()
        candidate = body if body is not None else item.generation
        item.scores.update(
            closed=body is not None, compiles=res.compiles, vet=res.vet, tests=res.tests, error=res.error,
            edit_similarity=difflib.SequenceMatcher(None, task.reference, candidate, autojunk=False).ratio(),
            exact_match=" ".join(candidate.split()) == " ".join(task.reference.split()),
            **repetition(item.generation))
    for task, site, item in tasks:
        if item.status != "scored":
            site.close()
    return summarize([i for _, _, i in todo])


def summarize(items: list[ItemOutcome]) -> list[Metric]:
    if not items:
        return []
    n = len(items)

    def rate(key: str, among: list[ItemOutcome]) -> list[Metric]:
        return [Metric("code", f"{key}_rate", CATEGORY, sum(bool(i.scores[key]) for i in among) / len(among),
                       len(among))] if among else []

    rows = [Metric("code", "closed_rate", CATEGORY, sum(i.scores["closed"] for i in items) / n, n),
            Metric("code", "compile_rate", CATEGORY, sum(i.scores["compiles"] for i in items) / n, n),
            Metric("code", "edit_similarity", CATEGORY, sum(i.scores["edit_similarity"] for i in items) / n, n),
            Metric("code", "exact_match", CATEGORY, sum(i.scores["exact_match"] for i in items) / n, n)]
    # a degenerate model (one line over and over) shows here, whatever its compile rate
    rows += [Metric("code", key, CATEGORY, sum(i.scores[key] for i in items) / n, n)
             for key in ("repeated_lines", "repeated_ngrams")]
    # vet and tests are rated among the bodies that compile, where the original passes them (no row when none)
    rows += rate("vet", [i for i in items if i.scores.get("original_vet")])
    rows += rate("tests", [i for i in items if i.scores.get("original_tests")])
    return rows
