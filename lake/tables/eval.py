"""Evaluation results, per-item outcomes and human ratings (written by python -m evaluation)."""
from lake.schema import Table, cols

TABLES = [
    Table(
        "evals", "meta", "One row per (evaluation run, suite, metric, category, system).",
        cols(
            ("eval_run", "VARCHAR", "the run_id of the evaluation's `runs` row"),
            ("checkpoint", "VARCHAR", "checkpoint or GGUF path as given"),
            ("suite", "VARCHAR", "lm | explain | code | decontamination | review"),
            ("metric", "VARCHAR", "e.g. bits_per_byte, bleu, compile_rate, contaminated"),
            ("category", "VARCHAR", "NAT | MIX | CODE | all (lm); the pair kind (explain); function_body (code)"),
            ("value", "DOUBLE"),
            ("n", "BIGINT", "items behind the value"),
            ("created_at", "TIMESTAMPTZ"),
            ("system", "VARCHAR", "model (the checkpoint) or the baseline: untrained, unigram, xz -9 (per doc), ..."),
            ("lake_snapshot", "BIGINT", "lake snapshot the evaluation read"),
        ),
        key=("eval_run", "suite", "metric", "category", "system"), scope=("eval_run",),
    ),
    Table(
        "eval_items", "meta", "Every evaluation item of a run: prompt, reference, generation, scores, status.",
        cols(
            ("eval_run", "VARCHAR"),
            ("checkpoint", "VARCHAR"),
            ("item_id", "VARCHAR", "stable across runs: suite prefix + hash of the source"),
            ("suite", "VARCHAR"),
            ("kind", "VARCHAR", "commit_message | pr_explanation | function_body | NAT | MIX | CODE"),
            ("repo_id", "VARCHAR"),
            ("source_id", "VARCHAR", "sample_id, pair_id or <path>#<function>"),
            ("prompt", "VARCHAR"),
            ("reference", "VARCHAR"),
            ("generation", "VARCHAR", "NULL where nothing was generated (lm documents, dropped items)"),
            ("scores", "JSON"),
            ("status", "VARCHAR", "scored | contaminated | uncheckable"),
            ("overlap", "DOUBLE", "share of the item's n-grams found in the train split"),
        ),
        key=("eval_run", "item_id"), scope=("eval_run",),
    ),
    Table(
        "review_ratings", "meta", "Human ratings of sampled generations (python -m evaluation import-review).",
        cols(
            ("eval_run", "VARCHAR"),
            ("item_id", "VARCHAR"),
            ("rater", "VARCHAR"),
            ("rating", "INTEGER", "1 (useless) .. 5 (as good as the reference)"),
            ("comment", "VARCHAR"),
            ("source_file", "VARCHAR", "the CSV the rating came from"),
            ("imported_at", "TIMESTAMPTZ"),
        ),
        key=("eval_run", "item_id", "rater"), scope=("eval_run",),
    ),
]
