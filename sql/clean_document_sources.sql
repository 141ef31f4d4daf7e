-- model: clean_document_sources
-- reads: files, clean_files, near_dup_clusters, clean_repos, readmes, trees, clean_pulls, github_issues, github_issue_comments, commits, commit_filter
-- feeds: documents (a Python step serialises each row with transforms/grammar.py, redacts it, writes documents)
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
WITH allowed AS (
    SELECT repo_id FROM clean_repos WHERE allowed
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
    GROUP BY t.repo_id
),

pull_docs AS (
    SELECT 'pull', source_table, repo_id, NULL, NULL, "commit", number, NULL, body, title, paths,
           CASE WHEN length(diff) <= getvariable('max_diff_bytes') THEN diff END, comments, NULL
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
)

SELECT * FROM file_docs
UNION ALL SELECT * FROM package_docs
UNION ALL SELECT * FROM readme_docs
UNION ALL SELECT * FROM structure_docs
UNION ALL SELECT * FROM pull_docs
UNION ALL SELECT * FROM issue_docs
UNION ALL SELECT * FROM commit_docs
