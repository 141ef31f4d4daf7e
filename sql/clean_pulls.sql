-- model: clean_pulls
-- reads: git_pulls, github_pulls, github_reviews, github_review_comments, github_issue_comments, clean_repos
-- writes: clean_pulls
--
-- One row per pull request of an allowed repository, from git refs (git_pulls), the API (github_pulls) or
-- both: the API's title and body win, the git diff wins (the API has only per-file patches). Pull requests
-- opened by bots (dependency bumps) are left out; comments are reviews, review comments and conversation
-- comments by humans, oldest first.
WITH comments AS (
    SELECT repo_id, pr_number AS number, author, body, submitted_at AS said_at, review_id AS id
    FROM github_reviews WHERE NOT coalesce(author_is_bot, false)
    UNION ALL
    SELECT repo_id, pr_number, author, body, created_at, comment_id
    FROM github_review_comments WHERE NOT coalesce(author_is_bot, false)
    UNION ALL
    SELECT repo_id, issue_number, author, body, created_at, comment_id
    FROM github_issue_comments WHERE is_pull AND NOT coalesce(author_is_bot, false)
),

pull_comments AS (
    SELECT repo_id, number, list({'author': author, 'body': body} ORDER BY said_at, id) AS comments
    FROM comments
    WHERE trim(coalesce(body, '')) <> ''
    GROUP BY repo_id, number
),

merged AS (
    SELECT
        coalesce(g.repo_id, h.repo_id) AS repo_id,
        coalesce(g.number, h.number) AS number,
        coalesce(h.title, g.title) AS title,
        coalesce(h.body, g.body) AS body,
        coalesce(list_transform(g.changes, c -> c.path), list_transform(h.changed_files, c -> c.path)) AS paths,
        -- a file the API gave no patch for (binary, too large, or patches not fetched) adds no header of its
        -- own: `diff --git` lines alone would pass for code. No patch at all: no diff, so no <DIFF> region.
        coalesce(g.diff, nullif(array_to_string(list_transform(
            list_filter(h.changed_files, c -> trim(coalesce(c.patch, '')) <> ''),
            c -> 'diff --git a/' || c.path || ' b/' || c.path || chr(10) || c.patch), chr(10)), '')) AS diff,
        coalesce(g.diff_truncated, false) AS diff_truncated,
        coalesce(g.merge_commit, g.head_commit, h.head_oid) AS "commit",
        list_transform(list_filter(g.commits, c -> NOT starts_with(c.message, 'Merge ')), c -> trim(c.message))
            AS commit_messages,
        CASE WHEN g.number IS NOT NULL THEN 'git_pulls' ELSE 'github_pulls' END AS source_table
    FROM git_pulls AS g
    FULL JOIN github_pulls AS h ON h.repo_id = g.repo_id AND h.number = g.number
    WHERE NOT coalesce(h.author_is_bot, false)
)

SELECT m.repo_id, m.number, m.title, m.body, m.paths, m.diff, m.diff_truncated, m."commit", m.commit_messages,
       p.comments, m.source_table
FROM merged AS m
JOIN clean_repos AS r ON r.repo_id = m.repo_id AND r.allowed
LEFT JOIN pull_comments AS p ON p.repo_id = m.repo_id AND p.number = m.number
