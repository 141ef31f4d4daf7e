"""The evaluator end to end on a tiny trained checkpoint: a real lake of GOROOT Go text (train) and a held-out
repository (test), the real tokenizer and packer, a few real training steps through `python -m trainers.fit`,
then `python -m evaluation` itself."""
from __future__ import annotations

import csv
import difflib
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lake import Lake
from tests.helpers.go_corpus import goroot
from tests.helpers.held_out import HELD, sample  # HELD: the held-out repository (test split)
from tests.helpers.lakefill import row

ROOT = Path(__file__).resolve().parents[2]
HELD_PACKAGES = {                   # its path -> the GOROOT file it holds
    "list/list.go": "container/list/list.go",                 # materialised from the lake to build
    "container/ring/ring.go": "container/ring/ring.go",       # byte-identical to GOROOT: built there
    "tabwriter/tabwriter.go": "text/tabwriter/tabwriter.go",
}
EXCLUDED_FROM_TRAIN = ("container/", "text/tabwriter/")


_FUNC = re.compile(r"^func [^\n]*\{\n(?:.*\n)*?^\}\n", re.M)


def commit_pair(split: str, repo: str, path: str, content: str) -> dict | None:
    """A real diff (one function removed from a real file) and a commit message for it."""
    m = _FUNC.search(content)
    if not m:
        return None
    name = re.match(r"func (?:\([^)]*\) )?(\w+)", m.group(0)).group(1)
    after = content[:m.start()] + content[m.end():]
    diff = "".join(difflib.unified_diff(content.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}"))
    pkg = path.rsplit("/", 2)[-2] if "/" in path else "root"
    return row("sft_pairs", pair_id=hashlib.sha256(f"{repo}\0{path}\0pair".encode()).hexdigest(),
               kind="commit_message", split=split, prompt=f"<DIFF>{diff}", response=f"{pkg}: remove {name}",
               repo_id=repo, license="BSD-3-Clause", commit="c0", path=path, source_table="commits")


def build_eval_lake(lk: Lake, max_train_files: int = 160) -> dict:
    src = goroot() / "src"
    paths = sorted(p for p in src.rglob("*") if p.suffix in (".go", ".md") and p.is_file()
                   and "testdata" not in p.parts and p.stat().st_size <= 5000)
    samples, pairs = [], []
    for p in paths[::29][:max_train_files]:
        rel = p.relative_to(src).as_posix()
        if rel.startswith(EXCLUDED_FROM_TRAIN):
            continue
        content = p.read_text("utf-8")
        split = "val" if int(hashlib.sha256(rel.encode()).hexdigest()[:2], 16) < 26 else "train"
        samples.append(sample(split, "golang/go", rel, content))
        if rel.endswith(".go") and (pair := commit_pair(split, "golang/go", rel, content)):
            pairs.append(pair)
    train = [s for s in samples if s["split"] == "train" and s["category"] != "NAT"]
    held_files = {"go.mod": f"module {HELD}\n\ngo 1.22\n"}
    for path, gopath in HELD_PACKAGES.items():
        held_files[path] = (src / gopath).read_text("utf-8")
        samples.append(sample("test", HELD, path, held_files[path]))
        pairs.append(commit_pair("test", HELD, path, held_files[path]))
    for md in ("cmd/go/internal/modindex/read.go",):  # a MIX/CODE document beside the packages
        samples.append(sample("test", HELD, md, (src / md).read_text("utf-8")[:6000]))
    nat = [p for p in paths if p.suffix == ".md"][:2]
    for p in nat:
        samples.append(sample("test", HELD, f"docs/{p.name}", p.read_text("utf-8")))
    # copied from the train split: decontamination must catch these
    copied = train[0]
    samples.append({**copied, "sample_id": "f" * 64, "split": "test", "repo_id": HELD})
    train_pair = next(p for p in pairs if p["split"] == "train")
    pairs.append({**train_pair, "pair_id": "e" * 64, "split": "test", "repo_id": HELD})
    lk.write("samples", samples, mode="overwrite")
    lk.write("sft_pairs", pairs, mode="overwrite")
    lk.write("repos", [row("repos", repo_id=HELD, name=HELD, license="BSD-3-Clause")], mode="overwrite")
    lk.write("files", [row("files", repo_id=HELD, commit="c0", path=p, content=c, size=len(c.encode()),
                           language="Go" if p.endswith(".go") else "") for p, c in held_files.items()], mode="scope")
    from transforms.packer import PackConfig, pack
    from transforms.tokenizer import train_tokenizer
    tok = train_tokenizer(lk, 400, sample_bytes=400_000, progress=False)
    pack(lk, PackConfig(seq_len=128, workers=1, progress=False))
    return {"tokenizer": tok, "copied_sample": copied, "copied_pair": train_pair}


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """(lake path, checkpoint, what the lake holds): a few real optimiser steps of a tiny Llama."""
    base = tmp_path_factory.mktemp("eval")
    lake_path = base / "lake"
    with Lake(lake_path) as lk:
        built = build_eval_lake(lk)
    run_dir = base / "run"
    cmd = [sys.executable, "-m", "trainers.fit", "--config", str(ROOT / "trainers/configs/tiny-cpu.yaml"),
           "--data.lake", str(lake_path), "--run_dir", str(run_dir), "--trainer.max_steps", "4",
           "--trainer.val_check_interval", "4", "--trainer.enable_progress_bar", "false",
           "--trainer.log_every_n_steps", "1", "--model.d_model", "48", "--model.n_layers", "2",
           "--model.n_heads", "4", "--model.n_kv_heads", "2", "--model.ffn_hidden", "96", "--model.warmup_steps", "1",
           "--data.init_args.batch_size", "4", "--data.init_args.seq_len", "128",
           "--data.init_args.val_tokens_per_category", "2048", "--data.init_args.stages", "null"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    ckpt = next((run_dir / "checkpoints").glob("final*.ckpt"))
    return lake_path, ckpt, built


def evaluate_cli(lake_path: Path, command: str, *args: str) -> int:
    """`python -m evaluation COMMAND ... --lake LAKE` in this process, through the CLI edge (one line, exit 2)."""
    from evaluation.cli import main
    from lake.edge import run_cli
    return run_cli("evaluation", main, [command, *args, "--lake", str(lake_path)])


@pytest.fixture(scope="session")
def evaluated(trained, tmp_path_factory):
    """One `--suite all` run of the tiny checkpoint: (lake path, checkpoint, eval_run, report folder)."""
    lake_path, ckpt, built = trained
    report = tmp_path_factory.mktemp("report")
    assert evaluate_cli(lake_path, "run", str(ckpt), "--suite", "all", "--limit", "5", "--report", str(report)) == 0
    with Lake(lake_path) as lk:
        eval_run = lk.query("SELECT run_id FROM runs WHERE command = 'trainers.evaluate' AND status = 'ok' "
                            "ORDER BY started_at DESC LIMIT 1").column(0)[0].as_py()
    return lake_path, ckpt, eval_run, report, built


@pytest.mark.slow
def test_evaluate_every_suite_writes_rows_for_the_checkpoint(evaluated):
    lake_path, ckpt, eval_run, _, _ = evaluated
    with Lake(lake_path) as lk:
        rows = lk.query("SELECT suite, metric, category, system, value, n, checkpoint FROM evals WHERE eval_run = ?",
                        [eval_run]).to_pylist()
    got = {(r["suite"], r["metric"]) for r in rows if r["system"] == "model"}
    for want in [("lm", "bits_per_byte"), ("lm", "loss"), ("lm", "perplexity"), ("explain", "bleu"),
                 ("explain", "rougeL"), ("code", "compile_rate"), ("code", "closed_rate"), ("code", "edit_similarity"),
                 ("decontamination", "contaminated"), ("fim", "exact_match"), ("fim", "edit_similarity"),
                 ("fim", "compile_rate")]:
        assert want in got, want
    assert {r["checkpoint"] for r in rows} == {str(ckpt)}
    bpb = {(r["category"], r["system"]): r["value"] for r in rows if r["metric"] == "bits_per_byte"}
    for system in ("model", "untrained", "unigram", "xz -9 (per doc)", "xz -9 (concatenated)", "zstd -19 (per doc)",
                   "zstd -19 (concatenated)"):
        assert 0 < bpb[("all", system)] < 16, system
    # the code suite really built packages: every kept task's original body compiled at its site
    code = next(r for r in rows if r["metric"] == "compile_rate")
    assert code["n"] >= 2
    # two middles per function at most (one single-line, one multi-line), the same functions as the code suite
    fim_n = {r["category"]: r["n"] for r in rows if r["suite"] == "fim" and r["metric"] == "compile_rate"}
    assert 1 <= fim_n.get("single_line", 0) <= 5 and fim_n.get("multi_line", 0) <= fim_n["single_line"]


@pytest.mark.slow
def test_evaluate_lm_bits_per_byte_match_the_token_losses(trained):
    """bits per byte recomputed here, apart from evaluation/lm.py: the model's own log-probabilities in one
    forward pass per document (each fits one window), summed in nats, over the documents' UTF-8 bytes."""
    import math

    import torch

    from evaluation.config import EvalConfig
    from evaluation.models import load_checkpoint
    from evaluation.runner import evaluate
    lake_path, ckpt, _ = trained
    subject = load_checkpoint(ckpt)
    with Lake(lake_path) as lk:
        run = evaluate(lk, subject, EvalConfig(suites=("lm",), limit=5, max_doc_bytes=120), str(ckpt))
        for table, column in (("evals", "eval_run"), ("eval_items", "eval_run"), ("runs", "run_id")):
            lk.con.execute(f"DELETE FROM {table} WHERE {column} = ?", [run.eval_run])  # the other tests' latest run
    got = {(m.metric, m.category): m.value for m in run.metrics if m.suite == "lm" and m.system == "model"}
    texts = [i.prompt for i in run.items if i.suite == "lm" and i.status == "scored"]
    nll, nbytes = 0.0, 0
    for text in texts:
        ids = [subject.eos_id] + list(subject.tokenizer.encode(text)) + [subject.eos_id]
        assert len(ids) <= subject.ctx_len
        with torch.no_grad():
            logits = subject.model(input_ids=torch.tensor([ids])).logits[0, :-1].double()
        nll += float(torch.nn.functional.cross_entropy(logits, torch.tensor(ids[1:]), reduction="sum"))
        nbytes += len(text.encode("utf-8"))
    assert len(texts) >= 3 and got[("bytes", "all")] == nbytes
    assert got[("bits_per_byte", "all")] == pytest.approx(nll / nbytes / math.log(2), rel=1e-4)


@pytest.mark.slow
def test_evaluate_decontamination_drops_items_copied_from_train(evaluated):
    lake_path, _, eval_run, report, built = evaluated
    with Lake(lake_path) as lk:
        items = {r["source_id"]: r for r in lk.query(
            "SELECT source_id, status, overlap, suite FROM eval_items WHERE eval_run = ?", [eval_run]).to_pylist()}
    assert items["f" * 64]["status"] == "contaminated" and items["f" * 64]["overlap"] == 1.0
    assert items["e" * 64]["status"] == "contaminated"
    held = [s for s in items.values() if s["suite"] == "lm" and s["status"] == "scored"]
    assert held and all(s["overlap"] < 0.5 for s in held)
    text = (report / "report.md").read_text()
    assert "f" * 64 in text and "## Decontamination" in text


@pytest.mark.slow
def test_evaluate_report_has_markdown_tables_and_png_plots(evaluated):
    _, _, _, report, _ = evaluated
    text = (report / "report.md").read_text()
    assert "| system |" in text and "xz -9 (per doc)" in text
    for png in ("bits_per_byte.png", "explain.png", "code.png"):
        assert f"]({png})" in text
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_evaluate_review_round_trip_stores_ratings_and_their_mean(evaluated, tmp_path):
    lake_path, _, eval_run, _, _ = evaluated
    sheet = tmp_path / "review.csv"
    assert evaluate_cli(lake_path, "export-review", str(sheet), "--run", eval_run) == 0
    rows = list(csv.DictReader(sheet.open()))
    assert rows and {r["suite"] for r in rows} <= {"explain", "code", "fim"} and all(r["rating"] == "" for r in rows)
    for k, r in enumerate(rows):
        r.update(rating=str(1 + k % 5), rater="ada", comment="checked")
    with sheet.open("w", newline="") as f:
        w = csv.DictWriter(f, rows[0].keys())
        w.writeheader()
        w.writerows(rows)
    assert evaluate_cli(lake_path, "import-review", str(sheet)) == 0
    with Lake(lake_path) as lk:
        stored = lk.query("SELECT item_id, rating FROM review_ratings WHERE eval_run = ?", [eval_run]).to_pylist()
        means = {r["category"]: r for r in lk.query(
            "SELECT category, value, n FROM evals WHERE eval_run = ? AND suite = 'review'", [eval_run]).to_pylist()}
    assert sorted(r["rating"] for r in stored) == sorted(int(r["rating"]) for r in rows)
    for kind in {r["kind"] for r in rows}:
        mine = [int(r["rating"]) for r in rows if r["kind"] == kind]
        assert means[kind]["value"] == pytest.approx(sum(mine) / len(mine)) and means[kind]["n"] == len(mine)


@pytest.mark.slow
def test_evaluate_import_review_rejects_a_bad_rating_and_writes_nothing(evaluated, tmp_path, capsys):
    lake_path, _, eval_run, _, _ = evaluated
    with Lake(lake_path) as lk:
        item = lk.query("SELECT item_id FROM eval_items WHERE eval_run = ? AND generation IS NOT NULL LIMIT 1",
                        [eval_run]).column(0)[0].as_py()
        before = lk.count("review_ratings")
    sheet = tmp_path / "bad.csv"
    sheet.write_text(f"eval_run,item_id,rating,rater\n{eval_run},{item},4,bob\n{eval_run},{item},nine,bob\n")
    assert evaluate_cli(lake_path, "import-review", str(sheet)) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "nine" in err and len(err.strip().splitlines()) == 1
    with Lake(lake_path) as lk:
        assert lk.count("review_ratings") == before


@pytest.mark.slow
def test_evaluate_compare_puts_two_checkpoints_side_by_side(evaluated, tmp_path):
    lake_path, ckpt, eval_run, _, _ = evaluated
    other = tmp_path / "other.ckpt"
    other.write_bytes(ckpt.read_bytes())  # the same weights under another name: every row ties
    out = tmp_path / "cmp"
    assert evaluate_cli(lake_path, "compare", str(ckpt), str(other), "--suite", "lm", "--limit", "2",
                        "--report", str(out)) == 0
    text = (out / "compare.md").read_text()
    assert f"`{ckpt}` (A)" in text and "bits_per_byte" in text
    lines = [l for l in text.splitlines() if l.startswith("| lm | bits_per_byte |")]
    assert lines and all(l.rstrip().endswith("|  |") for l in lines)  # identical weights: no side is better
    assert (out / "compare_bits_per_byte.png").exists()


def test_evaluate_cli_rejects_a_missing_checkpoint_in_one_line(tmp_path, capsys):
    assert evaluate_cli(tmp_path / "lake", "run", str(tmp_path / "nope.ckpt"), "--suite", "lm") == 2
    err = capsys.readouterr().err.strip()
    assert "nope.ckpt" in err and len(err.splitlines()) == 1


def test_evaluate_cli_rejects_an_unknown_suite(tmp_path, capsys):
    assert evaluate_cli(tmp_path / "lake", "run", "x.ckpt", "--suite", "poetry") == 2
    assert "poetry" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_gguf_export_scores_the_same_bits_per_byte_as_its_checkpoint(evaluated, tmp_path):
    """The exporter's f32 GGUF, scored through llama.cpp, on the same held-out bytes as the checkpoint."""
    lake_path, ckpt, eval_run, _, _ = evaluated
    gguf = tmp_path / "tiny.gguf"
    p = subprocess.run([sys.executable, "-m", "exporters", "gguf", "--ckpt", str(ckpt), "--out", str(gguf),
                        "--type", "f32"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert evaluate_cli(lake_path, "gguf", str(gguf), "--suite", "lm", "--limit", "5",
                        "--report", str(tmp_path / "r")) == 0
    with Lake(lake_path) as lk:
        rows = lk.query("SELECT checkpoint, category, value FROM evals WHERE suite = 'lm' AND metric = 'bits_per_byte' "
                        "AND system = 'model' AND (eval_run = ? OR checkpoint = ?)", [eval_run, str(gguf)]).to_pylist()
    ours = {r["category"]: r["value"] for r in rows if r["checkpoint"] == str(ckpt)}
    theirs = {r["category"]: r["value"] for r in rows if r["checkpoint"] == str(gguf)}
    assert ours.keys() == theirs.keys() and ours
    for category in ours:
        assert theirs[category] == pytest.approx(ours[category], rel=2e-3), category


@pytest.mark.slow
def test_evaluate_an_empty_lake_fails_in_one_line_and_records_the_failed_run(trained, tmp_path, capsys):
    _, ckpt, _ = trained
    assert evaluate_cli(tmp_path / "empty", "run", str(ckpt), "--suite", "lm") == 2
    err = capsys.readouterr().err.strip()
    assert "no test-split samples" in err and len(err.splitlines()) == 1
    with Lake(tmp_path / "empty") as lk:
        assert lk.query("SELECT status FROM runs WHERE command = 'trainers.evaluate'").column(0).to_pylist() == ["failed"]
        assert lk.count("evals") == 0
