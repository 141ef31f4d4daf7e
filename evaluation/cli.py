"""python -m evaluation run CKPT | gguf FILE.gguf  [--suite all|lm|explain|code|fim] [--limit N] [--report DIR]
       python -m evaluation compare A B [--suite ...] [--limit N] [--report DIR]
       python -m evaluation export-review FILE [--run EVAL_RUN]
       python -m evaluation import-review FILE
       (every subcommand also takes --lake DIR, --data-path DIR, --quiet)

Evaluates a checkpoint (run) or a GGUF file through llama.cpp (gguf) on the lake's held-out repositories (suites
lm, explain, code, fim; see evaluation/), writes `evals` and `eval_items` rows and a Markdown report with PNG
plots (default under <lake>/artifacts/reports/<eval_run>/). compare evaluates two checkpoints or GGUF files (or
reuses their latest run with the same settings) and writes compare.md side by side.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path

from lake import Lake
from lake.options import lake_options, open_lake
from evaluation import report, review
from evaluation.config import SUITES, EvalConfig
from evaluation.errors import EvalError
from evaluation.models import load_subject
from evaluation.runner import RUN_COMMAND, EvalRun, evaluate
from artifacts.sampling import GREEDY


def _suite_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--suite", default="all", help=f"all or a comma-separated subset of {', '.join(SUITES)}")
    p.add_argument("--limit", type=int, default=EvalConfig.limit, help="items per suite and category (default %(default)s)")
    p.add_argument("--report", type=Path, default=None, help="folder for report.md / compare.md and the plots")
    p.add_argument("--seed", type=int, default=EvalConfig.seed, help="item sampling order")
    p.add_argument("--go-tests", action="store_true", help="also run the packages' own tests (bounded)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="tokens per generated answer "
                   f"(default: {EvalConfig.explain_max_new_tokens} explain, {EvalConfig.code_max_new_tokens} code)")
    p.add_argument("--greedy", action="store_true", help="greedy generation instead of the served sampling "
                   "(artifacts/sampling.py: temperature %s, top-p %s, repetition penalty %s)"
                   % (EvalConfig.temperature, EvalConfig.top_p, EvalConfig.repetition_penalty))
    p.add_argument("--ngram", type=int, default=EvalConfig.ngram, help="decontamination n-gram length in words")
    p.add_argument("--contamination-threshold", type=float, default=EvalConfig.contamination_threshold)
    return p


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    common, suites = lake_options(), _suite_options()
    p = sub.add_parser("run", parents=[suites, common], help="score a trainers checkpoint (.ckpt)")
    p.add_argument("ckpt", metavar="CKPT")
    p = sub.add_parser("gguf", parents=[suites, common], help="score a GGUF file through llama.cpp")
    p.add_argument("gguf", metavar="FILE.gguf")
    p = sub.add_parser("compare", parents=[suites, common],
                       help="two checkpoints (or .gguf) side by side, reusing a run with the same settings")
    p.add_argument("targets", nargs=2, metavar=("A", "B"))
    p = sub.add_parser("export-review", parents=[common], help="write a CSV of sampled generations to rate")
    p.add_argument("sheet", type=Path, metavar="FILE")
    p.add_argument("--run", help="the evaluation run to export (default: the latest)")
    p.add_argument("--seed", type=int, default=EvalConfig.seed, help="sampling order of the generations")
    p = sub.add_parser("import-review", parents=[common], help="store the ratings of a filled review CSV")
    p.add_argument("sheet", type=Path, metavar="FILE")
    return ap


def config_from(args: argparse.Namespace) -> EvalConfig:
    suites = SUITES if args.suite == "all" else tuple(s.strip() for s in args.suite.split(",") if s.strip())
    new = {} if args.max_new_tokens is None else {"explain_max_new_tokens": args.max_new_tokens,
                                                   "code_max_new_tokens": args.max_new_tokens}
    if args.greedy:
        new.update(temperature=GREEDY.temperature, top_p=GREEDY.top_p, top_k=GREEDY.top_k,
                   repetition_penalty=GREEDY.repetition_penalty)
    return EvalConfig(suites=suites, limit=args.limit, seed=args.seed, go_tests=args.go_tests, ngram=args.ngram,
                      contamination_threshold=args.contamination_threshold, **new)


def _load(target: str):  # compare takes either kind
    return load_subject(gguf=target) if target.endswith(".gguf") else load_subject(ckpt=target)


def reusable_run(lk: Lake, checkpoint: str, cfg: EvalConfig) -> str | None:
    """The latest successful run of this checkpoint with exactly these settings, if any."""
    want = {"checkpoint": checkpoint, **json.loads(json.dumps(cfg.as_dict()))}
    rows = lk.query("SELECT run_id, args FROM runs WHERE command = ? AND status = 'ok' "
                    "ORDER BY started_at DESC", [RUN_COMMAND]).to_pylist()
    for r in rows:
        args = json.loads(r["args"])
        if all(args.get(f.name) == want[f.name] for f in fields(EvalConfig)) and args.get("checkpoint") == checkpoint:
            if lk.query("SELECT 1 FROM evals WHERE eval_run = ? LIMIT 1", [r["run_id"]]).num_rows:
                return r["run_id"]
    return None


def _print_summary(run: EvalRun) -> None:
    print(f"eval_run {run.eval_run} ({run.checkpoint}, lake snapshot {run.snapshot})")
    for m in run.metrics:
        if m.system == "model" and m.metric in ("bits_per_byte", "bleu", "rougeL", "compile_rate", "vet_rate",
                                                  "edit_similarity", "repeated_lines", "repeated_ngrams", "exact_match",
                                                  "contaminated", "uncheckable"):
            print(f"  {m.suite:15s} {m.metric:16s} {m.category:22s} {m.value:10.4f}  (n={m.n})")
    print("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in run.seconds.items()))


def _score(lk: Lake, args: argparse.Namespace, ckpt: str | None = None, gguf: str | None = None) -> int:
    cfg = config_from(args)  # a bad --suite is named before a model is loaded
    run = evaluate(lk, load_subject(ckpt, gguf), cfg, ckpt or gguf)
    _print_summary(run)
    out = args.report or lk.artifacts("reports") / run.eval_run
    print(f"report: {report.write_report(lk, run.eval_run, out)}")
    return 0


def _compare(lk: Lake, args: argparse.Namespace) -> int:
    cfg, runs = config_from(args), []
    for target in args.targets:
        eval_run = reusable_run(lk, target, cfg)
        if eval_run is None:
            run = evaluate(lk, _load(target), cfg, target)
            _print_summary(run)
            eval_run = run.eval_run
        else:
            print(f"reusing eval_run {eval_run} for {target}")
        runs.append(eval_run)
    out = args.report or lk.artifacts("reports") / f"compare-{runs[0][:8]}-{runs[1][:8]}"
    print(f"comparison: {report.write_compare(lk, runs[0], runs[1], out)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with open_lake(args) as lk:
        if args.command == "run":
            return _score(lk, args, ckpt=args.ckpt)
        if args.command == "gguf":
            return _score(lk, args, gguf=args.gguf)
        if args.command == "compare":
            return _compare(lk, args)
        if args.command == "import-review":
            result = review.import_review(lk, args.sheet)
            print(f"imported {result['ratings']} ratings: {result['runs']}")
            return 0
        eval_run = args.run or _latest(lk)
        n = review.export_review(lk, eval_run, args.sheet, EvalConfig.review_sample, args.seed)
        print(f"review sheet: {args.sheet} ({n} generations of run {eval_run}; {review.RATING_HELP})")
        return 0


def _latest(lk: Lake) -> str:
    rows = lk.query(
        "SELECT run_id FROM runs WHERE command = ? AND status = 'ok' "
        "ORDER BY started_at DESC LIMIT 1", [RUN_COMMAND]).to_pylist()
    if not rows:
        raise EvalError("the lake holds no evaluation run to export (evaluate a checkpoint first)")
    return rows[0]["run_id"]

