"""One evaluation run, in order: gather held-out items, decontaminate them against train, run the suites,
write every metric and item to the lake in one commit, and write the report."""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lake import Lake, Write
from evaluation import baselines, code, data, explain, fim, lm
from evaluation.config import EvalConfig
from evaluation.decontamination import find_contaminated
from evaluation.errors import EvalError
from evaluation.gotasks import select_tasks
from evaluation.models import Subject
from evaluation.results import ItemOutcome, Metric, item_rows, metric_rows

# The runs table's name for an evaluation: kept from before the stage left trainers/, so the runs a lake
# already holds are still found (compare reuses them, export-review defaults to the latest).
RUN_COMMAND = "trainers.evaluate"


@dataclass
class EvalRun:
    eval_run: str
    checkpoint: str
    snapshot: int
    metrics: list[Metric] = field(default_factory=list)
    items: list[ItemOutcome] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _lm_items(lake: Lake, cfg: EvalConfig) -> list[ItemOutcome]:
    items = []
    for category in data.CATEGORIES:
        for d in data.test_documents(lake, category, cfg.limit, cfg.seed):
            text = lm.cut_bytes(d["text"], cfg.max_doc_bytes)
            items.append(ItemOutcome("lm:" + d["sample_id"][:16], "lm", category, d["repo_id"], d["sample_id"],
                                     text, ""))
    return items


def evaluate(lake: Lake, subject: Subject, cfg: EvalConfig, checkpoint: str | None = None) -> EvalRun:
    """Run cfg.suites on subject against the lake as it is now; returns what was written."""
    checkpoint = checkpoint or subject.name
    args = {"checkpoint": checkpoint, **cfg.as_dict()}
    with lake.run(RUN_COMMAND, args) as record, tempfile.TemporaryDirectory(prefix="repo-llm-eval-") as tmp:
        run = EvalRun(record.run_id, checkpoint, lake.snapshot())
        workdir, cache = Path(tmp), lake.artifacts("eval") / "bin"

        t = time.perf_counter()
        lm_items = _lm_items(lake, cfg) if "lm" in cfg.suites else []
        pair_items = [i for kind in data.PAIR_KINDS for i in explain.items_from_pairs(
            data.test_pairs(lake, kind, cfg.limit, cfg.seed))] if "explain" in cfg.suites else []
        code_tasks, code_dropped, fim_items = [], [], []
        if "fim" in cfg.suites:
            fim.sentinel_ids(subject)  # refuse a model without sentinels before any work
        if "code" in cfg.suites or "fim" in cfg.suites:
            candidates = select_tasks(data.held_out_go_files(lake, cfg.seed), cache, cfg.min_body_lines,
                                      cfg.max_body_lines)
            code_tasks, code_dropped = code.checkable_tasks(lake, candidates, cfg, workdir)
            if "fim" in cfg.suites:  # the same functions and package sites, middles instead of whole bodies
                fim_items = [(f, site, fim.outcome(f, site)) for task, site, _ in code_tasks for f in fim.fim_tasks(task)]
            if "code" not in cfg.suites:
                code_dropped = []
        run.seconds["gather"] = time.perf_counter() - t
        if not (lm_items or pair_items or code_tasks or code_dropped or fim_items):
            raise EvalError(f"the lake at {lake.root} holds no test-split samples, sft_pairs or held-out Go files "
                            f"for suites {', '.join(cfg.suites)} (run the transforms first)")

        t = time.perf_counter()
        probes = {i.item_id: i.prompt for i in lm_items}
        probes.update({i.item_id: f"{i.prompt}\n{i.reference}" for i in pair_items})
        probes.update({item.item_id: task.probe for task, _, item in code_tasks})
        probes.update({item.item_id: f.task.probe for f, _, item in fim_items})
        overlaps, dirty = find_contaminated(probes, data.train_texts(lake), cfg.ngram, cfg.contamination_threshold)
        code_items = [item for _, _, item in code_tasks] if "code" in cfg.suites else []
        scored = lm_items + pair_items + code_items + [item for _, _, item in fim_items]
        for item in scored:
            item.overlap = overlaps[item.item_id].fraction
            if item.item_id in dirty:
                item.status = "contaminated"
                item.scores["overlap_example"] = overlaps[item.item_id].example
        run.metrics += decontamination_metrics(scored)
        run.seconds["decontamination"] = time.perf_counter() - t

        if lm_items:
            t = time.perf_counter()
            docs = {c: [i.prompt for i in lm_items if i.kind == c and i.status == "scored"] for c in data.CATEGORIES}
            docs = {c: v for c, v in docs.items() if v}
            run.metrics += lm.summarize(lm.score_documents(subject, docs, cfg.window_overlap, "lm: scoring"))
            run.seconds["lm"] = time.perf_counter() - t
            t = time.perf_counter()
            run.metrics += baselines.compression(docs)
            counts, source = baselines.unigram_counts(lake, subject, subject.vocab_size)
            record.stats["unigram_counts_from"] = source
            run.metrics += baselines.unigram(docs, subject, counts)
            if subject.seed is not None:  # a GGUF carries no seed: no untrained twin
                run.metrics += baselines.untrained(docs, subject, cfg.window_overlap)
            run.seconds["baselines"] = time.perf_counter() - t
        if pair_items:
            t = time.perf_counter()
            run.metrics += explain.run(subject, pair_items, cfg)
            run.seconds["explain"] = time.perf_counter() - t
        if fim_items:  # before the code suite, which closes the package sites both use
            t = time.perf_counter()
            run.metrics += fim.run(subject, fim_items, cfg, workdir)
            run.seconds["fim"] = time.perf_counter() - t
        if "code" not in cfg.suites:
            for _, site, _ in code_tasks:
                site.close()
        if "code" in cfg.suites:
            t = time.perf_counter()
            run.metrics += code.run(subject, code_tasks, cfg, workdir)
            run.metrics.append(Metric("code", "uncheckable", code.CATEGORY, len(code_dropped),
                                      len(code_dropped) + len(code_tasks)))
            run.seconds["code"] = time.perf_counter() - t
        run.items = scored + code_dropped
        record.stats["seconds"] = {k: round(v, 2) for k, v in run.seconds.items()}
        record.stats["items"] = {s: sum(1 for i in run.items if i.suite == s) for s in ("lm", "explain", "code", "fim")}
        rows = metric_rows(run.eval_run, checkpoint, run.snapshot, run.metrics)
        lake.commit([Write("evals", rows, "scope"), Write("eval_items", item_rows(run.eval_run, checkpoint, run.items),
                                                            "scope")], message=f"evaluate {checkpoint}")
        record.rows += len(rows)
    return run


def decontamination_metrics(items: list[ItemOutcome]) -> list[Metric]:
    rows = []
    for suite in sorted({i.suite for i in items}):
        for kind in sorted({i.kind for i in items if i.suite == suite}):
            group = [i for i in items if i.suite == suite and i.kind == kind]
            dirty = sum(i.status == "contaminated" for i in group)
            rows.append(Metric("decontamination", "contaminated", f"{suite}:{kind}", dirty, len(group)))
            rows.append(Metric("decontamination", "max_overlap", f"{suite}:{kind}", max(i.overlap for i in group),
                               len(group)))
    return rows
