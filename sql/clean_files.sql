-- model: clean_files
-- reads: files, clean_repos
-- writes: clean_files
--
-- What a clean file is: every raw file, with the FIRST rule (in this order) that drops it, or NULL.
--   license          the licence of its path scope (clean_repos.scopes: the longest prefix of its path)
--                    is not allowed (for the root scope clean_repos.exclude_reason says why)
--   vendored         under vendor/, third_party/, ... (the module is ingested as its own repository)
--   generated        "// Code generated ... DO NOT EDIT."
--   lfs_pointer      a Git LFS pointer, not the file
--   binary           a NUL byte in the first 8000 bytes
--   not_a_file       symlink or submodule
--   too_large        over max_file_bytes (or ingest kept no content)
--   invalid_utf8     not UTF-8 text
--   lock_file        go.sum and other lock files
--   language         not one of the training languages (Go, Markdown)
--   empty            whitespace only
--   max_line_length  a line longer than max_line_length characters
--   mean_line_length mean line length above max_mean_line_length
--   alnum_fraction   fewer than min_alnum_fraction letters and digits
--   encoded_data     more than max_encoded_fraction of the text in base64/hex runs of encoded_run_chars or more
WITH candidate AS (  -- the files whose text is worth measuring
    SELECT f.repo_id, f.path, f.content
    FROM files AS f
    JOIN clean_repos AS r USING (repo_id)
    WHERE r.allowed AND f.content IS NOT NULL AND coalesce(list_contains(getvariable('languages'), f.language), false)
        AND NOT coalesce(f.is_vendored OR f.is_generated OR f.is_lfs_pointer OR f.is_binary, false)
),

lines AS (
    SELECT repo_id, path, list_transform(string_split(content, chr(10)), l -> length(l)) AS line_lengths
    FROM candidate
),

measured AS (
    SELECT
        c.repo_id,
        c.path,
        length(c.content) AS chars,
        list_max(l.line_lengths) AS max_line_length,
        length(c.content) / greatest(len(l.line_lengths), 1) AS mean_line_length,
        length(regexp_replace(c.content, '[^A-Za-z0-9]', '', 'g')) / greatest(length(c.content), 1) AS alnum_fraction,
        coalesce(list_sum(list_transform(
            regexp_extract_all(c.content, '[A-Za-z0-9+/=]{' || getvariable('encoded_run_chars') || ',}'),
            run -> length(run))), 0) / greatest(length(c.content), 1) AS encoded_fraction,
        length(trim(c.content, ' ' || chr(9) || chr(10) || chr(13))) = 0 AS is_empty
    FROM candidate AS c
    JOIN lines AS l USING (repo_id, path)
)

SELECT
    f.repo_id,
    f.path,
    f."commit",
    f.language,
    f.size,
    CASE WHEN f.content IS NOT NULL THEN sha256(f.content) END AS content_hash,
    CASE
        WHEN NOT coalesce(r.allowed AND list_reduce(list_filter(r.scopes, sc -> starts_with(f.path, sc.prefix)),
            (a, b) -> CASE WHEN length(b.prefix) > length(a.prefix) THEN b ELSE a END).allowed, false) THEN 'license'
        WHEN coalesce(f.is_vendored, false) THEN 'vendored'
        WHEN coalesce(f.is_generated, false) THEN 'generated'
        WHEN coalesce(f.is_lfs_pointer, false) THEN 'lfs_pointer'
        WHEN coalesce(f.is_binary, false) THEN 'binary'
        WHEN coalesce(f.is_symlink OR f.is_submodule, false) THEN 'not_a_file'
        WHEN coalesce(f.is_too_large, false) OR f.size > getvariable('max_file_bytes') THEN 'too_large'
        WHEN coalesce(f.is_invalid_utf8, false) THEN 'invalid_utf8'
        WHEN f.content IS NULL THEN 'too_large'
        WHEN regexp_full_match(f.path, '(.*/)?(go\.sum|go\.work\.sum|package-lock\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|poetry\.lock|Gemfile\.lock|composer\.lock)')
            THEN 'lock_file'
        WHEN NOT coalesce(list_contains(getvariable('languages'), f.language), false) THEN 'language'
        WHEN m.is_empty THEN 'empty'
        WHEN m.max_line_length > getvariable('max_line_length') THEN 'max_line_length'
        WHEN m.mean_line_length > getvariable('max_mean_line_length') THEN 'mean_line_length'
        WHEN m.alnum_fraction < getvariable('min_alnum_fraction') THEN 'alnum_fraction'
        WHEN m.encoded_fraction > getvariable('max_encoded_fraction') THEN 'encoded_data'
    END AS drop_rule
FROM files AS f
JOIN clean_repos AS r USING (repo_id)
LEFT JOIN measured AS m USING (repo_id, path)
