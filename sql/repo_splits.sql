-- model: repo_splits
-- reads: clean_repos
-- writes: repo_splits
--
-- train / val / test by a stable hash (md5, salted) of the repository's name. A fork hashes its fork group
-- representative's name, and every version of a module shares its name, so a fork or another version of a
-- module never lands in another split than the repository it copies.
WITH keyed AS (
    SELECT r.repo_id, rep.name AS split_key
    FROM clean_repos AS r
    JOIN clean_repos AS rep ON rep.repo_id = r.fork_of
),

bucketed AS (
    SELECT
        repo_id,
        split_key,
        (CAST('0x' || left(md5(getvariable('split_salt') || ':' || split_key), 8) AS BIGINT) % 100)::INTEGER
            AS bucket
    FROM keyed
)

SELECT
    repo_id,
    split_key,
    bucket,
    CASE
        WHEN bucket < getvariable('test_percent') THEN 'test'
        WHEN bucket < getvariable('test_percent') + getvariable('val_percent') THEN 'val'
        ELSE 'train'
    END AS split
FROM bucketed
