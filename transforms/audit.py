"""The audit of the gold layer: what must never be true of samples and sft_pairs."""
from __future__ import annotations

from lake import Lake
from transforms import leakage, secrets

_CHECKS = {
    "disallowed licence": """
        SELECT 'samples ' || sample_id || ' (' || repo_id || ', ' || coalesce(license, 'NULL') || ')'
        FROM samples s WHERE NOT EXISTS (SELECT 1 FROM allowed_licenses a WHERE a.spdx_id = s.license)
        UNION ALL
        SELECT 'sft_pairs ' || pair_id || ' (' || repo_id || ', ' || coalesce(license, 'NULL') || ')'
        FROM sft_pairs p WHERE NOT EXISTS (SELECT 1 FROM allowed_licenses a WHERE a.spdx_id = p.license)
    """,
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


def audit(lake: Lake) -> list[str]:
    """One line per offender, naming the check; empty when the gold layer is clean."""
    offenders = []
    for check, sql in _CHECKS.items():
        offenders += [f"{check}: {row[0]}" for row in lake.con.execute(sql).fetchall()]
    offenders += leakage.offenders(lake)
    for table, key, columns in (("samples", "sample_id", ("text",)), ("sft_pairs", "pair_id", ("prompt", "response"))):
        reader = lake.stream(f"SELECT {key}, {', '.join(columns)} FROM {table}", batch_rows=2_000)
        for batch in reader:
            for row in batch.to_pylist():
                for col in columns:
                    for rule, match in secrets.find(row[col] or ""):
                        offenders.append(f"surviving secret: {table} {row[key]} {col}: {rule} {match[:12]}...")
    return offenders
