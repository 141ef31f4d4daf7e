-- model: near_dedup
-- reads: files, clean_files, exact_dups, clean_repos
-- feeds: near_dedup (MinHash LSH in transforms/near_dedup.py)
--
-- The files near dedup compares: clean, and the kept copy of their content hash, in the total order
-- (repository rank, then path) that picks each cluster's representative. Keys only: the step reads the
-- texts itself, unsorted (a sort over them would hold the whole corpus).
SELECT c.repo_id, c.path, c.size
FROM clean_files AS c
JOIN clean_repos AS r USING (repo_id)
JOIN files AS f USING (repo_id, path)
WHERE c.drop_rule IS NULL
    AND NOT EXISTS (SELECT 1 FROM exact_dups AS e WHERE e.repo_id = c.repo_id AND e.path = c.path)
ORDER BY r.repo_rank, c.path
