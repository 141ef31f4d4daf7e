"""The Markdown report of an evaluation run (or of two side by side) with PNG plots, read back from the lake."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lake import Lake  # noqa: E402
from evaluation.errors import EvalError  # noqa: E402
from evaluation.results import MODEL  # noqa: E402

LOWER_IS_BETTER = {"loss", "perplexity", "bits_per_byte", "response_loss", "response_perplexity", "uncheckable",
                   "contaminated", "max_overlap"}
COUNTS = {"tokens", "bytes", "bytes_per_token"}


def run_metrics(lake: Lake, eval_run: str) -> list[dict]:
    rows = lake.query("SELECT * FROM evals WHERE eval_run = ? ORDER BY suite, metric, category, system",
                      [eval_run]).to_pylist()
    if not rows:
        raise EvalError(f"no evaluation run {eval_run!r} in the lake")
    return rows


def latest_run(lake: Lake, checkpoint: str) -> str | None:
    rows = lake.query("SELECT eval_run FROM evals WHERE checkpoint = ? AND suite <> 'review' "
                      "GROUP BY eval_run ORDER BY max(created_at) DESC LIMIT 1", [checkpoint]).to_pylist()
    return rows[0]["eval_run"] if rows else None


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) and abs(v) >= 1000 else f"{v:.4g}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(c) if isinstance(c, float) else str(c) for c in r) + " |" for r in rows]
    return out + [""]


def _bar_bpb(rows: list[dict], path: Path) -> bool:
    bpb = [r for r in rows if r["suite"] == "lm" and r["metric"] == "bits_per_byte"]
    if not bpb:
        return False
    cats = sorted({r["category"] for r in bpb}, key=lambda c: (c == "all", c))
    systems = sorted({r["system"] for r in bpb}, key=lambda s: (s != MODEL, s))
    fig, ax = plt.subplots(figsize=(3.5 + 1.3 * len(cats) * max(1, len(systems)) / 3, 4))
    width = 0.8 / len(systems)
    for k, system in enumerate(systems):
        vals = {r["category"]: r["value"] for r in bpb if r["system"] == system}
        ax.bar([i + k * width for i in range(len(cats))], [vals.get(c, 0.0) for c in cats], width, label=system)
    ax.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(cats))], cats)
    ax.set_ylabel("bits per byte (lower is better)")
    ax.set_title("Held-out bits per byte: model and baselines")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _bar_metrics(rows: list[dict], suite: str, metrics: list[str], path: Path, title: str) -> bool:
    sel = [r for r in rows if r["suite"] == suite and r["metric"] in metrics and r["system"] == MODEL]
    if not sel:
        return False
    labels = [f"{r['metric']}\n{r['category']}" for r in sel]
    fig, ax = plt.subplots(figsize=(max(4, 1.1 * len(sel)), 3.6))
    ax.bar(range(len(sel)), [r["value"] for r in sel], color="tab:blue")
    ax.set_xticks(range(len(sel)), labels, fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _items(lake: Lake, eval_run: str, status: str) -> list[dict]:
    return lake.query("SELECT suite, kind, source_id, overlap, scores FROM eval_items WHERE eval_run = ? AND status = ? "
                      "ORDER BY suite, kind, source_id", [eval_run, status]).to_pylist()


def write_report(lake: Lake, eval_run: str, out_dir: Path) -> Path:
    """report.md and its PNGs for one run; returns the Markdown file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = run_metrics(lake, eval_run)
    run = lake.query("SELECT args, stats, started_at, ended_at FROM runs WHERE run_id = ?", [eval_run]).to_pylist()
    stats = json.loads(run[0]["stats"]) if run and run[0]["stats"] else {}
    lines = [f"# Evaluation of `{rows[0]['checkpoint']}`", "",
             f"Run `{eval_run}`, lake snapshot {rows[0]['lake_snapshot']}. "
             f"Seconds per stage: {stats.get('seconds', {})}.", ""]
    lm_rows = [r for r in rows if r["suite"] == "lm"]
    if lm_rows:
        lines += ["## Language modelling (test split: held-out repositories)", ""]
        model = [r for r in lm_rows if r["system"] == MODEL]
        cats = sorted({r["category"] for r in model}, key=lambda c: (c == "all", c))
        metrics = ["loss", "perplexity", "bits_per_byte", "bytes_per_token", "tokens", "bytes"]
        lines += _table(["category", "documents", *metrics],
                        [[c, next(r["n"] for r in model if r["category"] == c),
                          *[next((r["value"] for r in model if r["category"] == c and r["metric"] == m), "")
                            for m in metrics]] for c in cats])
        systems = sorted({r["system"] for r in lm_rows if r["metric"] == "bits_per_byte"}, key=lambda s: (s != MODEL, s))
        lines += ["Bits per byte on the same bytes, model against baselines:", ""]
        lines += _table(["system", *cats], [[s, *[next((r["value"] for r in lm_rows if r["system"] == s and r[
            "category"] == c and r["metric"] == "bits_per_byte"), "") for c in cats]] for s in systems])
        if stats.get("unigram_counts_from"):
            lines += [f"The unigram counts come from {stats['unigram_counts_from']}.", ""]
        if _bar_bpb(rows, out_dir / "bits_per_byte.png"):
            lines += ["![bits per byte](bits_per_byte.png)", ""]
    for suite, title, metrics in (
            ("explain", "Commit messages and PR explanations", ["bleu", "rougeL", "response_loss"]),
            ("code", "Function bodies that compile", ["closed_rate", "compile_rate", "vet_rate", "tests_rate",
                                                      "edit_similarity", "exact_match", "repeated_lines",
                                                      "repeated_ngrams"])):
        sel = [r for r in rows if r["suite"] == suite]
        if not sel:
            continue
        lines += [f"## {title}", ""]
        lines += _table(["metric", "category", "value", "n"], [[r["metric"], r["category"], r["value"], r["n"]] for r in sel])
        if _bar_metrics(rows, suite, metrics, out_dir / f"{suite}.png", title):
            lines += [f"![{suite}]({suite}.png)", ""]
    dec = [r for r in rows if r["suite"] == "decontamination"]
    if dec:
        lines += ["## Decontamination", "",
                  "Word n-grams of every item's prompt and reference checked against the train split; items at "
                  "or above the threshold share are dropped from the scores above.", ""]
        lines += _table(["metric", "suite:kind", "value", "items"], [[r["metric"], r["category"], r["value"], r["n"]] for r in dec])
        dirty = _items(lake, eval_run, "contaminated")
        if dirty:
            lines += _table(["suite", "kind", "source", "overlap", "example n-gram"],
                            [[d["suite"], d["kind"], d["source_id"], d["overlap"],
                              "`" + json.loads(d["scores"]).get("overlap_example", "").replace("|", "\\|")[:80] + "`"]
                             for d in dirty])
    review = [r for r in rows if r["suite"] == "review"]
    if review:
        lines += ["## Human review", ""] + _table(["metric", "kind", "value", "ratings"],
                                                  [[r["metric"], r["category"], r["value"], r["n"]] for r in review])
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_compare(lake: Lake, run_a: str, run_b: str, out_dir: Path) -> Path:
    """compare.md: the model rows of two runs side by side, with which side is better, and a plot."""
    out_dir.mkdir(parents=True, exist_ok=True)
    a, b = run_metrics(lake, run_a), run_metrics(lake, run_b)
    key = lambda r: (r["suite"], r["metric"], r["category"])  # noqa: E731
    va = {key(r): r for r in a if r["system"] == MODEL}
    vb = {key(r): r for r in b if r["system"] == MODEL}
    name_a, name_b = a[0]["checkpoint"], b[0]["checkpoint"]
    rows, wins = [], {"A": 0, "B": 0}
    for k in sorted(set(va) | set(vb)):
        x, y = va.get(k), vb.get(k)
        if k[1] in COUNTS or k[0] == "decontamination":
            continue
        better = ""
        if x and y and x["value"] != y["value"]:
            lower = k[1] in LOWER_IS_BETTER
            better = "A" if (x["value"] < y["value"]) == lower else "B"
            wins[better] += 1
        rows.append([k[0], k[1], k[2], x["value"] if x else "", y["value"] if y else "",
                     (y["value"] - x["value"]) if x and y else "", better])
    lines = [f"# `{name_a}` (A) against `{name_b}` (B)", "", f"Runs: A `{run_a}`, B `{run_b}`. "
             f"A is better on {wins['A']} rows, B on {wins['B']}.", ""]
    lines += _table(["suite", "metric", "category", "A", "B", "B - A", "better"], rows)
    bpb = [r for r in rows if r[0] == "lm" and r[1] == "bits_per_byte" and r[3] != "" and r[4] != ""]
    if bpb:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        xs = range(len(bpb))
        ax.bar([i - 0.2 for i in xs], [r[3] for r in bpb], 0.4, label="A")
        ax.bar([i + 0.2 for i in xs], [r[4] for r in bpb], 0.4, label="B")
        ax.set_xticks(list(xs), [r[2] for r in bpb])
        ax.set_ylabel("bits per byte")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "compare_bits_per_byte.png", dpi=110)
        plt.close(fig)
        lines += ["![bits per byte](compare_bits_per_byte.png)", ""]
    path = out_dir / "compare.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
