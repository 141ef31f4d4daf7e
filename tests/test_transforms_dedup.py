"""Near dedup: Go tokens, signatures bit-exact with datasketch, LSH candidates equal to MinHashLSH's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

from transforms import dedup

GOSRC = Path(__file__).resolve().parents[1] / ".venv/lib/python3.11/site-packages/go/src"


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


def test_near_duplicates_cluster_transitively_and_keep_the_lowest_rank():
    base = "\n".join(f"func F{i}(x int) int {{ return x * {i} + {i * 7} }}" for i in range(60))
    edit1 = base.replace("return x * 3 +", "return x * 33 +")
    edit2 = edit1.replace("return x * 50 +", "return x * 55 +")
    other = "\n".join(f"type T{i} struct {{ A{i} string; B{i} []byte }}" for i in range(60))
    got = dedup.near_duplicates([edit2, other, base, edit1], rank=np.array([3, 0, 1, 2]))
    assert got.label[0] == got.label[2] == got.label[3] != got.label[1]
    assert list(got.representative) == [2, 1, 2, 2] and list(got.size) == [3, 1, 3, 3]


def test_empty_documents_are_never_near_duplicates():
    got = dedup.near_duplicates(["", "   ", "package a"], rank=np.arange(3))
    assert list(got.size) == [1, 1, 1]
