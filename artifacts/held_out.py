"""The held-out Go files: hand-written files of the test split's repositories, which no training run sees.
Evaluation scores on them; the exporters' serve smoke asks the model to continue one of them."""
from __future__ import annotations

from typing import Iterator

from artifacts.errors import ArtifactError
from lake import Lake, LakeError


def test_repositories(lake: Lake) -> list[str]:
    rows = lake.query("SELECT DISTINCT repo_id FROM samples WHERE split = 'test' ORDER BY repo_id").to_pylist()
    return [r["repo_id"] for r in rows]


def held_out_go_files(lake: Lake, seed: int, batch_rows: int = 64) -> Iterator[dict]:
    """Non-test, hand-written Go files of the test split's repositories, in a seeded stable order.

    These come from the raw `files` table: a compile check needs the package's other files, which the
    gold samples do not keep whole.
    """
    repos = test_repositories(lake)
    if not repos:
        return
    marks = ", ".join("?" for _ in repos)
    sql = f"""
        SELECT repo_id, "commit", path, content FROM files
        WHERE repo_id IN ({marks}) AND path LIKE '%.go' AND path NOT LIKE '%\\_test.go' ESCAPE '\\'
          AND content IS NOT NULL AND NOT coalesce(is_generated, false) AND NOT coalesce(is_vendored, false)
          AND path NOT LIKE '%testdata/%'
        ORDER BY md5(repo_id || path || ?::VARCHAR), repo_id, path"""
    try:
        for batch in lake.stream(sql, [*repos, seed], batch_rows):
            yield from batch.to_pylist()
    except LakeError as e:
        raise ArtifactError(f"reading held-out Go files failed: {e}") from None


def held_out_prompt(lake: Lake, lines: int = 12, seed: int = 0) -> dict:
    """The first `lines` lines, from its package clause on, of the first held-out Go file (test split, seeded
    order) that has more lines than that: a real prompt the model never trained on. The licence header above
    the package clause is skipped: it is the same boilerplate in every file."""
    for f in held_out_go_files(lake, seed):
        text = f["content"].splitlines(keepends=True)
        start = next((i for i, line in enumerate(text) if line.startswith("package ")), None)
        if start is not None and len(text) - start > lines:
            return {"repo_id": f["repo_id"], "path": f["path"], "prompt": "".join(text[start:start + lines])}
    raise ArtifactError(f"the lake at {lake.root} holds no held-out Go file longer than {lines} lines "
                    f"(run the transforms first)")
