"""The GraphQL documents the collector sends (each validated against GitHub's schema in the tests).

PULLS brings one page of pull requests with their files, conversation comments, reviews and review comments
in a single call. A connection longer than its first page (a PR with 300 files) is finished by MORE queries
on that node alone. Every document also asks for `rateLimit`, so the budget is known after each call.
"""
from __future__ import annotations

import re

RATE = "rateLimit { cost remaining resetAt limit }"

FRAGMENTS = {
    "Page": "fragment Page on PageInfo { hasNextPage endCursor }",
    "Who": "fragment Who on Actor { login __typename }",
    "PrFile": "fragment PrFile on PullRequestChangedFile { path additions deletions changeType }",
    "Conversation": "fragment Conversation on IssueComment { id author { ...Who } body createdAt }",
    "ReviewComment": ("fragment ReviewComment on PullRequestReviewComment { id author { ...Who } path diffHunk "
                      "body createdAt replyTo { id } pullRequestReview { id } }"),
    "Review": ("fragment Review on PullRequestReview { id author { ...Who } state body submittedAt commit { oid } "
               "comments(first: $reviewCommentsPage) { nodes { ...ReviewComment } pageInfo { ...Page } } }"),
    "Pull": ("fragment Pull on PullRequest { id number title body author { ...Who } state createdAt updatedAt "
             "mergedAt closedAt baseRefName baseRefOid headRefName headRefOid "
             "files(first: $filesPage) { nodes { ...PrFile } pageInfo { ...Page } } "
             "comments(first: $commentsPage) { nodes { ...Conversation } pageInfo { ...Page } } "
             "reviews(first: $reviewsPage) { nodes { ...Review } pageInfo { ...Page } } }"),
    "IssueFields": ("fragment IssueFields on Issue { id number title body author { ...Who } state createdAt "
                    "updatedAt closedAt labels(first: $labelsPage) { nodes { name } pageInfo { ...Page } } "
                    "comments(first: $commentsPage) { nodes { ...Conversation } pageInfo { ...Page } } }"),
}

# Page-size variables each fragment needs, so a document declares exactly the variables it uses.
_FRAGMENT_VARS = {"Review": ["reviewCommentsPage"], "Pull": ["filesPage", "commentsPage", "reviewsPage"],
                  "IssueFields": ["labelsPage", "commentsPage"]}


def _fragments_for(body: str) -> list[str]:
    """The fragments a document body uses, transitively, in a stable order."""
    need: list[str] = []
    todo = re.findall(r"\.\.\.(\w+)", body)
    while todo:
        name = todo.pop(0)
        if name in FRAGMENTS and name not in need:
            need.append(name)
            todo += re.findall(r"\.\.\.(\w+)", FRAGMENTS[name])
    return sorted(need)


def document(name: str, variables: str, body: str) -> str:
    frags = _fragments_for(body)
    page_vars = sorted({v for f in frags for v in _FRAGMENT_VARS.get(f, [])})
    decl = ", ".join([variables] + [f"${v}: Int!" for v in page_vars] if variables else [f"${v}: Int!" for v in page_vars])
    return f"query {name}({decl}) {{ {body} {RATE} }}\n" + "\n".join(FRAGMENTS[f] for f in frags)


_LIST = ("$owner: String!, $name: String!, $first: Int!, $after: String, "
         "$orderField: IssueOrderField!, $direction: OrderDirection!")

# The repository's fork ancestry rides along (free: objects, not connections, cost no points): its parent,
# the parent's parent, ... FORK_DEPTH deep; the splits group a fork with its whole network (sql/clean_repos.sql).
FORK_DEPTH = 4


def _ancestry(depth: int) -> str:
    return "" if depth == 0 else f"parent {{ nameWithOwner {_ancestry(depth - 1)}}} "


PULLS = document("Pulls", _LIST, f"repository(owner: $owner, name: $name) {{ isFork {_ancestry(FORK_DEPTH)}"
                 "pullRequests(first: $first, "
                 "after: $after, orderBy: {field: $orderField, direction: $direction}) { nodes { ...Pull } "
                 "pageInfo { ...Page } } }")

ISSUES = document("Issues", _LIST, "repository(owner: $owner, name: $name) { issues(first: $first, "
                  "after: $after, orderBy: {field: $orderField, direction: $direction}) { nodes { ...IssueFields } "
                  "pageInfo { ...Page } } }")

# (node type, connection) -> the fragment of its nodes (None: inline selection)
_MORE = {
    ("PullRequest", "files"): "...PrFile",
    ("PullRequest", "comments"): "...Conversation",
    ("PullRequest", "reviews"): "...Review",
    ("PullRequestReview", "comments"): "...ReviewComment",
    ("Issue", "comments"): "...Conversation",
    ("Issue", "labels"): "name",
}


def more(node_type: str, connection: str) -> str:
    """The document that pages on through one node's connection: `node(id:) { ... on T { conn(after:) } }`."""
    sel = _MORE[(node_type, connection)]
    return document(f"More{node_type}{connection.title()}", "$id: ID!, $first: Int!, $after: String",
                    f"node(id: $id) {{ ... on {node_type} {{ {connection}(first: $first, after: $after) "
                    f"{{ nodes {{ {sel} }} pageInfo {{ ...Page }} }} }} }}")


ALL = {"Pulls": PULLS, "Issues": ISSUES, **{f"more:{t}.{c}": more(t, c) for t, c in _MORE}}
