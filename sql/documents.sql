-- model: documents
-- reads: files, clean_files, near_dup_clusters, exact_dups, repo_splits, clean_repos, readmes, trees, clean_pulls, github_issues, github_issue_comments, commits, commit_filter
-- feeds: documents (a Python step serialises each row with artifacts/grammar.py, redacts it, writes documents)
--
-- Every document the corpus may train on, one row each, of an allowed repository:
--   file       a clean file (filters passed, not an exact duplicate) that represents its near-dup cluster
--   package_doc  the doc comment of a Go package ("// Package x ..." above the package clause), comment
--              markers stripped, when at least min_package_doc_chars long: the natural language of a Go repository
--   readme     a README from the API, where git gave none among the files
--   structure  the repository's path list
--   pull       a pull request with its diff and comments
--   issue      an issue with its comments
--   commit     a non-root, non-merge commit with a bounded diff (its message need not pass the SFT rules)
--
-- No leakage between splits through the copies dedup dropped: a commit or PR touching a file whose near-dup
-- cluster (an exact copy: its kept copy's cluster) has members in two splits is left out, and so is such a
-- path from the structure listing; a commit or PR of val or test whose patch (its changed lines, whitespace
-- ignored, as `git patch-id`) a train commit or PR also has, cherry-picked or backported, is left out.
WITH allowed AS (
    SELECT repo_id FROM clean_repos WHERE allowed
),

file_clusters AS (
    SELECT repo_id, path, cluster_id FROM near_dup_clusters
    UNION ALL
    SELECT e.repo_id, e.path, n.cluster_id
    FROM exact_dups AS e
    JOIN near_dup_clusters AS n ON n.repo_id = e.kept_repo_id AND n.path = e.kept_path
),

cross_split_files AS (
    SELECT repo_id, path
    FROM file_clusters
    WHERE cluster_id IN (
        SELECT cluster_id FROM file_clusters JOIN repo_splits USING (repo_id)
        GROUP BY cluster_id HAVING count(DISTINCT split) > 1
    )
),

-- read twice (package_docs and the files themselves): not materialised, or DuckDB would hold every content
file_docs AS NOT MATERIALIZED (
    SELECT 'file' AS kind, 'files' AS source_table, f.repo_id, f.path, f.language, f."commit",
           NULL::INTEGER AS pr_number, NULL::INTEGER AS issue_number, f.content, NULL::VARCHAR AS title,
           NULL::VARCHAR[] AS paths, NULL::VARCHAR AS diff,
           NULL::STRUCT(author VARCHAR, body VARCHAR)[] AS comments, n.cluster_id AS near_dup_cluster
    FROM clean_files AS c
    JOIN near_dup_clusters AS n USING (repo_id, path)
    JOIN files AS f USING (repo_id, path)
    WHERE c.drop_rule IS NULL AND n.is_representative
),

package_docs AS (
    SELECT 'package_doc', 'files', repo_id, path, 'Go', "commit", NULL, NULL,
           regexp_replace(doc_comment, '(^|\n)//[ ]?', '\1', 'g'), NULL, NULL, NULL, NULL, near_dup_cluster
    FROM (
        SELECT *, regexp_extract(content, '(?:^|\n)((?://[^\n]*\n)*// Package [^\n]*\n(?://[^\n]*\n)*)package ', 1)
            AS doc_comment
        FROM file_docs
        WHERE language = 'Go' AND contains(content, '// Package ')
    )
    WHERE length(doc_comment) >= getvariable('min_package_doc_chars')
),

readme_docs AS (
    SELECT 'readme', 'readmes', r.repo_id, r.path, 'Markdown', NULL, NULL, NULL, r.content, NULL, NULL, NULL, NULL, NULL
    FROM readmes AS r
    JOIN allowed USING (repo_id)
    WHERE r.source = 'github' AND trim(coalesce(r.content, '')) <> ''
        AND NOT EXISTS (SELECT 1 FROM files AS f
                        WHERE f.repo_id = r.repo_id AND regexp_matches(f.path, '^(?i)readme(\.[a-z0-9]+)?$'))
),

structure_docs AS (
    SELECT 'structure', 'trees', t.repo_id, NULL, NULL, any_value(t."commit"), NULL, NULL, NULL, NULL,
           list(t.path ORDER BY t.path), NULL, NULL, NULL
    FROM trees AS t
    JOIN allowed USING (repo_id)
    WHERE t.kind = 'blob'
        AND NOT EXISTS (SELECT 1 FROM cross_split_files AS x WHERE x.repo_id = t.repo_id AND x.path = t.path)
    GROUP BY t.repo_id
),

pull_docs AS (  -- named: `changes` reads it by name
    SELECT 'pull' AS kind, source_table, repo_id, NULL AS path, NULL AS language, "commit", number AS pr_number,
           NULL AS issue_number, body AS content, title, paths,
           CASE WHEN length(diff) <= getvariable('max_diff_bytes') THEN diff END AS diff, comments,
           NULL AS near_dup_cluster
    FROM clean_pulls
),

issue_comments AS (
    SELECT repo_id, issue_number AS number, list({'author': author, 'body': body} ORDER BY created_at, comment_id)
        AS comments
    FROM github_issue_comments
    WHERE NOT is_pull AND NOT coalesce(author_is_bot, false) AND trim(coalesce(body, '')) <> ''
    GROUP BY repo_id, issue_number
),

issue_docs AS (
    SELECT 'issue', 'github_issues', i.repo_id, NULL, NULL, NULL, NULL, i.number, i.body, i.title, NULL, NULL,
           c.comments, NULL
    FROM github_issues AS i
    JOIN allowed USING (repo_id)
    LEFT JOIN issue_comments AS c ON c.repo_id = i.repo_id AND c.number = i.number
    WHERE NOT coalesce(i.author_is_bot, false)
),

commit_docs AS (
    SELECT 'commit', 'commits', c.repo_id, NULL, NULL, c.commit_id, NULL, NULL, c.message, NULL,
           list_transform(c.changes, x -> x.path), c.diff, NULL, NULL
    FROM commits AS c
    JOIN commit_filter AS f USING (repo_id, commit_id)
    WHERE f.drop_rule IS NULL OR f.drop_rule NOT IN
        ('license', 'root_commit', 'merge', 'empty_diff', 'diff_too_large', 'too_many_files')
),

changes AS (
    SELECT d.*, s.split, md5(nullif(array_to_string(list_transform(
               list_filter(string_split(d.diff, chr(10)),
                           l -> regexp_matches(l, '^[+-]') AND NOT regexp_matches(l, '^(\+\+\+|---) ')),
               l -> regexp_replace(l, '[\t\f\r ]+', '', 'g')), chr(10)), '')) AS patch_id
    FROM (SELECT * FROM pull_docs UNION ALL SELECT * FROM commit_docs) AS d
    JOIN repo_splits AS s USING (repo_id)
    WHERE NOT EXISTS (SELECT 1 FROM cross_split_files AS x
                      WHERE x.repo_id = d.repo_id AND list_contains(d.paths, x.path))
),

unleaked_changes AS (
    SELECT * EXCLUDE (split, patch_id)
    FROM changes AS c
    WHERE c.split = 'train' OR c.patch_id IS NULL
        OR NOT EXISTS (SELECT 1 FROM changes AS t WHERE t.split = 'train' AND t.patch_id = c.patch_id)
)

SELECT * FROM file_docs
UNION ALL SELECT * FROM package_docs
UNION ALL SELECT * FROM readme_docs
UNION ALL SELECT * FROM structure_docs
UNION ALL SELECT * FROM issue_docs
UNION ALL SELECT * FROM unleaked_changes
