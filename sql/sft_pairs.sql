-- model: sft_pairs
-- reads: sft_candidates, repo_splits, clean_repos
-- writes: sft_pairs
--
-- Instruction pairs, split like the samples of their repository.
SELECT
    p.pair_id, p.kind, s.split, p.prompt, p.response,
    p.repo_id, r.license, p."commit", NULL AS path, p.pr_number, NULL AS issue_number, p.source_table,
    getvariable('lake_snapshot') AS lake_snapshot
FROM sft_candidates AS p
JOIN repo_splits AS s USING (repo_id)
JOIN clean_repos AS r USING (repo_id)
WHERE r.allowed
