"""The funnel: per rule, the rows and bytes it removed on the way from raw tables to gold."""
from __future__ import annotations

from dataclasses import dataclass

from lake import Lake

# stage, rule, rows, bytes: one SELECT per stage, in pipeline order
_FUNNEL_SQL = """
WITH licence AS (
    SELECT 'licence' AS stage, r.exclude_reason AS rule, count(f.path) AS rows, coalesce(sum(f.size), 0) AS bytes, 1 AS o
    FROM clean_repos AS r LEFT JOIN files AS f USING (repo_id)
    WHERE NOT r.allowed GROUP BY r.exclude_reason
), file_filters AS (
    SELECT 'file filter', drop_rule, count(*), coalesce(sum(size), 0), 2
    FROM clean_files WHERE drop_rule IS NOT NULL AND drop_rule <> 'license' GROUP BY drop_rule
), exact AS (
    SELECT 'exact dedup', 'same content hash', count(*), coalesce(sum(size), 0), 3 FROM exact_dups
), near AS (
    SELECT 'near dedup', 'jaccard >= threshold', count(*), coalesce(sum(size), 0), 4
    FROM near_dup_clusters WHERE NOT is_representative
), commits_out AS (
    SELECT 'sft commit filter', f.drop_rule, count(*), coalesce(sum(length(c.message) + coalesce(length(c.diff), 0)), 0), 5
    FROM commit_filter AS f JOIN commits AS c USING (repo_id, commit_id)
    WHERE f.drop_rule IS NOT NULL GROUP BY f.drop_rule
), redacted AS (
    SELECT 'redaction (replaced, not removed)', key, sum(value), NULL, 6
    FROM (SELECT unnest(map_keys(redactions)) AS key, unnest(map_values(redactions)) AS value FROM documents)
    GROUP BY key
)
SELECT stage, rule, rows, bytes FROM (
    SELECT * FROM licence UNION ALL SELECT * FROM file_filters UNION ALL SELECT * FROM exact
    UNION ALL SELECT * FROM near UNION ALL SELECT * FROM commits_out UNION ALL SELECT * FROM redacted
) WHERE rows > 0
ORDER BY o, rows DESC, rule
"""


@dataclass
class FunnelRow:
    stage: str
    rule: str
    rows: int
    bytes: int | None


def funnel(lake: Lake) -> tuple[list[FunnelRow], dict]:
    rows = [FunnelRow(*r) for r in lake.con.execute(_FUNNEL_SQL).fetchall()]
    totals = {
        "raw files": lake.con.execute("SELECT count(*), coalesce(sum(size), 0) FROM files").fetchone(),
        "samples": lake.con.execute("SELECT count(*), coalesce(sum(bytes), 0) FROM samples").fetchone(),
        "sft_pairs": lake.con.execute(
            "SELECT count(*), coalesce(sum(octet_length(encode(prompt || response))), 0) FROM sft_pairs").fetchone(),
    }
    return rows, totals


def format_funnel(rows: list[FunnelRow], totals: dict) -> str:
    out = [f"{'stage':34} {'rule':32} {'rows':>9} {'bytes':>13}"]
    for r in rows:
        out.append(f"{r.stage:34} {r.rule or '':32} {r.rows:>9,} {'' if r.bytes is None else format(r.bytes, ','):>13}")
    for name, (n, b) in totals.items():
        out.append(f"{'total ' + name:34} {'':32} {n:>9,} {b:>13,}")
    return "\n".join(out)
