-- model: commit_filter
-- reads: commits, clean_repos
-- writes: commit_filter
--
-- Which commits make a (diff -> commit message) SFT pair, CommitPackFT-style: the FIRST rule that drops one.
--   license (the repository's, or a changed path's scope is not allowed), root_commit (an import, not a change), merge, empty_diff, diff_too_large, too_many_files,
--   bump ("Bump x from 1 to 2", dependency bots), wip, version_string (a bare "v1.2.3"),
--   subject_too_short / subject_too_long, message_too_long,
--   not_imperative: after an optional Go-style "pkg/path: " prefix, the subject's first word is not an
--   imperative verb from the list below.
WITH verbs(verb) AS (
    VALUES ('add'), ('allow'), ('avoid'), ('build'), ('bump'), ('change'), ('check'), ('clarify'), ('clean'),
           ('cleanup'), ('convert'), ('correct'), ('create'), ('define'), ('delete'), ('deprecate'), ('disable'),
           ('document'), ('drop'), ('enable'), ('ensure'), ('expose'), ('extend'), ('extract'), ('fix'),
           ('handle'), ('ignore'), ('implement'), ('improve'), ('include'), ('inline'), ('introduce'), ('keep'),
           ('limit'), ('make'), ('mark'), ('merge'), ('move'), ('optimize'), ('pass'), ('prefer'), ('prepare'),
           ('prevent'), ('print'), ('reduce'), ('refactor'), ('reject'), ('remove'), ('rename'), ('reorder'),
           ('replace'), ('report'), ('restore'), ('return'), ('reuse'), ('revert'), ('rewrite'), ('run'),
           ('set'), ('simplify'), ('skip'), ('sort'), ('speed'), ('split'), ('stop'), ('support'), ('switch'),
           ('test'), ('tidy'), ('treat'), ('trim'), ('tweak'), ('unexport'), ('update'), ('upgrade'), ('use'),
           ('validate'), ('vendor'), ('wrap'), ('write')
),

subjects AS (
    SELECT
        c.repo_id, c.commit_id, c.parents, c.message, c.diff, c.diff_truncated, c.changes,
        -- every changed path (old and new) must lie in an allowed licence scope (clean_repos.scopes, longest prefix)
        r.allowed AND coalesce(list_bool_and(list_transform(c.changes, ch -> list_bool_and(list_transform(
            list_filter([ch.path, ch.old_path], p -> p IS NOT NULL),
            p -> list_reduce(list_filter(r.scopes, sc -> starts_with(p, sc.prefix)),
                (a, b) -> CASE WHEN length(b.prefix) > length(a.prefix) THEN b ELSE a END).allowed)))), true) AS allowed,
        trim(split_part(trim(c.message), chr(10), 1)) AS subject
    FROM commits AS c
    JOIN clean_repos AS r USING (repo_id)
),

worded AS (
    SELECT
        *,
        lower(regexp_extract(regexp_replace(subject, '^[A-Za-z0-9_./,{}*-]+: ', ''), '^([A-Za-z]+)', 1)) AS first_word
    FROM subjects
)

SELECT
    repo_id,
    commit_id,
    subject,
    CASE
        WHEN NOT allowed THEN 'license'
        WHEN len(parents) = 0 THEN 'root_commit'
        WHEN len(parents) > 1 OR subject ILIKE 'merge %' THEN 'merge'
        WHEN diff IS NULL OR trim(diff) = '' THEN 'empty_diff'
        WHEN diff_truncated OR length(diff) > getvariable('max_diff_bytes') THEN 'diff_too_large'
        WHEN len(changes) > getvariable('max_commit_files') THEN 'too_many_files'
        WHEN regexp_matches(subject, '^(?i)(build\(deps\): )?bump ') THEN 'bump'
        WHEN regexp_matches(subject, '(?i)\bwip\b') THEN 'wip'
        WHEN regexp_full_match(subject, '(?i)(release |version )?v?[0-9]+(\.[0-9]+)+([-+.][0-9A-Za-z.]+)?')
            THEN 'version_string'
        WHEN length(subject) < getvariable('min_subject_chars') THEN 'subject_too_short'
        WHEN length(subject) > getvariable('max_subject_chars') THEN 'subject_too_long'
        WHEN length(message) > getvariable('max_message_chars') THEN 'message_too_long'
        WHEN first_word IS NULL OR first_word NOT IN (SELECT verb FROM verbs) THEN 'not_imperative'
    END AS drop_rule
FROM worded
