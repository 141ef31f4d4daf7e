"""The audit's leakage checks: what a val or test sample may not share with a train sample, read back from the
gold layer (sql/documents.sql is what prevents it; this checks the output, apart from it)."""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict

# A sample touches the near-dup clusters of its own files: a file sample its cluster, a commit or PR the
# clusters of the paths it changed, a structure listing those of the paths it lists; an SFT pair (sft_pairs)
# the clusters of its commit's or PR's paths, as a sample of the same commit or PR would. A cluster touched from two
# splits is a leak. Only clusters with members in two splits can be (a sample touches its own repository's
# files), so those are found first: the text search of the listings stays small.
CLUSTERS_ACROSS_SPLITS = """
    WITH file_clusters AS (
        SELECT repo_id, path, cluster_id FROM near_dup_clusters
        UNION ALL
        SELECT e.repo_id, e.path, n.cluster_id
        FROM exact_dups AS e JOIN near_dup_clusters AS n ON n.repo_id = e.kept_repo_id AND n.path = e.kept_path
    ),
    spread AS (
        SELECT f.* FROM file_clusters AS f
        WHERE cluster_id IN (SELECT cluster_id FROM file_clusters JOIN repo_splits USING (repo_id)
                             GROUP BY cluster_id HAVING count(DISTINCT split) > 1)
    ),
    changes AS (  -- samples and SFT pairs made of a commit or a pull request
        SELECT split, sample_id, source_table, repo_id, "commit", pr_number FROM samples
        UNION ALL
        SELECT split, 'sft ' || pair_id, source_table, repo_id, "commit", pr_number FROM sft_pairs
    ),
    touched AS (
        SELECT split, sample_id, near_dup_cluster AS cluster_id FROM samples WHERE near_dup_cluster IS NOT NULL
        UNION ALL
        SELECT s.split, s.sample_id, f.cluster_id
        FROM changes AS s
        JOIN commits AS c ON s.source_table = 'commits' AND c.repo_id = s.repo_id AND c.commit_id = s."commit"
        JOIN spread AS f ON f.repo_id = s.repo_id AND list_contains(list_transform(c.changes, x -> x.path), f.path)
        UNION ALL
        SELECT s.split, s.sample_id, f.cluster_id
        FROM changes AS s
        JOIN clean_pulls AS p ON s.source_table IN ('git_pulls', 'github_pulls') AND p.repo_id = s.repo_id
            AND p.number = s.pr_number
        JOIN spread AS f ON f.repo_id = s.repo_id AND list_contains(p.paths, f.path)
        UNION ALL
        SELECT s.split, s.sample_id, f.cluster_id
        FROM samples AS s
        JOIN spread AS f ON s.source_table = 'trees' AND f.repo_id = s.repo_id
            AND contains(s.text, chr(10) || f.path || chr(10))
    )
    SELECT cluster_id || ': ' || array_to_string(list_sort(list(DISTINCT split)), ', ') || ' ('
           || array_to_string(list_sort(list(DISTINCT split || ' ' || sample_id[:12])), ', ') || ')'
    FROM touched
    GROUP BY cluster_id
    HAVING count(DISTINCT split) > 1
"""

_CHANGED_LINE = re.compile(r"^[+-](?!\+\+ |-- )", re.M)
_SPACE = re.compile(r"[\t\f\r ]+")


def patch_id(text: str) -> str | None:
    """The patch of a sample's <DIFF> region: its changed lines, whitespace dropped (as `git patch-id`), hashed;
    None without a diff or without a changed line."""
    _, found, diff = text.partition("<DIFF>\n")
    if not found:
        return None
    diff = diff.split("\n<COMMENTS>\n", 1)[0]
    lines = [_SPACE.sub("", line) for line in diff.split("\n") if _CHANGED_LINE.match(line)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest() if lines else None


def offenders(lake) -> list[str]:
    out = [f"near-duplicate cluster in two splits: {row[0]}" for row in lake.con.execute(CLUSTERS_ACROSS_SPLITS).fetchall()]
    by_patch: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    # samples and SFT pairs (a diff prompt) together: a held-out pair may not repeat a train sample's patch either
    for batch in lake.stream("SELECT sample_id, split, text FROM samples WHERE contains(text, '<DIFF>') UNION ALL "
                             "SELECT 'sft ' || pair_id, split, prompt FROM sft_pairs WHERE contains(prompt, '<DIFF>')",
                             batch_rows=2_000):
        for row in batch.to_pylist():
            pid = patch_id(row["text"])
            if pid:
                by_patch[pid][row["split"]].append(row["sample_id"])
    for pid, splits in sorted(by_patch.items()):
        if "train" in splits and len(splits) > 1:
            held_out = ", ".join(f"{s} {i[:12]}" for s in sorted(splits) if s != "train" for i in sorted(splits[s]))
            out.append(f"identical patch in train and held out: train {sorted(splits['train'])[0][:12]} = {held_out}")
    return out
