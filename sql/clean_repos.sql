-- model: clean_repos
-- reads: repos, license_scopes, github_repos, github_forks, commits, allowed_licenses
-- writes: clean_repos
--
-- A repository enters the corpus only under an allowed licence: its root licence is an SPDX expression
-- (license_scopes.terms holds its OR of ANDs), allowed when every licence of one alternative is in
-- allowed_licenses (MIT AND GPL-3.0-only needs both, MIT OR GPL-3.0-only either); an excluded one keeps its
-- reason. `scopes` carries every path scope with its own decision: clean_files and samples give each
-- file the scope with the longest prefix of its path (a repository without scope rows has one, its licence). repo_rank is the corpus-wide total order every duplicate decision uses:
-- licence preference, then stars, then recency, then name. A fork group is a family: repositories sharing a
-- root commit (the one ingest read from git, which --max-commits does not cut off; else the oldest in
-- `commits`), and repositories GitHub names as forks of one another (github_forks.ancestors: the parent, its
-- parent, ...; github_repos.parent), joined transitively, through ancestors the lake does not hold too, even
-- when they share no root commit (a fork re-rooted, or cloned without history); each names the
-- highest-ranked repository of its group in fork_of.
WITH RECURSIVE github AS (  -- github_repos is keyed by github_id: keep one row per full name, the newest fetch
    SELECT repo_id, stars, pushed_at, parent
    FROM github_repos
    QUALIFY row_number() OVER (PARTITION BY repo_id ORDER BY fetched_at DESC NULLS LAST, github_id) = 1
),

newest_commit AS (
    SELECT repo_id, max(committed_at) AS committed_at FROM commits GROUP BY repo_id
),

allow AS (
    SELECT list(spdx_id) AS ids FROM allowed_licenses
),

scope AS (
    SELECT
        sc.repo_id,
        sc.prefix,
        sc.license,
        coalesce(list_bool_or(list_transform(sc.terms,
            alternative -> list_bool_and(list_transform(alternative, id -> list_contains(allow.ids, id))))), false)
            AS allowed
    FROM license_scopes AS sc, allow
),

path_scopes AS (
    SELECT
        repo_id,
        list({'prefix': prefix, 'license': license, 'allowed': allowed} ORDER BY prefix) AS path_scopes,
        bool_or(allowed) FILTER (WHERE prefix = '') AS root_allowed
    FROM scope GROUP BY repo_id
),

root_commit AS (
    SELECT repo_id, min(commit_id) AS root FROM commits WHERE len(parents) = 0 GROUP BY repo_id
),

licensed AS (
    SELECT
        r.repo_id,
        r.name,
        r.license,
        coalesce(root_allowed, a.spdx_id IS NOT NULL) AS allowed,
        CASE
            WHEN r.license IS NULL OR trim(r.license) = '' THEN 'license_missing'
            WHEN r.license = 'NOASSERTION' THEN 'license_noassertion'
            WHEN NOT coalesce(root_allowed, a.spdx_id IS NOT NULL) THEN 'license_not_allowed:' || r.license
        END AS exclude_reason,
        coalesce(a.preference, CASE WHEN root_allowed THEN 50 ELSE 99 END) AS license_preference,
        coalesce(path_scopes, [{'prefix': '', 'license': r.license, 'allowed': a.spdx_id IS NOT NULL}]) AS scopes,
        coalesce(g.stars, 0) AS stars,
        coalesce(g.pushed_at, c.committed_at) AS pushed_at,
        coalesce(r.root_commit, rc.root) AS root
    FROM repos AS r
    LEFT JOIN allowed_licenses AS a ON a.spdx_id = r.license
    LEFT JOIN path_scopes USING (repo_id)
    LEFT JOIN github AS g USING (repo_id)
    LEFT JOIN newest_commit AS c USING (repo_id)
    LEFT JOIN root_commit AS rc USING (repo_id)
),

fork_links AS (  -- GitHub's fork graph: each fork and every ancestor GitHub named for it
    SELECT repo_id, unnest(ancestors) AS ancestor FROM github_forks
    UNION
    SELECT repo_id, parent FROM github WHERE parent IS NOT NULL
),

links AS (  -- a family's ties: a repository to its root commit and to its GitHub ancestors (held or not)
    SELECT 'repo:' || repo_id AS a, 'commit:' || root AS b FROM licensed WHERE root IS NOT NULL
    UNION
    SELECT 'repo:' || repo_id, 'repo:' || ancestor FROM fork_links
),

ties AS (
    SELECT a, b FROM links UNION SELECT b, a FROM links
),

reach (node, seen) AS (  -- every node of each repository's family (UNION: each pair once, so it ends)
    SELECT 'repo:' || repo_id, 'repo:' || repo_id FROM licensed
    UNION
    SELECT reach.node, ties.b FROM reach JOIN ties ON ties.a = reach.seen
),

grouped AS (  -- the family's smallest node names it
    SELECT l.*, f.fork_group
    FROM licensed AS l
    JOIN (SELECT substr(node, 6) AS repo_id, min(seen) AS fork_group FROM reach GROUP BY node) AS f USING (repo_id)
),

ranked AS (
    SELECT
        *,
        row_number() OVER (ORDER BY license_preference, stars DESC, pushed_at DESC NULLS LAST, name, repo_id)
            AS repo_rank
    FROM grouped
)

SELECT
    repo_id, name, license, allowed, exclude_reason, license_preference, scopes, stars, pushed_at, repo_rank,
    first_value(repo_id) OVER (PARTITION BY fork_group ORDER BY repo_rank) AS fork_of
FROM ranked
