"""A consistent little GitHub, built from GitHub's own REST examples (../shared/github/rest-examples).

One canonical model per repository (pull requests with files, comments, reviews and review comments;
issues with labels and comments; a README). Both views the fake server gives are rendered from it: REST
bodies are GitHub's example objects with their fields overwritten from the model (so a PR that is merged
in the list is merged when fetched alone), and GraphQL nodes are plain dicts in the schema's shape.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

REFERENCE = Path(os.environ.get("GITHUB_REFERENCE_DIR", Path(__file__).resolve().parents[3] / "shared" / "github"))
EXAMPLES = REFERENCE / "rest-examples"
SCHEMA = REFERENCE / "graphql" / "schema.graphql"

# login -> (REST login, REST type, GraphQL __typename)
USERS = {
    "octocat": ("octocat", "User", "User"),
    "hubot": ("hubot", "User", "User"),
    "monalisa": ("monalisa", "User", "User"),
    "dependabot": ("dependabot[bot]", "Bot", "Bot"),
    "renovate": ("renovate[bot]", "Bot", "Bot"),
    "github-actions": ("github-actions[bot]", "Bot", "Bot"),
}
HUMANS = ("octocat", "hubot", "monalisa")
BOTS = ("dependabot", "renovate", "github-actions")


if not EXAMPLES.is_dir():
    raise RuntimeError(f"GitHub's reference examples are not at {EXAMPLES}; set GITHUB_REFERENCE_DIR to the folder "
                       "holding rest-examples/ and graphql/")


@lru_cache(maxsize=None)
def example(name: str):
    """The body of one example file (GET_*.json), or the whole file for ERROR_/VARIANT_ ones."""
    data = json.loads((EXAMPLES / name).read_text())
    return data["body"] if name.startswith("GET_") else data


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha(*parts) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()


_ids = iter(range(10_000_000, 10**9))


@dataclass
class Comment:
    id: int
    author: str
    body: str
    created_at: datetime
    node_id: str = ""


@dataclass
class ReviewComment:
    id: int
    author: str
    path: str
    diff_hunk: str
    body: str
    created_at: datetime
    in_reply_to: int | None = None
    node_id: str = ""


@dataclass
class Review:
    id: int
    author: str
    state: str
    body: str
    submitted_at: datetime
    commit_id: str
    comments: list[ReviewComment] = field(default_factory=list)
    node_id: str = ""


@dataclass
class PullFile:
    path: str
    status: str
    additions: int
    deletions: int
    patch: str | None


@dataclass
class Pull:
    number: int
    title: str
    body: str
    author: str
    state: str  # open | closed | merged
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    merged_at: datetime | None
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    files: list[PullFile] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    node_id: str = ""


@dataclass
class Issue:
    number: int
    title: str
    body: str
    author: str
    state: str  # open | closed
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    comments: list[Comment] = field(default_factory=list)
    node_id: str = ""


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    stars: int
    forks: int
    license: dict | None
    language: str = "Go"
    default_branch: str = "main"
    pushed_at: datetime = datetime(2026, 9, 1, tzinfo=timezone.utc)
    archived: bool = False
    fork: bool = False
    topics: list[str] = field(default_factory=lambda: ["go"])
    description: str = ""
    pulls: list[Pull] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    readme: str | None = None
    clone_url: str | None = None  # None: GitHub's https URL; tests point it at a local bare repository
    parent: str | None = None     # owner/name of the repository it is a fork of (GraphQL `parent`)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def touch(self, number: int, author: str = "hubot", body: str = "One more thing.") -> Comment:
        """A new conversation comment on PR or issue `number` (updates it, as GitHub does)."""
        item = next(x for x in self.pulls + self.issues if x.number == number)
        at = max(item.updated_at + timedelta(hours=1), datetime.now(timezone.utc).replace(microsecond=0))
        c = Comment(next(_ids), author, body, at, node_id=f"IC_{self.id}_{number}_{at.timestamp():.0f}")
        item.comments.append(c)
        item.updated_at = at
        return c


MIT = copy.deepcopy(example("GET_search_repositories.json")["items"][0]["license"])
NOASSERTION = example("VARIANT_license_other_noassertion.json")["license_object"]
APACHE = {**MIT, "key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0",
          "url": "https://api.github.com/licenses/apache-2.0", "node_id": "MDc6TGljZW5zZTI="}


def build_repo(owner: str, name: str, *, repo_id: int, n_pulls: int = 7, n_issues: int = 4, seed: int = 0,
               license: dict | None = MIT, stars: int = 1000, big: bool = False) -> Repo:
    """A repository whose content follows GitHub's examples. big=True adds one PR with more files,
    comments and review comments than one GraphQL page holds, to exercise follow-up pages."""
    rng = random.Random(seed)
    pr_ex = example("GET_repos_owner_repo_pulls_pull_number.json")
    file_ex = example("GET_repos_owner_repo_pulls_pull_number_files.json")[0]
    rc_ex = example("GET_repos_owner_repo_pulls_pull_number_comments.json")[0]
    review_ex = example("GET_repos_owner_repo_pulls_pull_number_reviews.json")[0]
    ic_ex = example("GET_repos_owner_repo_issues_issue_number_comments.json")[0]
    issue_ex = example("GET_repos_owner_repo_issues.json")[0]
    readme_ex = example("GET_repos_owner_repo_readme.json")
    repo = Repo(repo_id, owner, name, stars, stars // 10, copy.deepcopy(license) if license else None,
                description=f"{name}: {example('GET_search_repositories.json')['items'][0]['description']}",
                readme=f"# {name}\n\n{readme_ex['name']} of {owner}/{name}, a Go project.\n")
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=repo_id % 97)
    number = 0
    for i in range(n_pulls):
        number += 1
        created = t0 + timedelta(days=3 * i)
        author = BOTS[i % len(BOTS)] if i % 4 == 3 else HUMANS[i % len(HUMANS)]
        state = ("merged", "closed", "open")[i % 3]
        closed = created + timedelta(days=1) if state != "open" else None
        pr = Pull(number, f"{pr_ex['title']} #{number}" if author in HUMANS else f"Bump golang.org/x/net to v0.{number}.0",
                  f"{pr_ex['body']}\n\nPR {number} of {repo.full_name}.", author, state, created, created, closed,
                  closed if state == "merged" else None, "main", _sha(repo_id, "base", number),
                  f"feature-{number}", _sha(repo_id, "head", number), node_id=f"PR_{repo_id}_{number}")
        n_files = 130 if big and i == 0 else 1 + rng.randrange(4)
        for k in range(n_files):
            status = ("added", "modified", "removed", "renamed")[k % 4] if k else file_ex["status"]
            pr.files.append(PullFile(f"pkg/{name}/file{k}.go", status, file_ex["additions"] + k, file_ex["deletions"],
                                     None if k % 5 == 4 else f"{file_ex['patch']}\n+// change {k} of PR {number}"))
        n_comments = 60 if big and i == 0 else rng.randrange(3)
        for k in range(n_comments):
            at = created + timedelta(hours=k + 1)
            pr.comments.append(Comment(next(_ids), (HUMANS + ("github-actions",))[k % 4], f"{ic_ex['body']} ({k})", at,
                                       node_id=f"IC_{repo_id}_{number}_{k}"))
        n_reviews = 12 if big and i == 0 else rng.randrange(3)
        for r in range(n_reviews):
            at = created + timedelta(hours=2 * r + 3)
            rv = Review(next(_ids), HUMANS[(r + 1) % len(HUMANS)], ("APPROVED", "CHANGES_REQUESTED", "COMMENTED")[r % 3],
                        review_ex["body"], at, pr.head_sha, node_id=f"PRR_{repo_id}_{number}_{r}")
            n_rc = 35 if big and i == 0 and r == 0 else rng.randrange(3)
            for k in range(n_rc):
                prev = rv.comments[-1] if rv.comments and k % 2 else None
                f = pr.files[k % len(pr.files)]
                rv.comments.append(ReviewComment(next(_ids), HUMANS[k % len(HUMANS)], f.path, rc_ex["diff_hunk"],
                                                 f"{rc_ex['body']} ({k})", at + timedelta(minutes=k),
                                                 prev.id if prev else None, node_id=f"PRRC_{repo_id}_{number}_{r}_{k}"))
            pr.reviews.append(rv)
        activity = [c.created_at for c in pr.comments] + [r.submitted_at for r in pr.reviews] + \
                   [c.created_at for r in pr.reviews for c in r.comments] + [closed or created]
        pr.updated_at = max(activity)
        repo.pulls.append(pr)
    for i in range(n_issues):
        number += 1
        created = t0 + timedelta(days=2 * i + 1)
        state = ("open", "closed")[i % 2]
        closed = created + timedelta(days=5) if state == "closed" else None
        labels = [lb["name"] for lb in issue_ex["labels"]] + (["enhancement"] if i % 3 == 0 else [])
        if big and i == 0:
            labels += [f"area/{k}" for k in range(25)]
        issue = Issue(number, f"{issue_ex['title']} #{number}", f"{issue_ex['body']}\n\nIssue {number}.",
                      HUMANS[i % len(HUMANS)], state, labels, created, created, closed, node_id=f"I_{repo_id}_{number}")
        for k in range(55 if big and i == 0 else rng.randrange(3)):
            issue.comments.append(Comment(next(_ids), HUMANS[(k + 1) % len(HUMANS)] if k % 5 else "renovate",
                                          f"{ic_ex['body']} on issue ({k})", created + timedelta(hours=k + 1),
                                          node_id=f"IC_{repo_id}_{number}_{k}"))
        issue.updated_at = max([c.created_at for c in issue.comments] + [closed or created])
        repo.issues.append(issue)
    return repo


def search_population(n: int, *, seed: int = 7, language: str = "Go") -> list[Repo]:
    """n repositories with heavy-tailed star counts, some with null or NOASSERTION licences."""
    rng = random.Random(seed)
    repos = []
    for i in range(n):
        stars = int(200_000 / (1 + i) ** 0.9) + rng.randrange(3)
        lic = None if i % 11 == 5 else NOASSERTION if i % 13 == 7 else (MIT if i % 2 else APACHE)
        repos.append(Repo(1_000_000 + i, f"org{i % 37}", f"proj{i}", stars, stars // 9,
                          copy.deepcopy(lic) if lic else None, language=language,
                          archived=i % 17 == 0, fork=i % 23 == 0, topics=["go", f"t{i % 5}"],
                          description=f"Go project {i}"))
    return repos


# -- REST views ---------------------------------------------------------------------------------------
def _user(login: str) -> dict:
    u = copy.deepcopy(example("GET_repos_owner_repo_pulls.json")[0]["user"])
    rest_login, kind, _ = USERS[login]
    u.update(login=rest_login, type=kind, id=int(_sha(login)[:6], 16),
             url=f"https://api.github.com/users/{rest_login}", html_url=f"https://github.com/{rest_login}")
    return u


def rest_search_item(repo: Repo) -> dict:
    item = copy.deepcopy(example("GET_search_repositories.json")["items"][0])
    item.update(id=repo.id, node_id=f"R_{repo.id}", name=repo.name, full_name=repo.full_name,
                stargazers_count=repo.stars, watchers_count=repo.stars, watchers=repo.stars,
                forks_count=repo.forks, forks=repo.forks, license=copy.deepcopy(repo.license),
                default_branch=repo.default_branch, pushed_at=_iso(repo.pushed_at), archived=repo.archived,
                fork=repo.fork, topics=list(repo.topics), description=repo.description, language=repo.language,
                url=f"https://api.github.com/repos/{repo.full_name}", html_url=f"https://github.com/{repo.full_name}",
                clone_url=repo.clone_url or f"https://github.com/{repo.full_name}.git")
    item["owner"] = {**item["owner"], "login": repo.owner}
    return item


def rest_pull(repo: Repo, pr: Pull) -> dict:
    d = copy.deepcopy(example("GET_repos_owner_repo_pulls.json")[0])
    d.update(id=pr.number + repo.id * 10_000, node_id=pr.node_id, number=pr.number, title=pr.title, body=pr.body,
             user=_user(pr.author), state="open" if pr.state == "open" else "closed",
             created_at=_iso(pr.created_at), updated_at=_iso(pr.updated_at), closed_at=_iso(pr.closed_at),
             merged_at=_iso(pr.merged_at), merge_commit_sha=_sha(repo.id, "merge", pr.number) if pr.merged_at else None,
             url=f"https://api.github.com/repos/{repo.full_name}/pulls/{pr.number}")
    d["base"] = {**d["base"], "ref": pr.base_ref, "sha": pr.base_sha}
    d["head"] = {**d["head"], "ref": pr.head_ref, "sha": pr.head_sha}
    return d


def rest_file(f: PullFile, pr: Pull) -> dict:
    d = copy.deepcopy(example("GET_repos_owner_repo_pulls_pull_number_files.json")[0])
    d.update(filename=f.path, status=f.status, additions=f.additions, deletions=f.deletions,
             changes=f.additions + f.deletions, sha=_sha(f.path, pr.head_sha))
    if f.patch is None:
        d.pop("patch", None)  # GitHub omits it for binary or very large diffs
    else:
        d["patch"] = f.patch
    return d


def rest_comment(c: Comment) -> dict:
    d = copy.deepcopy(example("GET_repos_owner_repo_issues_issue_number_comments.json")[0])
    d.update(id=c.id, node_id=c.node_id, body=c.body, user=_user(c.author), created_at=_iso(c.created_at),
             updated_at=_iso(c.created_at))
    return d


def rest_review(rv: Review) -> dict:
    d = copy.deepcopy(example("GET_repos_owner_repo_pulls_pull_number_reviews.json")[0])
    d.update(id=rv.id, node_id=rv.node_id, user=_user(rv.author), state=rv.state, body=rv.body,
             submitted_at=_iso(rv.submitted_at), commit_id=rv.commit_id)
    return d


def rest_review_comment(c: ReviewComment, rv: Review) -> dict:
    d = copy.deepcopy(example("GET_repos_owner_repo_pulls_pull_number_comments.json")[0])
    d.update(id=c.id, node_id=c.node_id, pull_request_review_id=rv.id, path=c.path, diff_hunk=c.diff_hunk,
             body=c.body, user=_user(c.author), created_at=_iso(c.created_at), updated_at=_iso(c.created_at),
             commit_id=rv.commit_id)
    if c.in_reply_to is None:
        d.pop("in_reply_to_id", None)
    else:
        d["in_reply_to_id"] = c.in_reply_to
    return d


def rest_issue(repo: Repo, item: Issue | Pull) -> dict:
    d = copy.deepcopy(example("GET_repos_owner_repo_issues.json")[0])
    is_pull = isinstance(item, Pull)
    d.update(id=item.number + repo.id * 10_000, node_id=item.node_id, number=item.number, title=item.title,
             body=item.body, user=_user(item.author), state="open" if item.state == "open" else "closed",
             comments=len(item.comments), created_at=_iso(item.created_at), updated_at=_iso(item.updated_at),
             closed_at=_iso(item.closed_at),
             labels=[{**d["labels"][0], "name": n, "id": int(_sha(n)[:6], 16)} for n in getattr(item, "labels", [])])
    if is_pull:
        d["pull_request"] = {**d["pull_request"], "url": f"https://api.github.com/repos/{repo.full_name}/pulls/{item.number}"}
    else:
        d.pop("pull_request", None)
    return d


def rest_readme(repo: Repo) -> dict:
    d = copy.deepcopy(example("GET_repos_owner_repo_readme.json"))
    raw = repo.readme.encode()
    d.update(content=base64.encodebytes(raw).decode(), size=len(raw), sha=_sha(repo.full_name, repo.readme))
    return d


# -- GraphQL views ------------------------------------------------------------------------------------
def _actor(login: str) -> dict:
    _, _, typename = USERS[login]
    return {"__typename": typename, "login": login}


_CHANGE = {"added": "ADDED", "modified": "MODIFIED", "removed": "DELETED", "renamed": "RENAMED"}


def gql_comment(c: Comment) -> dict:
    return {"__typename": "IssueComment", "id": c.node_id, "author": _actor(c.author), "body": c.body,
            "createdAt": _iso(c.created_at)}


def gql_review(rv: Review) -> dict:
    node = {"__typename": "PullRequestReview", "id": rv.node_id, "author": _actor(rv.author), "state": rv.state,
            "body": rv.body, "submittedAt": _iso(rv.submitted_at), "createdAt": _iso(rv.submitted_at),
            "commit": {"__typename": "Commit", "oid": rv.commit_id}}
    by_id = {c.id: c for c in rv.comments}
    node["comments"] = [{"__typename": "PullRequestReviewComment", "id": c.node_id, "author": _actor(c.author),
                         "path": c.path, "diffHunk": c.diff_hunk, "body": c.body, "createdAt": _iso(c.created_at),
                         "replyTo": {"__typename": "PullRequestReviewComment", "id": by_id[c.in_reply_to].node_id}
                         if c.in_reply_to else None,
                         "pullRequestReview": {"__typename": "PullRequestReview", "id": rv.node_id}}
                        for c in rv.comments]
    return node


def gql_pull(pr: Pull) -> dict:
    return {"__typename": "PullRequest", "id": pr.node_id, "number": pr.number, "title": pr.title, "body": pr.body,
            "author": _actor(pr.author), "state": pr.state.upper(), "createdAt": _iso(pr.created_at),
            "updatedAt": _iso(pr.updated_at), "mergedAt": _iso(pr.merged_at), "closedAt": _iso(pr.closed_at),
            "baseRefName": pr.base_ref, "baseRefOid": pr.base_sha, "headRefName": pr.head_ref,
            "headRefOid": pr.head_sha,
            "files": [{"path": f.path, "additions": f.additions, "deletions": f.deletions,
                       "changeType": _CHANGE[f.status]} for f in pr.files],
            "comments": [gql_comment(c) for c in pr.comments],
            "reviews": [gql_review(rv) for rv in pr.reviews]}


def gql_issue(issue: Issue) -> dict:
    return {"__typename": "Issue", "id": issue.node_id, "number": issue.number, "title": issue.title,
            "body": issue.body, "author": _actor(issue.author), "state": issue.state.upper(),
            "createdAt": _iso(issue.created_at), "updatedAt": _iso(issue.updated_at),
            "closedAt": _iso(issue.closed_at), "labels": [{"name": n} for n in issue.labels],
            "comments": [gql_comment(c) for c in issue.comments]}


def gql_repository(repo: Repo) -> dict:
    return {"__typename": "Repository", "id": f"R_{repo.id}", "nameWithOwner": repo.full_name,
            "isFork": repo.fork, "parent": {"__typename": "Repository", "nameWithOwner": repo.parent} if repo.parent else None,
            "pullRequests": [gql_pull(p) for p in repo.pulls], "issues": [gql_issue(i) for i in repo.issues]}


def expected_counts(repo: Repo) -> dict[str, int]:
    """Rows each github_* table should hold for this repository after a complete fetch."""
    return {
        "github_pulls": len(repo.pulls),
        "github_reviews": sum(len(p.reviews) for p in repo.pulls),
        "github_review_comments": sum(len(r.comments) for p in repo.pulls for r in p.reviews),
        "github_issues": len(repo.issues),
        "github_issue_comments": sum(len(x.comments) for x in repo.pulls + repo.issues),
    }
