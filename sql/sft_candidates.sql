-- model: sft_candidates
-- reads: commits, commit_filter, clean_pulls, documents
-- feeds: sft_candidates (a Python step renders prompt and response, redacts both, writes sft_candidates)
--
--   commit_message   prompt: the files and diff of a commit that passed every commit_filter rule;
--                    response: its message
--   pr_explanation   prompt: PR title, body, files and bounded diff; response: the reviewers' and author's
--                    comments (API), or, for a PR seen only in git, the author's commit messages
-- A pair is kept only while its commit or PR is a change document (sql/documents.sql): the same leak rules
-- then hold for both (no change touching a near-dup cluster of two splits; no held-out patch a train change has).
WITH commit_pairs AS (
    SELECT 'commit_message' AS kind, 'commits' AS source_table, c.repo_id, c.commit_id AS "commit",
           NULL::INTEGER AS pr_number, NULL::VARCHAR AS title, NULL::VARCHAR AS body,
           list_transform(c.changes, x -> x.path) AS paths, c.diff, trim(c.message) AS response
    FROM commits AS c
    JOIN commit_filter AS f USING (repo_id, commit_id)
    WHERE f.drop_rule IS NULL
        AND EXISTS (SELECT 1 FROM documents AS d
                    WHERE d.kind = 'commit' AND d.repo_id = c.repo_id AND d."commit" = c.commit_id)
),

pull_pairs AS (
    SELECT 'pr_explanation' AS kind, source_table, repo_id, "commit", number, title, body, paths, diff,
           CASE
               WHEN len(comments) > 0
                   THEN array_to_string(list_transform(comments, c -> c.author || ': ' || trim(c.body)), chr(10) || chr(10))
               ELSE array_to_string(commit_messages, chr(10) || chr(10))
           END AS response
    FROM clean_pulls AS p
    WHERE EXISTS (SELECT 1 FROM documents AS d WHERE d.kind = 'pull' AND d.source_table = p.source_table
                  AND d.repo_id = p.repo_id AND d.pr_number = p.number)
        AND diff IS NOT NULL AND trim(diff) <> '' AND NOT diff_truncated AND length(diff) <= getvariable('max_diff_bytes')
)

SELECT * FROM commit_pairs
UNION ALL
SELECT * FROM pull_pairs WHERE length(trim(coalesce(response, ''))) >= getvariable('min_subject_chars')
