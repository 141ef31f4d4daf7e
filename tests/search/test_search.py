"""Search index over a small real corpus: real model, real LanceDB, real DuckDB lake."""
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from lake import Lake
from search import (DEFAULT_MODEL, Embedder, IndexConfig, SearchError, SearchIndex, index_samples,
                         near_duplicates, register, register_index, search)
from search.embedder import resolve_model
from search.cli import main
from tests.helpers.search_corpus import DOCS, PLANTED, PLANTED_QUERY, corpus_rows, sample_row
from lake.edge import run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def embedder():
    return Embedder()  # the bundled all-MiniLM-L6-v2, loaded once for the module


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    """A lake with the corpus written and indexed once; tests below only read it."""
    path = tmp_path_factory.mktemp("search") / "lake"
    with Lake(path) as lk:
        lk.write("samples", corpus_rows(), mode="upsert")
        stats = index_samples(lk, IndexConfig(), embedder=embedder, progress=False)
        yield lk, stats


def _ids(hits: pa.Table) -> list[str]:
    return hits.column("sample_id").to_pylist()


def test_index_embeds_every_sample_of_the_chosen_categories(indexed):
    lk, stats = indexed
    assert stats.embedded == stats.rows == len(DOCS)
    assert stats.deleted == 0 and stats.lake_snapshot == lk.snapshot()


@pytest.mark.parametrize("mode", ["vector", "fts", "hybrid"])
def test_search_finds_planted_document_in_top_3(indexed, embedder, mode):
    lk, _ = indexed
    hits = search(lk, PLANTED_QUERY, k=3, mode=mode, embedder=embedder)
    assert PLANTED["sample_id"] in _ids(hits)
    top = hits.to_pylist()[_ids(hits).index(PLANTED["sample_id"])]
    assert (top["repo_id"], top["pr_number"]) == ("acme/webkit", 412)
    assert "nil" in top["snippet"].lower() and "<PR_TITLE>" not in top["snippet"]
    scores = hits.column("score").to_pylist()
    assert scores == sorted(scores, reverse=True)


def test_search_category_filter_returns_only_that_category(indexed, embedder):
    lk, _ = indexed
    hits = search(lk, PLANTED_QUERY, k=20, categories="CODE", mode="hybrid", embedder=embedder)
    assert hits.num_rows == sum(1 for d in DOCS if d[0] == "CODE")
    assert set(hits.column("category").to_pylist()) == {"CODE"}
    assert PLANTED["sample_id"] not in _ids(hits)


def test_search_hits_join_back_to_lake_tables_in_duckdb(indexed, embedder):
    lk, _ = indexed
    register(lk, "hits", search(lk, PLANTED_QUERY, k=5, mode="vector", embedder=embedder))
    joined = lk.query("""SELECT h.rank, h.sample_id, s.license, s.commit, s.bytes
                         FROM hits h JOIN samples s USING (sample_id) ORDER BY h.rank""").to_pylist()
    assert len(joined) == 5
    planted = next(r for r in joined if r["sample_id"] == PLANTED["sample_id"])
    assert (planted["license"], planted["commit"], planted["bytes"]) == (
        PLANTED["license"], PLANTED["commit"], PLANTED["bytes"])

    register_index(lk)
    assert lk.query("""SELECT count(*) n FROM search_index i JOIN samples s
                       ON s.sample_id = i.sample_id AND sha256(s.text) = i.text_hash""").column("n")[0].as_py() == len(DOCS)


def test_near_duplicates_flags_a_paraphrased_eval_text_and_not_an_unrelated_one(indexed, embedder):
    lk, _ = indexed
    paraphrase = PLANTED["text"].replace("Fix nil pointer dereference", "Fix a nil pointer dereference") \
                                .replace("crashing the server", "crashing")
    unrelated = "Write a function that parses an ISO 8601 duration such as P3DT4H into a time.Duration."
    dups = near_duplicates(lk, [unrelated, paraphrase], threshold=0.9, embedder=embedder)
    assert dups.column("eval_index").to_pylist() == [1]
    assert _ids(dups) == [PLANTED["sample_id"]] and dups.column("similarity")[0].as_py() > 0.9
    assert near_duplicates(lk, [paraphrase], threshold=0.9, split="test", embedder=embedder).num_rows == 0


def test_reindex_of_unchanged_snapshot_embeds_nothing_then_only_what_changed(tmp_path, embedder):
    with Lake(tmp_path / "lake") as lk:
        rows = corpus_rows()
        lk.write("samples", rows, mode="upsert")
        first = index_samples(lk, IndexConfig(categories=("NAT", "MIX")), embedder=embedder, progress=False)
        nat_mix = sum(1 for d in DOCS if d[0] in ("NAT", "MIX"))
        assert first.embedded == nat_mix

        before = embedder.texts_encoded
        again = index_samples(lk, IndexConfig(categories=("NAT", "MIX")), embedder=embedder, progress=False)
        assert (again.embedded, again.deleted, again.unchanged, again.rows) == (0, 0, nat_mix, nat_mix)
        assert embedder.texts_encoded == before  # not one text went through the model

        changed = {**rows[1], "text": rows[1]["text"] + "\nAlso retry once on a 503.\n"}
        new = sample_row("NAT", "acme/webkit", "issue", 455, "<REPO>acme/webkit\n<ISSUE>Upload limit is not configurable\n")
        lk.write("samples", [changed, new], mode="upsert")
        lk.write("samples", None, scope=[{"sample_id": rows[2]["sample_id"]}])
        third = index_samples(lk, IndexConfig(categories=("NAT", "MIX")), embedder=embedder, progress=False)
        assert (third.embedded, third.deleted) == (2, 2)  # changed + new embedded; changed + removed deleted
        assert embedder.texts_encoded == before + 2
        assert third.rows == nat_mix and third.lake_snapshot == lk.snapshot()  # one sample in, one out
        register_index(lk)
        indexed_ids = set(lk.query("SELECT sample_id FROM search_index").column("sample_id").to_pylist())
        assert new["sample_id"] in indexed_ids and rows[2]["sample_id"] not in indexed_ids
        hits = search(lk, "retry once on a 503", k=1, mode="fts", embedder=embedder)
        assert _ids(hits) == [rows[1]["sample_id"]]


def test_index_built_with_another_model_is_rebuilt_and_searched_with_that_model(tmp_path, embedder):
    other = tmp_path / "minilm-copy"
    other.symlink_to(resolve_model(DEFAULT_MODEL)[0])  # the same weights under another name
    with Lake(tmp_path / "lake") as lk:
        lk.write("samples", corpus_rows(), mode="upsert")
        index_samples(lk, IndexConfig(categories=("MIX",)), embedder=embedder, progress=False)
        second = Embedder(str(other))
        stats = index_samples(lk, IndexConfig(categories=("MIX",)), embedder=second, progress=False)
        assert stats.rebuilt and stats.embedded == sum(1 for d in DOCS if d[0] == "MIX")
        assert SearchIndex.of(lk).model() == (str(other.resolve()), 384)
        assert SearchIndex.of(lk).last_run()["lake_snapshot"] == lk.snapshot()
        with pytest.raises(SearchError, match="the index was built with"):
            search(lk, PLANTED_QUERY, mode="vector", embedder=embedder)
        assert PLANTED["sample_id"] in _ids(search(lk, PLANTED_QUERY, k=3, mode="vector", embedder=second))


def test_index_limit_embeds_part_and_the_next_run_the_rest(tmp_path, embedder):
    with Lake(tmp_path / "lake") as lk:
        lk.write("samples", corpus_rows(), mode="upsert")
        part = index_samples(lk, IndexConfig(limit=5), embedder=embedder, progress=False)
        assert (part.embedded, part.remaining, part.rows) == (5, len(DOCS) - 5, 5)
        rest = index_samples(lk, IndexConfig(), embedder=embedder, progress=False)
        assert (rest.embedded, rest.unchanged, rest.remaining, rest.rows) == (len(DOCS) - 5, 5, 0, len(DOCS))


def test_cli_search_prints_json_results(indexed, capsys):
    lk, _ = indexed
    assert main(["search", PLANTED_QUERY, "--k", "3", "--mode", "fts", "--format", "json",
                 "--lake", str(lk.root)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["rank"] for r in results] == [1, 2, 3]
    assert PLANTED["sample_id"] in [r["sample_id"] for r in results]
    assert {"score", "repo_id", "pr_number", "path", "snippet"} <= set(results[0])


def test_cli_rejects_unknown_category_on_one_line(indexed, capsys):
    lk, _ = indexed
    assert run_cli("search", main, ["search", "x", "--category", "PROSE", "--mode", "fts", "--lake", str(lk.root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown category 'PROSE'" in err


def test_search_before_any_index_is_a_clear_error(lake):
    with pytest.raises(SearchError, match="run `python -m lake index` first"):
        search(lake, "anything", mode="fts")


@pytest.mark.slow
def test_python_m_lake_index_then_search_end_to_end(tmp_path):
    path = tmp_path / "lake"
    with Lake(path) as lk:
        lk.write("samples", corpus_rows(), mode="upsert")
    run = lambda *a: subprocess.run([sys.executable, "-m", "lake", *a, "--lake", str(path)], cwd=ROOT,
                                    capture_output=True, text=True, timeout=300)
    out = run("index", "--category", "NAT,MIX")
    assert out.returncode == 0, out.stderr
    assert "embedded 9," in out.stdout and "; 9 rows" in out.stdout
    out = run("search", PLANTED_QUERY, "--k", "3")
    assert out.returncode == 0, out.stderr
    assert "PR #412" in out.stdout and "acme/webkit" in out.stdout
    out = run("index", "--model", str(tmp_path / "no-such-model"))
    assert out.returncode == 2 and "Traceback" not in out.stderr and "cannot load embedding model" in out.stderr
    with Lake(path) as lk:
        runs = lk.query("SELECT status, rows_written FROM runs WHERE command = 'lake index' ORDER BY started_at")
        assert runs.to_pylist() == [{"status": "ok", "rows_written": 9}, {"status": "failed", "rows_written": 0}]
