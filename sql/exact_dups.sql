-- model: exact_dups
-- reads: clean_files, clean_repos
-- writes: exact_dups
--
-- Exact duplicates by content hash. The copy kept is the first by the total order
-- (repository rank: licence, stars, recency, name; then path); every other copy is listed here.
WITH kept_files AS (
    SELECT f.repo_id, f.path, f.content_hash, f.size, r.repo_rank
    FROM clean_files AS f
    JOIN clean_repos AS r USING (repo_id)
    WHERE f.drop_rule IS NULL
),

ordered AS (
    SELECT
        *,
        row_number() OVER copies AS copy_rank,
        first_value(repo_id) OVER copies AS kept_repo_id,
        first_value(path) OVER copies AS kept_path
    FROM kept_files
    WINDOW copies AS (PARTITION BY content_hash ORDER BY repo_rank, path)
)

SELECT repo_id, path, content_hash, size, kept_repo_id, kept_path
FROM ordered
WHERE copy_rank > 1
