"""python -m trainers.evaluate (--ckpt CKPT | --gguf X.gguf) [--suite all|lm|explain|code|fim] [--limit N]
                              [--lake DIR] [--report DIR] [--export-review FILE]
       python -m trainers.evaluate --compare CKPT_A CKPT_B [--suite ...] [--limit N] [--lake DIR] [--report DIR]
       python -m trainers.evaluate --export-review FILE [--run EVAL_RUN] [--lake DIR]
       python -m trainers.evaluate --import-review FILE [--lake DIR]

Evaluates a checkpoint on the lake's held-out repositories (suites lm, explain, code, fim; see trainers/eval/),
writes `evals` and `eval_items` rows and a Markdown report with PNG plots (default under
<lake>/artifacts/reports/<eval_run>/). --compare evaluates both checkpoints (or reuses their latest run with
the same settings) and writes compare.md side by side.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from lake import Lake, LakeError
from lake.edge import run_cli
from evaluation import report, review
from evaluation.config import SUITES, EvalConfig
from evaluation.errors import EvalError
from evaluation.models import load_subject
from evaluation.runner import EvalRun, evaluate
from trainers.errors import TrainerError
from trainers.sampling import GREEDY


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m trainers.evaluate", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--ckpt", help="a trainers checkpoint (.ckpt)")
    what.add_argument("--gguf", help="a GGUF file (scored through llama.cpp)")
    what.add_argument("--compare", nargs=2, metavar=("CKPT_A", "CKPT_B"), help="two checkpoints (or .gguf) side by side")
    p.add_argument("--suite", default="all", help=f"all or a comma-separated subset of {', '.join(SUITES)}")
    p.add_argument("--limit", type=int, default=EvalConfig.limit, help="items per suite and category (default %(default)s)")
    p.add_argument("--lake", default=None, help="lake folder (default $REPO_LLM_LAKE or ./data)")
    p.add_argument("--report", type=Path, default=None, help="folder for report.md / compare.md and the plots")
    p.add_argument("--export-review", type=Path, metavar="FILE", help="write a CSV of sampled generations to rate")
    p.add_argument("--import-review", type=Path, metavar="FILE", help="store the ratings of a filled review CSV")
    p.add_argument("--run", help="the evaluation run to export for review (default: the latest)")
    p.add_argument("--seed", type=int, default=EvalConfig.seed, help="item sampling order")
    p.add_argument("--go-tests", action="store_true", help="also run the packages' own tests (bounded)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="tokens per generated answer "
                   f"(default: {EvalConfig.explain_max_new_tokens} explain, {EvalConfig.code_max_new_tokens} code)")
    p.add_argument("--greedy", action="store_true", help="greedy generation instead of the served sampling "
                   "(trainers/sampling.py: temperature %s, top-p %s, repetition penalty %s)"
                   % (EvalConfig.temperature, EvalConfig.top_p, EvalConfig.repetition_penalty))
    p.add_argument("--ngram", type=int, default=EvalConfig.ngram, help="decontamination n-gram length in words")
    p.add_argument("--contamination-threshold", type=float, default=EvalConfig.contamination_threshold)
    args = p.parse_args(argv)
    if not (args.ckpt or args.gguf or args.compare or args.export_review or args.import_review):
        p.error("give --ckpt, --gguf, --compare, --export-review or --import-review")
    return args


def config_from(args: argparse.Namespace) -> EvalConfig:
    suites = SUITES if args.suite == "all" else tuple(s.strip() for s in args.suite.split(",") if s.strip())
    new = {} if args.max_new_tokens is None else {"explain_max_new_tokens": args.max_new_tokens,
                                                   "code_max_new_tokens": args.max_new_tokens}
    if args.greedy:
        new.update(temperature=GREEDY.temperature, top_p=GREEDY.top_p, top_k=GREEDY.top_k,
                   repetition_penalty=GREEDY.repetition_penalty)
    return EvalConfig(suites=suites, limit=args.limit, seed=args.seed, go_tests=args.go_tests, ngram=args.ngram,
                      contamination_threshold=args.contamination_threshold, **new)


def _load(target: str):
    return load_subject(gguf=target) if target.endswith(".gguf") else load_subject(ckpt=target)


def reusable_run(lk: Lake, checkpoint: str, cfg: EvalConfig) -> str | None:
    """The latest successful run of this checkpoint with exactly these settings, if any."""
    want = {"checkpoint": checkpoint, **json.loads(json.dumps(cfg.as_dict()))}
    rows = lk.query("SELECT run_id, args FROM runs WHERE command = 'trainers.evaluate' AND status = 'ok' "
                    "ORDER BY started_at DESC").to_pylist()
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with Lake(args.lake) as lk:
            if args.import_review:
                result = review.import_review(lk, args.import_review)
                print(f"imported {result['ratings']} ratings: {result['runs']}")
                return 0
            cfg = config_from(args)
            if args.compare:
                runs = []
                for target in args.compare:
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
            eval_run = args.run
            if args.ckpt or args.gguf:
                run = evaluate(lk, load_subject(args.ckpt, args.gguf), cfg, args.ckpt or args.gguf)
                _print_summary(run)
                eval_run = run.eval_run
                out = args.report or lk.artifacts("reports") / eval_run
                print(f"report: {report.write_report(lk, eval_run, out)}")
            if args.export_review:
                eval_run = eval_run or _latest(lk)
                n = review.export_review(lk, eval_run, args.export_review, cfg.review_sample, cfg.seed)
                print(f"review sheet: {args.export_review} ({n} generations of run {eval_run}; {review.RATING_HELP})")
            return 0
    except (TrainerError, LakeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _latest(lk: Lake) -> str:
    rows = lk.query(
        "SELECT run_id FROM runs WHERE command = 'trainers.evaluate' AND status = 'ok' "
        "ORDER BY started_at DESC LIMIT 1").to_pylist()
    if not rows:
        raise EvalError("the lake holds no evaluation run to export (evaluate a checkpoint first)")
    return rows[0]["run_id"]


if __name__ == "__main__":
    sys.exit(run_cli("evaluation", main))
