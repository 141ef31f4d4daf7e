"""The audit of the gold layer: what must never be true of samples and sft_pairs."""
from __future__ import annotations

from lake import Lake
from lake.licences import allowed
from transforms import leakage, secrets_audit

_CHECKS = {
    "repository in two splits": """
        SELECT repo_id || ': ' || array_to_string(list_sort(list(DISTINCT split)), ', ')
        FROM (SELECT repo_id, split FROM samples UNION ALL SELECT repo_id, split FROM sft_pairs)
        GROUP BY repo_id HAVING count(DISTINCT split) > 1
    """,
    "fork in another split than its representative": """
        SELECT r.repo_id || ' (' || s.split || ') forks ' || r.fork_of || ' (' || f.split || ')'
        FROM clean_repos r JOIN repo_splits s USING (repo_id) JOIN repo_splits f ON f.repo_id = r.fork_of
        WHERE s.split <> f.split
    """,
}


def _disallowed_licences(lake: Lake) -> list[str]:
    """Samples and SFT pairs whose licence (an SPDX expression: the path scope's for a file) is not allowed:
    every licence of one of its alternatives must be in allowed_licenses."""
    ids = {r[0] for r in lake.con.execute("SELECT spdx_id FROM allowed_licenses").fetchall()}
    both = "SELECT 'samples ' || sample_id AS what, repo_id, license FROM samples " \
           "UNION ALL SELECT 'sft_pairs ' || pair_id, repo_id, license FROM sft_pairs"
    # decide each distinct expression once, then name only the offending rows
    bad = [lic for (lic,) in lake.con.execute(f"SELECT DISTINCT license FROM ({both})").fetchall()
           if not allowed(lic, ids)]
    rows = lake.con.execute(f"SELECT what, repo_id, license FROM ({both}) WHERE license IS NULL "
                            f"OR list_contains(?, license) ORDER BY what", [[b for b in bad if b is not None]]).fetchall()
    return [f"disallowed licence: {what} ({repo}, {lic or 'NULL'})" for what, repo, lic in rows]


def audit(lake: Lake) -> list[str]:
    """One line per offender, naming the check; empty when the gold layer is clean."""
    offenders = _disallowed_licences(lake)
    for check, sql in _CHECKS.items():
        offenders += [f"{check}: {row[0]}" for row in lake.con.execute(sql).fetchall()]
    offenders += leakage.offenders(lake)
    offenders += secrets_audit.scan(_gold_texts(lake))
    return offenders


def _gold_texts(lake: Lake):
    """(table, key, column, text) of every text that trains a model."""
    for table, key, columns in (("samples", "sample_id", ("text",)), ("sft_pairs", "pair_id", ("prompt", "response"))):
        for batch in lake.stream(f"SELECT {key}, {', '.join(columns)} FROM {table}", batch_rows=2_000):
            for row in batch.to_pylist():
                yield from ((table, row[key], col, row[col]) for col in columns)
