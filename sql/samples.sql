-- model: samples
-- reads: documents, repo_splits, clean_repos
-- writes: samples
--
-- The training documents: each redacted document with its split (its repository's) and its category,
-- with the rule that chose it (the FIRST that applies):
--   go_mostly_comments   CODE file in Go whose non-blank lines are >= half `//` comments (doc.go): MIX
--   go_test_file         a _test.go file: CODE
--   go_file              any other Go file: CODE
--   package_doc_with_code  a Go package doc comment with an indented code block: MIX
--   package_doc_prose    a Go package doc comment without one: NAT
--   markdown_with_code   a Markdown file or README with a fenced or indented code block: MIX
--   markdown_prose       a Markdown file or README without one (inline `names` allowed): NAT
--   pull_with_code       a PR with a diff, a code block or inline code: MIX
--   pull_prose           a PR with text only: NAT
--   issue_with_code      an issue with a code block or inline code: MIX
--   issue_prose          an issue without: NAT
--   commit_diff          a commit message with its diff: CODE
--   repo_structure       a repository's path list: CODE
WITH signals AS (
    SELECT
        d.*,
        regexp_matches(d.text, '(^|\n)```|(^|\n)(    |\t)[^\s]') AS has_code_block,
        regexp_matches(d.text, '`[^`\n]+`') AS has_inline_code,
        position('<DIFF>' IN d.text) > 0 AS has_diff,
        len(regexp_extract_all(d.text, '(?m)^[ \t]*//')) / greatest(len(regexp_extract_all(d.text, '(?m)^[ \t]*\S')), 1)
            AS comment_line_fraction
    FROM documents AS d
),

categorised AS (
    SELECT
        *,
        CASE
            WHEN kind = 'file' AND language = 'Go' AND comment_line_fraction >= 0.5 THEN 'go_mostly_comments'
            WHEN kind = 'file' AND language = 'Go' AND ends_with(path, '_test.go') THEN 'go_test_file'
            WHEN kind = 'file' AND language = 'Go' THEN 'go_file'
            WHEN kind = 'package_doc' AND has_code_block THEN 'package_doc_with_code'
            WHEN kind = 'package_doc' THEN 'package_doc_prose'
            WHEN kind IN ('file', 'readme') AND has_code_block THEN 'markdown_with_code'
            WHEN kind IN ('file', 'readme') THEN 'markdown_prose'
            WHEN kind = 'pull' AND (has_diff OR has_code_block OR has_inline_code) THEN 'pull_with_code'
            WHEN kind = 'pull' THEN 'pull_prose'
            WHEN kind = 'issue' AND (has_code_block OR has_inline_code) THEN 'issue_with_code'
            WHEN kind = 'issue' THEN 'issue_prose'
            WHEN kind = 'commit' THEN 'commit_diff'
            WHEN kind = 'structure' THEN 'repo_structure'
        END AS category_rule
    FROM signals
)

SELECT
    c.doc_id AS sample_id,
    s.split,
    CASE
        WHEN c.category_rule IN ('go_mostly_comments', 'package_doc_with_code', 'markdown_with_code', 'pull_with_code', 'issue_with_code') THEN 'MIX'
        WHEN c.category_rule IN ('package_doc_prose', 'markdown_prose', 'pull_prose', 'issue_prose') THEN 'NAT'
        ELSE 'CODE'
    END AS category,
    c.category_rule,
    c.text,
    octet_length(encode(c.text)) AS bytes,
    c.near_dup_cluster,
    c.repo_id,
    CASE  -- a file carries the licence of its path scope; commits, pulls and issues the repository's
        WHEN c.path IS NOT NULL THEN list_reduce(list_filter(r.scopes, sc -> starts_with(c.path, sc.prefix)),
            (a, b) -> CASE WHEN length(b.prefix) > length(a.prefix) THEN b ELSE a END).license
        ELSE r.license
    END AS license,
    c."commit",
    c.path,
    c.pr_number,
    c.issue_number,
    c.source_table,
    getvariable('lake_snapshot') AS lake_snapshot
FROM categorised AS c
JOIN repo_splits AS s USING (repo_id)
JOIN clean_repos AS r USING (repo_id)
WHERE r.allowed
