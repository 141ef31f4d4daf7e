"""Pull requests from refs/pull/N/head: base (merge-base with the default branch), own commits, bounded diff,
and title/body from the merge commit ("Merge pull request #N from ...") or a squash commit ("Title (#N)").
"""
from __future__ import annotations

import pygit2
from pygit2.enums import SortMode

from ingest.git.config import MERGE_PR, PULL_REF, SQUASH_PR, IngestConfig
from ingest.git.diffs import tree_diff


def pull_refs(repo: pygit2.Repository) -> dict[int, str]:
    """PR number -> head commit id, for every refs/pull/N/head."""
    out = {}
    for name in repo.references:
        m = PULL_REF.match(name)
        if m:
            try:
                out[int(m.group(1))] = str(repo.references[name].peel(pygit2.Commit).id)
            except (KeyError, pygit2.GitError, ValueError):
                out[int(m.group(1))] = ""  # a ref to a missing object: recorded as an error when read
    return dict(sorted(out.items()))


def merged_by_message(messages: dict[str, str]) -> dict[int, tuple[str, str, str]]:
    """PR number -> (commit, title, body) from default-branch merge or squash commit messages."""
    found: dict[int, tuple[str, str, str]] = {}
    for commit_id, message in messages.items():  # newest first: keep the newest mention
        lines = message.strip("\n").split("\n")
        m = MERGE_PR.match(lines[0])
        if m:
            rest = "\n".join(lines[1:]).strip("\n").split("\n", 1)
            title = rest[0].strip()
            body = rest[1].strip() if len(rest) > 1 else ""
            found.setdefault(int(m.group(1)), (commit_id, title, body))
            continue
        s = SQUASH_PR.match(lines[0])
        if s:
            found.setdefault(int(s.group(2)), (commit_id, s.group(1).strip(), "\n".join(lines[1:]).strip()))
    return found


def pull_row(repo: pygit2.Repository, repo_id: str, number: int, head: str, default_head: pygit2.Oid,
             merges: dict[int, tuple[str, str, str]], cfg: IngestConfig) -> tuple[dict | None, list]:
    obj = f"refs/pull/{number}/head"
    if not head:
        return None, [(obj, "ref points to a missing object")]
    merge_commit, title, body = merges.get(number, (None, None, None))
    try:
        head_commit = repo[head]
        # a merged PR's base is where it forked from the branch it was merged into, before the merge
        target = repo[merge_commit].parent_ids[0] if merge_commit and repo[merge_commit].parent_ids else default_head
        base = repo.merge_base(head_commit.id, target)
    except (KeyError, pygit2.GitError) as e:
        return None, [(obj, f"unreadable: {e}")]
    merged = merge_commit is not None or head_commit.id == default_head or repo.descendant_of(default_head, head_commit.id)
    errors: list = []
    commits = []
    walker = repo.walk(head_commit.id, SortMode.TOPOLOGICAL | SortMode.REVERSE)
    if base is not None:
        walker.hide(base)
    try:
        for c in walker:
            commits.append({"commit_id": str(c.id), "message": c.raw_message.decode("utf-8", "replace")})
    except pygit2.GitError as e:
        errors.append((obj, f"commit walk stopped: {e}"))
    if len(commits) > cfg.max_pr_commits:
        commits = commits[-cfg.max_pr_commits:]
    try:
        d = tree_diff(repo, repo[base].tree if base is not None else None, head_commit.tree, cfg, snippets=False)
        errors += [(obj, e) for e in d.errors]
    except (KeyError, pygit2.GitError) as e:
        errors.append((obj, f"diff failed: {e}"))
        d = None
    row = {"repo_id": repo_id, "number": number, "head_commit": head, "base_commit": str(base) if base else None,
           "merged": merged, "merge_commit": merge_commit, "title": title, "body": body, "commits": commits,
           "changes": d.changes if d else None, "diff": d.diff if d else None,
           "diff_truncated": d.truncated if d else None}
    return row, errors
