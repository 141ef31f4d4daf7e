"""Search index figures at 10k documents cut from real Go source (GOROOT/src).

    nice .venv/bin/python bench/search_bench.py [--docs 10000] [--queries 50]

Prints embedding throughput (the whole `index_samples` pipeline against the bare model on the same texts,
in this process), the cost of re-indexing an unchanged snapshot, and query latency (median, p95) for each
mode against an exact numpy top-k over the same vectors.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("LANCEDB_LOG", "error")

from lake import Lake  # noqa: E402
from lake.catalog import table as declared  # noqa: E402
from search import Embedder, IndexConfig, SearchIndex, index_samples, search  # noqa: E402


def goroot() -> Path:
    go = Path(sys.executable).parent / "go"
    return Path(subprocess.run([str(go), "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())


def go_documents(n: int, chunk_chars: int):
    """(path, text) pieces of GOROOT's .go files, cut at line ends, in a stable order, until there are n."""
    root = goroot() / "src"
    made = 0
    for path in sorted(root.rglob("*.go")):
        rel = str(path.relative_to(root))
        lines, piece = path.read_text(encoding="utf-8").splitlines(keepends=True), ""
        part = 0
        for line in lines + [None]:
            if line is None or (piece and len(piece) + len(line) > chunk_chars):
                if piece.strip():
                    yield f"{rel}#{part}", piece
                    made, part = made + 1, part + 1
                    if made == n:
                        return
                piece = ""
            if line is not None:
                piece += line


def samples_table(docs) -> pa.Table:
    cols = {c.name: [] for c in declared("samples").columns}
    for key, body in docs:
        text = f"<FILE path={key.split('#')[0]}>\n{body}"
        values = {"sample_id": hashlib.sha256(key.encode()).hexdigest(), "split": "train", "category": "CODE",
                  "category_rule": "bench", "text": text, "bytes": len(text.encode()), "repo_id": "golang/go",
                  "license": "BSD-3-Clause", "path": key.split("#")[0], "source_table": "files", "lake_snapshot": 0}
        for name in cols:
            cols[name].append(values.get(name))
    return pa.table(cols)


def queries_from(texts: list[str], n: int) -> list[str]:
    """Doc-comment lines of the corpus: what a person might type, and each has a true answer in the index."""
    out = []
    for t in texts[:: max(1, len(texts) // (n * 4))]:
        for line in t.splitlines():
            line = line.strip()
            if line.startswith("// ") and 30 <= len(line) <= 120:
                out.append(line[3:])
                break
        if len(out) == n:
            break
    return out


def latency(fn, items) -> tuple[float, float]:
    fn(items[0])  # warm caches (index files, model graph)
    times = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--chunk-chars", type=int, default=1500)
    ap.add_argument("--baseline-docs", type=int, default=300, help="texts the bare-model baseline embeds")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()

    docs = samples_table(go_documents(args.docs, args.chunk_chars))
    texts = docs.column("text").to_pylist()
    print(f"corpus: {docs.num_rows} documents from GOROOT/src, {sum(docs.column('bytes').to_pylist()) / 1e6:.1f} MB")
    print("load average at start: %.1f %.1f %.1f (on %d cores)" % (*os.getloadavg(), os.cpu_count()))
    embedder = Embedder()

    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp, Lake(Path(tmp) / "lake") as lk:
        lk.write("samples", docs, mode="overwrite")

        # CPU seconds beside wall seconds: on a shared machine the wall clock measures the neighbours too
        base = texts[: args.baseline_docs]
        t, c = time.perf_counter(), time.process_time()
        embedder.encode(base)
        raw_rate, raw_cpu = len(base) / (time.perf_counter() - t), len(base) / (time.process_time() - c)

        c = time.process_time()
        first = index_samples(lk, IndexConfig(categories=("CODE",)), embedder=embedder, progress=True)
        index_rate, index_cpu = first.embedded / first.seconds, first.embedded / (time.process_time() - c)
        again = index_samples(lk, IndexConfig(categories=("CODE",)), embedder=embedder, progress=False)

        print(f"embedding, bare model ({len(base)} docs):   {raw_rate:8.1f} docs/s  ({raw_cpu:.1f} docs per CPU-s)")
        print(f"index_samples ({first.embedded} docs):       {index_rate:8.1f} docs/s  "
              f"({index_cpu:.1f} docs per CPU-s; {first.seconds:.1f} s; "
              f"{index_cpu / raw_cpu:.2f}x the bare model per CPU-s)")
        print(f"re-index, unchanged snapshot:         {again.seconds:8.2f} s, embedded {again.embedded}")

        qs = queries_from(texts, args.queries)
        index = SearchIndex.of(lk)
        vectors = np.stack(index.samples().search().select(["vector"]).limit(None).to_arrow()
                           .column("vector").to_numpy(zero_copy_only=False))
        qvecs = {q: embedder.encode([q])[0] for q in qs}

        table = index.samples()

        def numpy_topk(q):
            scores = vectors @ qvecs[q]
            return np.argpartition(-scores, args.k)[: args.k]

        def lance_topk(q):
            return table.search(qvecs[q]).distance_type("cosine").select(["sample_id", "_distance"]) \
                .limit(args.k).to_arrow()

        base_med, base_p95 = latency(numpy_topk, qs)
        lance_med, lance_p95 = latency(lance_topk, qs)
        embed_med, embed_p95 = latency(lambda q: embedder.encode([q]), qs)
        print(f"queries: {len(qs)} doc-comment lines, k={args.k}; latency in ms (median / p95)")
        print(f"  numpy exact top-k, vectors in RAM:  {base_med:7.2f} / {base_p95:7.2f}   (baseline)")
        print(f"  LanceDB flat top-k, same vectors:   {lance_med:7.2f} / {lance_p95:7.2f}   "
              f"({lance_med / base_med:.1f}x the baseline)")
        print(f"  query embedding alone:              {embed_med:7.2f} / {embed_p95:7.2f}")
        for mode in ("vector", "fts", "hybrid"):
            med, p95 = latency(lambda q: search(index, q, k=args.k, mode=mode, embedder=embedder), qs)
            print(f"  search --mode {mode:<7} (end to end): {med:7.2f} / {p95:7.2f}")
    print("load average at end:   %.1f %.1f %.1f" % os.getloadavg())


if __name__ == "__main__":
    main()
