"""Near dedup: Go tokens, signatures bit-exact with datasketch, LSH candidates equal to MinHashLSH's for the same
banding, recall banding, exact verification and clusters without chaining (truth: Python sets of token 5-grams)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

from transforms import dedup

GOSRC = Path(__file__).resolve().parents[2] / ".venv/lib/python3.11/site-packages/go/src"


def _go_sample(n: int = 40) -> list[str]:
    """Real Go files (the embedded toolchain), plus near-copies of a few so that candidates exist."""
    paths = sorted((GOSRC / "strings").glob("*.go"))[:n // 2] + sorted((GOSRC / "sort").glob("*.go"))[:n // 2]
    texts = [p.read_text() for p in paths]
    return texts + [t.replace("func ", "func  ", 1) + "\n// edited\n" for t in texts[:6]]


def test_go_tokens_keep_operators_case_and_literals():
    toks = dedup.go_tokens('if x &^= Mask; s != "a b" {\n\tch <- \'\\n\' // Done\n}')
    assert toks == ["if", "x", "&^=", "Mask", ";", "s", "!=", '"a b"', "{", "ch", "<-", "'\\n'", "/", "/", "Done", "}"]


def test_shingles_depend_on_token_order():
    h = dedup.ShingleHasher(5)
    a, b = h("a b c d e f"), h("f e d c b a")
    assert len(a) == 2 and len(np.intersect1d(a, b)) == 0 and len(h("a b c")) == 1 and len(h("")) == 0
    assert np.array_equal(h("a  b\nc d\te f"), a)  # whitespace is not a token


def test_the_token_cache_is_bounded_and_changes_no_shingle():
    texts = _go_sample(20)
    roomy, tight = dedup.ShingleHasher(5), dedup.ShingleHasher(5)
    tight._token_hash.max_tokens = 50  # far below these files' vocabulary: the cache restarts many times
    for t in texts:
        assert np.array_equal(roomy(t), tight(t))
    assert len(roomy._token_hash) > 500 and len(tight._token_hash) <= 50


def test_signatures_are_bit_exact_with_datasketch_affine32():
    hasher = dedup.ShingleHasher(5)
    hashes = [hasher(t) for t in _go_sample()] + [hasher("x")]
    ours = dedup.MinHasher(256, seed=1).signatures(hashes)
    for h, sig in zip(hashes, ours):
        m = MinHash(num_perm=256, seed=1, hashfunc=int)  # default scheme: affine32
        m.update_batch(h.tolist())
        assert m.scheme == "affine32"
        assert np.array_equal(m.hashvalues, sig)


def test_candidate_pairs_equal_minhashlsh_candidates():
    hasher = dedup.ShingleHasher(5)
    hashes = [hasher(t) for t in _go_sample()]
    sigs = dedup.MinHasher(256, seed=1).signatures(hashes)
    bands, rows = dedup.lsh_params(0.7, 256)
    ours = {tuple(p) for p in dedup.candidate_pairs(sigs, bands, rows).tolist()}
    lsh = MinHashLSH(threshold=0.7, num_perm=256)
    minhashes = [MinHash(num_perm=256, hashvalues=s, scheme="affine32") for s in sigs]
    for i, m in enumerate(minhashes):
        lsh.insert(i, m)
    theirs = {(min(i, j), max(i, j)) for i, m in enumerate(minhashes) for j in lsh.query(m) if i != j}
    assert ours == theirs and len(ours) >= 6


def _jaccard(a: str, b: str, k: int = 5) -> float:
    """Truth, apart from the code under test: Jaccard of the token 5-gram sets as Python tuples (no hashing)."""
    def grams(t):
        toks = dedup.go_tokens(t)
        return {tuple(toks[i:i + k]) for i in range(len(toks) - k + 1)}
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def _lines(lo: int, hi: int) -> str:
    return "\n".join(f"func F{i}(x int) int {{ return x*{i} + {i * 7 % 13} }}" for i in range(lo, hi))


def test_a_chain_is_not_a_cluster_each_dropped_document_is_near_its_representative():
    a, b, c = _lines(0, 100), _lines(15, 115), _lines(30, 130)  # a~b, b~c, a and c far apart
    assert _jaccard(a, b) >= 0.7 and _jaccard(b, c) >= 0.7 and _jaccard(a, c) < 0.7
    got = dedup.near_duplicates([c, b, a], rank=np.array([2, 1, 0]))
    assert list(got.representative) == [0, 2, 2]  # a kept, b dropped for a, c kept: never dropped for b
    got = dedup.near_duplicates([c, b, a], rank=np.array([0, 1, 2]))  # c first: b goes to c, a stays
    assert list(got.representative) == [0, 0, 2] and list(got.size) == [2, 2, 1]


def test_pairs_just_above_the_threshold_are_found_and_counted_exactly():
    """Datasketch's banding (25 x 10) finds a pair at J = 0.72 about 6 times in 10; the recall banding and the
    exact count must find every one, and none below the threshold."""
    base = [_lines(100 * d, 100 * d + 100) for d in range(30)]
    near = [_lines(100 * d + 16, 100 * d + 100) + "\n" + _lines(5000 + 16 * d, 5000 + 16 * d + 16) for d in range(30)]
    far = [_lines(100 * d + 19, 100 * d + 100) + "\n" + _lines(7000 + 19 * d, 7000 + 19 * d + 19) for d in range(30)]
    texts = base + near + far
    truth = [_jaccard(base[d], near[d]) for d in range(30)] + [_jaccard(base[d], far[d]) for d in range(30)]
    assert min(truth[:30]) >= 0.7 and max(truth[:30]) < 0.8 and max(truth[30:]) < 0.7
    got = dedup.near_duplicates(texts, rank=np.arange(len(texts)))
    assert list(got.representative[30:60]) == list(range(30))  # every near copy dropped for its own base
    assert list(got.representative[60:]) == list(range(60, 90))  # every far copy kept
    hasher = dedup.ShingleHasher(5)
    hashes = [hasher(t) for t in texts]
    exact = dedup.exact_jaccard(hashes, np.array([[d, 30 + d] for d in range(30)] + [[d, 60 + d] for d in range(30)]))
    assert np.allclose(exact, truth, atol=1e-9)  # 32-bit shingle hashes: no collision on these few shingles
    pairs = np.array([[d, 30 + d] for d in range(30)] + [[d, 60 + d] for d in range(30)])
    assert np.array_equal(dedup.exact_jaccard(hashes, pairs, batch_shingles=1), exact)  # one pair per batch


def test_the_recall_banding_misses_a_pair_at_the_threshold_rarely():
    bands, rows = dedup.recall_lsh_params(0.7, 256)
    assert bands * rows <= 256 and (1 - 0.7 ** rows) ** bands < 1e-4
    assert (1 - 0.7 ** (rows + 1)) ** (256 // (rows + 1)) > 1e-3  # the longest such bands: fewest false candidates


def test_no_document_at_all_is_no_cluster():
    got = dedup.cluster(0, np.empty((0, 2), np.int64), np.arange(0))
    assert len(got.representative) == 0 and got.edges == 0
    assert len(dedup.near_duplicates([], rank=np.arange(0)).representative) == 0


def test_empty_documents_are_never_near_duplicates():
    got = dedup.near_duplicates(["", "   ", "package a"], rank=np.arange(3))
    assert list(got.size) == [1, 1, 1]


def test_the_step_signs_in_worker_processes_as_it_does_in_one_and_verifies_in_bounded_blocks():
    import pyarrow as pa

    from transforms import near_dedup
    from transforms.config import TransformConfig

    texts = [_lines(0, 100), _lines(15, 115), _lines(30, 130), _lines(500, 600), ""] + _go_sample(12)
    stream = pa.table({"doc": np.arange(len(texts)) + 100, "content": texts})
    longest = max(len(t) for t in texts)
    batches = list(near_dedup.batches(iter(stream.to_batches(max_chunksize=4)), max_files=3, max_bytes=2 * longest))
    assert [d for docs, _ in batches for d in docs] == list(range(100, 100 + len(texts)))
    assert [t for _, b in batches for t in b] == texts and len(batches) > len(texts) // 3
    assert all(len(docs) <= 3 and (len(docs) == 1 or sum(map(len, b)) <= 2 * longest) for docs, b in batches)

    cfg = TransformConfig()
    tables = {}
    for workers in (1, 2):  # several batches, several jobs
        tables[workers] = pa.Table.from_batches(list(near_dedup.band_stream(iter(batches), cfg, workers)))
    assert tables[1].equals(tables[2]) and 104 not in tables[1].column("doc").to_pylist()  # "" has no shingles
    assert sorted(set(tables[1].column("doc").to_pylist())) == [d + 100 for d in range(len(texts)) if d != 4]

    pairs = np.array([[i, j] for i in range(len(texts)) for j in range(i + 1, len(texts)) if texts[i] and texts[j]])
    reads = []

    def read(docs):
        reads.append(len(docs))
        return {int(d): texts[d] for d in docs}

    small = near_dedup.verify_pairs(pairs, read, cfg, block_docs=3)
    assert max(reads) <= 3 and len(reads) > 10
    reads.clear()
    sizes = np.array([len(t) for t in texts])
    by_bytes = near_dedup.verify_pairs(pairs, read, cfg, sizes=sizes, block_bytes=2 * int(sizes.max()))
    assert max(reads) < len(texts) - 1 and np.array_equal(by_bytes, small)
    whole = near_dedup.verify_pairs(pairs, lambda docs: {int(d): texts[d] for d in docs}, cfg, block_docs=10_000)
    truth = {(i, j) for i, j in pairs.tolist() if _jaccard(texts[i], texts[j]) >= 0.7}
    assert {tuple(p) for p in small.tolist()} == {tuple(p) for p in whole.tolist()} == truth and (0, 1) in truth
