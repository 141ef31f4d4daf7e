"""GraphQL nodes -> rows of the github_* tables, with bot authors flagged."""
from __future__ import annotations

import re

_BOT_LOGINS = re.compile(r"^(dependabot(-preview)?|renovate(-bot)?|github-actions|greenkeeper|snyk-bot|codecov(-io)?|"
                         r"mergify|allcontributors|pre-commit-ci|imgbot|stale|copilot)(\[bot\])?$", re.I)


def is_bot(author: dict | None) -> bool:
    """Bots: the API's Bot actor type, a `[bot]` login, or a known automation account."""
    if not author:
        return False
    login = author.get("login") or ""
    return author.get("__typename") == "Bot" or login.lower().endswith("[bot]") or bool(_BOT_LOGINS.match(login))


def _who(node: dict) -> tuple[str | None, bool]:
    author = node.get("author")
    return (author or {}).get("login"), is_bot(author)


_CHANGE = {"ADDED": "added", "DELETED": "deleted", "MODIFIED": "modified", "RENAMED": "renamed",
           "COPIED": "copied", "CHANGED": "changed"}


def pull_row(repo_id: str, pr: dict, patches: dict[str, str] | None = None) -> dict:
    author, bot = _who(pr)
    patches = patches or {}
    return {
        "repo_id": repo_id, "number": pr["number"], "title": pr.get("title"), "body": pr.get("body"),
        "author": author, "author_is_bot": bot, "state": (pr.get("state") or "").lower(),
        "created_at": pr.get("createdAt"), "merged_at": pr.get("mergedAt"), "closed_at": pr.get("closedAt"),
        "base_ref": pr.get("baseRefName"), "base_oid": pr.get("baseRefOid"),
        "head_ref": pr.get("headRefName"), "head_oid": pr.get("headRefOid"),
        "changed_files": [{"path": f["path"], "additions": f.get("additions"), "deletions": f.get("deletions"),
                           "change": _CHANGE.get(f.get("changeType"), (f.get("changeType") or "").lower()),
                           "patch": patches.get(f["path"])} for f in pr["files"]["nodes"]],
    }


def conversation_rows(repo_id: str, number: int, is_pull: bool, comments: list[dict]) -> list[dict]:
    out = []
    for c in comments:
        author, bot = _who(c)
        out.append({"repo_id": repo_id, "issue_number": number, "is_pull": is_pull, "comment_id": c["id"],
                    "author": author, "author_is_bot": bot, "body": c.get("body"), "created_at": c.get("createdAt")})
    return out


def review_row(repo_id: str, number: int, r: dict) -> dict:
    author, bot = _who(r)
    return {"repo_id": repo_id, "pr_number": number, "review_id": r["id"], "author": author, "author_is_bot": bot,
            "state": (r.get("state") or "").lower(), "body": r.get("body"), "submitted_at": r.get("submittedAt"),
            "commit_oid": (r.get("commit") or {}).get("oid")}


def review_comment_rows(repo_id: str, number: int, review_id: str, comments: list[dict]) -> list[dict]:
    out = []
    for c in comments:
        author, bot = _who(c)
        out.append({"repo_id": repo_id, "pr_number": number, "comment_id": c["id"],
                    "review_id": (c.get("pullRequestReview") or {}).get("id") or review_id,
                    "author": author, "author_is_bot": bot, "path": c.get("path"), "diff_hunk": c.get("diffHunk"),
                    "body": c.get("body"), "in_reply_to": (c.get("replyTo") or {}).get("id"),
                    "created_at": c.get("createdAt")})
    return out


def issue_row(repo_id: str, issue: dict) -> dict:
    author, bot = _who(issue)
    return {"repo_id": repo_id, "number": issue["number"], "title": issue.get("title"), "body": issue.get("body"),
            "author": author, "author_is_bot": bot, "state": (issue.get("state") or "").lower(),
            "labels": [lb["name"] for lb in issue["labels"]["nodes"]],
            "created_at": issue.get("createdAt"), "closed_at": issue.get("closedAt")}


def repo_row(item: dict, fetched_at) -> dict:
    """A search result item -> github_repos, excluded when GitHub knows no licence for it."""
    spdx = (item.get("license") or {}).get("spdx_id")
    reason = None
    if item.get("license") is None:
        reason = "license is null (GitHub detected no licence)"
    elif not spdx or spdx == "NOASSERTION":
        reason = "license is NOASSERTION (a licence file GitHub could not identify)"
    return {
        "repo_id": item["full_name"], "github_id": item["id"], "stars": item.get("stargazers_count"),
        "forks": item.get("forks_count", item.get("forks")), "license": spdx,
        "default_branch": item.get("default_branch"), "pushed_at": item.get("pushed_at"),
        "archived": item.get("archived"), "fork": item.get("fork"),
        "parent": (item.get("parent") or {}).get("full_name"), "topics": item.get("topics") or [],
        "description": item.get("description"), "language": item.get("language"),
        "excluded": reason is not None, "exclude_reason": reason, "fetched_at": fetched_at,
        "clone_url": item.get("clone_url"),
    }
