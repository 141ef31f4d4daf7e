"""`fetch`: per repository, pull requests (files, comments, reviews, review comments), issues and the README.

Resumable: each GraphQL page is committed together with its cursor in github_cursors and the budget left
in github_rate_limits (one lake commit; other workers read the budget from there, see budget.py), and
every row is an upsert by its key, so a run killed at any moment re-reads at most one page and never
duplicates. A first crawl walks CREATED_AT ascending (new items append at the end, so cursors stay valid);
once complete, later runs walk UPDATED_AT descending down to the last crawl's start (`since`).

Free re-runs: a conditional REST probe (`/issues?sort=updated&per_page=1`; PRs are issues there) answers
304, at no quota, when nothing in the repository's issues or PRs changed; the README is conditional too.
GraphQL has no conditional requests, hence the REST probe.

Big pages time out on GitHub's side. A page that does is asked again, same cursor, with half the page size
and half every nested connection's first page (their rest then comes by follow-up queries), down to
`min_page`; later pages grow back. Only a whole page is ever committed: an answer with any error is
dropped, never written in part.
"""
from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from lake import Write
from ingest.github import CredentialsError, GitHubError, queries
from ingest.github.budget import LakeBudget
from ingest.github.client import GitHubClient, QueryTimeout
from ingest.github import records

log = logging.getLogger("ingest.github")

RESOURCES = ("pulls", "issues", "readme")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ancestors(repo: dict) -> list[str]:
    """owner/name of a GraphQL repository's parent, the parent's parent, ... as far as the answer nests them."""
    chain = []
    node = repo.get("parent")
    while node and node.get("nameWithOwner"):
        chain.append(node["nameWithOwner"])
        node = node.get("parent")
    return chain


def split_repo(repo_id: str) -> tuple[str, str]:
    owner, _, name = repo_id.partition("/")
    if not owner or not name or "/" in name:
        raise GitHubError(f"repository {repo_id!r} is not owner/name")
    return owner, name


@dataclass
class Page:
    """The rows of one committed page, by table."""
    rows: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, table: str, new: list[dict] | dict) -> None:
        self.rows.setdefault(table, []).extend(new if isinstance(new, list) else [new])

    def writes(self) -> list[Write]:
        return [Write(t, r, "upsert") for t, r in self.rows.items() if r]

    def count(self) -> int:
        return sum(len(r) for r in self.rows.values())


class RepoCollector:
    def __init__(self, lake, client: GitHubClient, *, patches_via_rest: bool = False, progress=None):
        self.lake = lake
        self.client = client
        self.config = client.config
        self.patches_via_rest = patches_via_rest
        self.progress = progress
        self.rows = 0
        self._forks: dict[str, tuple[bool, list[str]]] = {}  # repo_id -> (isFork, ancestors) from its PULLS pages
        # The budget the limiter shares with other workers; a limiter without one still has its state saved.
        self.budget = client.limiter.shared if isinstance(client.limiter.shared, LakeBudget) else LakeBudget(lake)

    # -- committing ---------------------------------------------------------------------------
    def _commit(self, repo_id: str, page: Page, cursor: dict | None, etag_urls=(), message: str = "",
                extra: list[Write] = ()) -> None:
        """One lake commit: the page's rows, its cursor, the ETags of its answers, and the budget left
        (in the same commit: other workers see the budget every page at no extra commit)."""
        writes = page.writes() + list(extra)
        if cursor is not None:
            writes.append(Write("github_cursors", [{"repo_id": repo_id, "updated_at": _now(), **cursor}], "upsert"))
        etags = self.client.etags.take_pending(list(etag_urls))
        if etags:
            writes.append(Write("github_etags", etags, "upsert"))
        if not writes:
            return
        limits = self.budget.writes(self.client.limiter.state_rows())
        self.lake.commit(writes + limits, message=f"github {repo_id} {message}".strip())
        self.budget.written(limits)
        self.rows += page.count()

    def _cursors(self, repo_id: str) -> dict[str, dict]:
        rows = self.lake.query("SELECT * FROM github_cursors WHERE repo_id = ?", [repo_id]).to_pylist()
        return {r["resource"]: r for r in rows}

    # -- one repository -----------------------------------------------------------------------
    def fetch(self, repo_id: str) -> dict:
        owner, name = split_repo(repo_id)
        cursors = self._cursors(repo_id)
        stats = {"repo": repo_id, "unchanged": False, "pulls": 0, "issues": 0}
        probe = self.client.get(f"/repos/{owner}/{name}/issues",
                                {"state": "all", "sort": "updated", "direction": "desc", "per_page": 1},
                                conditional=True)
        if probe.status == 404:
            raise GitHubError(f"repository {repo_id} not found (renamed, deleted or private?)")
        complete = all((cursors.get(r) or {}).get("complete") for r in RESOURCES)
        if probe.not_modified and complete:
            stats["unchanged"] = True
        else:
            stats["pulls"] = self._crawl(repo_id, owner, name, "pulls", cursors.get("pulls"))
            stats["issues"] = self._crawl(repo_id, owner, name, "issues", cursors.get("issues"))
        self._readme(repo_id, owner, name)
        # The probe's ETag is trusted only once everything it vouches for is in the lake.
        self._commit(repo_id, Page(), None, etag_urls=[probe.url], message="probe",
                     extra=self._fork_writes(repo_id))
        return stats

    def _crawl(self, repo_id: str, owner: str, name: str, resource: str, cursor: dict | None) -> int:
        incremental = bool(cursor and cursor["complete"] and cursor["since"])
        started = _now() if incremental or not (cursor and cursor["started_at"]) else cursor["started_at"]
        after = None if incremental or not cursor else cursor["cursor"]
        since = cursor["since"] if incremental else None
        query, conn_name, size = ((queries.PULLS, "pullRequests", self.config.pr_page) if resource == "pulls"
                                  else (queries.ISSUES, "issues", self.config.issue_page))
        n, pages, full = 0, 0, size
        while True:
            data, size = self._ask(query, {
                "owner": owner, "name": name, "first": size, "after": after,
                "orderField": "UPDATED_AT" if incremental else "CREATED_AT",
                "direction": "DESC" if incremental else "ASC", **self._page_sizes(query)},
                f"{repo_id} {resource} page {pages + 1} of this run")
            pages += 1
            size = min(full, size * 2)  # a page that had to shrink: grow back on the next one
            repo = data.get("repository")
            if repo is None:
                raise GitHubError(f"repository {repo_id} not found through GraphQL")
            if "isFork" in repo:
                self._forks[repo_id] = (repo["isFork"], ancestors(repo))
            conn = repo[conn_name]
            nodes = conn["nodes"]
            stop = False
            if incremental:
                horizon = since - timedelta(seconds=self.config.incremental_overlap_s)
                fresh = [x for x in nodes if _ts(x["updatedAt"]) >= horizon]
                stop, nodes = len(fresh) < len(nodes), fresh
            page = Page()
            for node in nodes:
                if resource == "pulls":
                    self._pull(repo_id, owner, name, node, page)
                else:
                    self._issue(repo_id, node, page)
            has_next = conn["pageInfo"]["hasNextPage"] and not stop
            end = conn["pageInfo"]["endCursor"]
            if has_next:
                state = {"cursor": None if incremental else end, "complete": incremental, "since": since,
                         "started_at": started}
            else:  # finished: everything updated before this crawl began is in the lake
                state = {"cursor": None, "complete": True, "since": started, "started_at": None}
            self._commit(repo_id, page, {"resource": resource, **state}, message=f"{resource} page")
            n += len(nodes)
            if self.progress is not None:
                self.progress.update(len(nodes))
            if not has_next:
                return n
            after = end

    def _fork_writes(self, repo_id: str) -> list[Write]:
        """GraphQL's isFork and ancestry as the repository's github_forks row, and its parent onto its
        github_repos row when search wrote one."""
        if repo_id not in self._forks:
            return []
        fork, chain = self._forks.pop(repo_id)
        parent = chain[0] if chain else None
        writes = [Write("github_forks", [{"repo_id": repo_id, "fork": fork, "parent": parent, "ancestors": chain,
                                          "fetched_at": _now()}], "upsert")]
        rows = self.lake.query("SELECT * FROM github_repos WHERE repo_id = ?", [repo_id]).to_pylist()
        for r in rows:
            r.update(fork=fork, parent=parent)
        return writes + ([Write("github_repos", rows, "upsert")] if rows else [])

    def _ask(self, query: str, variables: dict, what: str) -> tuple[dict, int]:
        """One GraphQL page: (data, the `first` it was fetched with). On a timeout, the same page again
        with every page size halved, down to min_page; a timeout at the floor fails the page."""
        while True:
            try:
                return self.client.graphql(query, variables), variables["first"]
            except QueryTimeout as e:
                smaller = {k: max(self.config.min_page, v // 2) if k == "first" or k.endswith("Page") else v
                           for k, v in variables.items()}
                if smaller == variables:
                    raise GitHubError(f"{what}: timed out even at page size {variables['first']} ({e})") from None
                self.client.stats["smaller_pages"] += 1
                log.info("github: %s timed out, asking again for %d at a time", what, smaller["first"])
                variables = smaller

    def _page_sizes(self, query: str) -> dict:
        c = self.config
        sizes = {"commentsPage": c.comments_page, "filesPage": c.files_page, "reviewsPage": c.reviews_page,
                 "reviewCommentsPage": c.review_comments_page, "labelsPage": c.labels_page}
        return {k: v for k, v in sizes.items() if f"${k}:" in query}

    def _rest_of(self, node: dict, node_type: str, connection: str) -> list[dict]:
        """All nodes of one of `node`'s connections: the first page it came with, then MORE pages."""
        conn = node[connection]
        out = list(conn["nodes"])
        info = conn["pageInfo"]
        query = queries.more(node_type, connection)
        while info["hasNextPage"]:
            data, _ = self._ask(query, {"id": node["id"], "first": self.config.more_page,
                                        "after": info["endCursor"], **self._page_sizes(query)},
                                f"{node_type} {node['id']} {connection}")
            more = (data.get("node") or {}).get(connection)
            if more is None:
                raise GitHubError(f"{node_type} {node['id']} vanished while paging its {connection}")
            out += more["nodes"]
            info = more["pageInfo"]
        return out

    def _pull(self, repo_id: str, owner: str, name: str, pr: dict, page: Page) -> None:
        number = pr["number"]
        pr = {**pr, "files": {"nodes": self._rest_of(pr, "PullRequest", "files")}}
        patches = self._patches(owner, name, number) if self.patches_via_rest else {}
        page.add("github_pulls", records.pull_row(repo_id, pr, patches))
        page.add("github_issue_comments", records.conversation_rows(
            repo_id, number, True, self._rest_of(pr, "PullRequest", "comments")))
        for review in self._rest_of(pr, "PullRequest", "reviews"):
            page.add("github_reviews", records.review_row(repo_id, number, review))
            page.add("github_review_comments", records.review_comment_rows(
                repo_id, number, review["id"], self._rest_of(review, "PullRequestReview", "comments")))

    def _patches(self, owner: str, name: str, number: int) -> dict[str, str]:
        """--patches-via-rest: per-file diff text, which GraphQL does not have (absent for binary/huge files)."""
        patches: dict[str, str] = {}
        for answer in self.client.pages(f"/repos/{owner}/{name}/pulls/{number}/files",
                                        {"per_page": self.config.rest_page}):
            if answer.status == 404:
                break
            for f in answer.data:
                if f.get("patch") is not None:
                    patches[f["filename"]] = f["patch"]
        return patches

    def _issue(self, repo_id: str, issue: dict, page: Page) -> None:
        issue = {**issue, "labels": {"nodes": self._rest_of(issue, "Issue", "labels")}}
        page.add("github_issues", records.issue_row(repo_id, issue))
        page.add("github_issue_comments", records.conversation_rows(
            repo_id, issue["number"], False, self._rest_of(issue, "Issue", "comments")))

    def _readme(self, repo_id: str, owner: str, name: str) -> None:
        """The preferred README (REST: GraphQL cannot say which file GitHub shows), conditional."""
        answer = self.client.get(f"/repos/{owner}/{name}/readme", conditional=True)
        cursor = {"resource": "readme", "cursor": None, "complete": True, "since": _now(), "started_at": None}
        if answer.not_modified:
            return
        scope = [{"repo_id": repo_id, "source": "github"}]
        rows = None  # 404: the repository has no README (any old one is cleared)
        if answer.status == 200:
            try:
                text = base64.b64decode(answer.data.get("content") or "").decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise GitHubError(f"README of {repo_id} is not base64 UTF-8 text") from None
            rows = [{"repo_id": repo_id, "source": "github", "path": answer.data.get("path"), "content": text}]
        self._commit(repo_id, Page(), cursor, etag_urls=[answer.url], message="readme",
                     extra=[Write("readmes", rows, "scope", scope)])


def fetch_repositories(lake, collector: RepoCollector, repos, run_id: str) -> tuple[list[str], int]:
    """Fetch each repository; one that fails (not found, access denied, a page that still fails after the
    retries) gets an ingest_errors row and the others go on. A repository that succeeds again loses its
    old error row. Returns (failed repository ids, how many were unchanged); bad credentials stop all."""
    failed, unchanged = [], 0
    for repo_id in repos:
        try:
            unchanged += collector.fetch(repo_id)["unchanged"]
        except CredentialsError:
            raise
        except GitHubError as e:
            failed.append(repo_id)
            log.warning("github: %s: %s", repo_id, e)
            lake.commit([Write("ingest_errors", [{"repo_id": repo_id, "stage": "github", "object": repo_id,
                                                  "error": str(e), "run_id": run_id, "at": _now()}], "upsert")],
                        message=f"github {repo_id} failed")
            continue
        if lake.query("SELECT 1 FROM ingest_errors WHERE repo_id = ? AND stage = 'github'", [repo_id]).num_rows:
            lake.commit([Write("ingest_errors", None, "scope", [{"repo_id": repo_id, "stage": "github"}])],
                        message=f"github {repo_id} recovered")
    return failed, unchanged
