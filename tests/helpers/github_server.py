"""A fake GitHub on 127.0.0.1 that answers as GitHub's docs say, for the collector's tests and bench.

REST: Link-header pagination (per_page <= 100), search with its 1,000-result cap (422 past it), ETags with
304 for a matching If-None-Match (free), x-ratelimit-* headers and per-token budgets (403 when spent).
GraphQL: every incoming query is validated against GitHub's schema with graphql-core (failures are kept in
`invalid_queries`, and the test fixtures fail on any), executed by graphql-core over the model, costed
with GitHub's formula (connection pages it could need / 100, minimum 1) and answered with `rateLimit`.
Faults, the ones GitHub really produces: 502/503/504 HTML pages, 403/429 secondary limits with and without
retry-after, a dropped connection, a body cut short (with or without a Content-Length), a slow answer, a
GraphQL `data: null`, and GraphQL's "Something went wrong ... timeout" error on a nested field beside the
partial data. Injected one by one (`inject`), at random at a rate per kind (`FaultProfile`, seeded; PROFILES
holds "light" and "heavy"), or for every query over a node budget (`timeout_over_nodes`: big pages time out).
The server keeps GitHub's secondary-limit rule: a token refused waits retry-after, or at least
`secondary_wait_s` (a minute, GitHub's documented rule) without one; a request sent sooner is recorded in
`violations` (and refused again).
"""
from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import graphql
import pytest
from graphql.language import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, OperationDefinitionNode
from graphql.utilities import value_from_ast_untyped

from tests.helpers import github_fixtures as F

WINDOWS = {"core": 3600, "graphql": 3600, "search": 60}
DEFAULT_LIMITS = {"core": 5000, "graphql": 5000, "search": 30}


# -- the schema ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def schema() -> graphql.GraphQLSchema:
    """GitHub's schema. graphql-core 3.3 rejects 8 fields GitHub deprecates on types whose interface does
    not (README snag); those directives are dropped before building, nothing else is touched."""
    doc = graphql.parse(F.SCHEMA.read_text())
    bad = set()
    for e in graphql.validate_schema(graphql.build_ast_schema(doc)):
        m = re.search(r"implementation field (\w+)\.(\w+) must not be deprecated", e.message)
        if not m:
            raise RuntimeError(f"GitHub schema does not build: {e.message}")
        bad.add(m.groups())

    def copy(node, **kw):
        return node.__class__(**{**{k: getattr(node, k) for k in node.keys}, **kw})

    defs = []
    for d in doc.definitions:
        if getattr(d, "fields", None) and any(t == d.name.value for t, _ in bad):
            d = copy(d, fields=tuple(
                copy(f, directives=tuple(x for x in f.directives if x.name.value != "deprecated"))
                if (d.name.value, f.name.value) in bad else f for f in d.fields))
        defs.append(d)
    s = graphql.build_ast_schema(graphql.language.DocumentNode(definitions=tuple(defs)))
    _wire(s)
    return s


def validate(query: str) -> list[str]:
    """Errors graphql-core finds in `query` against GitHub's schema (empty: valid)."""
    try:
        doc = graphql.parse(query)
    except graphql.GraphQLError as e:
        return [e.message]
    return [e.message for e in graphql.validate(schema(), doc)]


def query_cost(doc, variables: dict) -> tuple[int, int]:
    """GitHub's cost: (requests each connection could need, summed) / 100, min 1; and the node count."""
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    total = {"requests": 0, "nodes": 0}

    def walk(sel_set, mult):
        for sel in sel_set.selections:
            if isinstance(sel, FieldNode):
                args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in sel.arguments or ()}
                n = args.get("first") or args.get("last")
                if n is not None:
                    total["requests"] += mult
                    total["nodes"] += mult * n
                    if sel.selection_set:
                        walk(sel.selection_set, mult * n)
                elif sel.selection_set:
                    walk(sel.selection_set, mult)
            elif isinstance(sel, InlineFragmentNode):
                walk(sel.selection_set, mult)
            elif isinstance(sel, FragmentSpreadNode):
                walk(frags[sel.name.value].selection_set, mult)

    walk(op.selection_set, 1)
    return max(1, round(total["requests"] / 100)), total["nodes"]


# -- GraphQL resolvers over the model's dicts -----------------------------------------------------------
_ORDER_FIELDS = {"CREATED_AT": "createdAt", "UPDATED_AT": "updatedAt"}


def _cursor(key) -> str:
    return base64.b64encode(("cursor:v2:" + json.dumps(key)).encode()).decode()


def _uncursor(c: str):
    return json.loads(base64.b64decode(c).decode().removeprefix("cursor:v2:"))


def _connection(key: str):
    """A connection over parent[key]. Cursors carry the sort key, as GitHub's do, so they stay valid when
    items are added elsewhere in the list."""
    def resolve(parent, info, first=None, last=None, after=None, before=None, orderBy=None, **_):
        n = first if first is not None else last
        if n is None:
            raise graphql.GraphQLError(f"You must provide a `first` or `last` value to properly paginate the `{key}` connection.")
        if n > 100:
            raise graphql.GraphQLError(f"Requesting {n} records on the `{key}` connection exceeds the `first` limit of 100 records.")
        field = _ORDER_FIELDS.get(orderBy["field"], "name") if orderBy else None
        desc = bool(orderBy) and orderBy.get("direction") == "DESC"
        items = list(parent[key])
        ident = lambda x: x.get("id") or x.get("path") or x.get("name")  # noqa: E731
        position = {id(x): i for i, x in enumerate(items)}
        sort_key = (lambda x: [x.get(field) or "", ident(x)]) if field else (lambda x: [position[id(x)]])
        items.sort(key=sort_key, reverse=desc)
        if after:
            ck = _uncursor(after)
            items = [x for x in items if (sort_key(x) < ck if desc else sort_key(x) > ck)]
        page = items[:n]
        return {"nodes": page, "edges": [{"node": x, "cursor": _cursor(sort_key(x))} for x in page],
                "totalCount": len(parent[key]),
                "pageInfo": {"hasNextPage": len(items) > n, "hasPreviousPage": bool(after),
                             "endCursor": _cursor(sort_key(page[-1])) if page else None,
                             "startCursor": _cursor(sort_key(page[0])) if page else None}}
    return resolve


def _wire(s: graphql.GraphQLSchema) -> None:
    tm = s.type_map
    tm["Query"].fields["repository"].resolve = lambda _, info, owner, name, **kw: info.context["server"].gql_repo(owner, name)
    tm["Query"].fields["node"].resolve = lambda _, info, id: info.context["server"].gql_node(id)
    tm["Query"].fields["rateLimit"].resolve = lambda _, info, **kw: info.context["rate"]
    tm["Repository"].fields["parent"].resolve = lambda repo, info: info.context["server"].gql_parent(repo)
    tm["Repository"].fields["pullRequests"].resolve = _connection("pullRequests")
    tm["Repository"].fields["issues"].resolve = _connection("issues")
    tm["PullRequest"].fields["files"].resolve = _connection("files")
    tm["PullRequest"].fields["comments"].resolve = _connection("comments")
    tm["PullRequest"].fields["reviews"].resolve = _connection("reviews")
    tm["PullRequestReview"].fields["comments"].resolve = _connection("comments")
    tm["Issue"].fields["comments"].resolve = _connection("comments")
    tm["Issue"].fields["labels"].resolve = _connection("labels")


# -- faults -------------------------------------------------------------------------------------------
FAULT_KINDS = ("status", "secondary", "drop", "truncate", "slow", "graphql_null", "graphql_timeout")
GRAPHQL_ONLY = ("graphql_null", "graphql_timeout")
TIMEOUT_MESSAGE = ("Something went wrong while executing your query. This may be the result of a timeout, or it "
                   "could be a GitHub bug. Please include `{ref}` when reporting this issue.")


@dataclass
class Fault:
    kind: str                   # one of FAULT_KINDS
    path: str = ""              # applies to requests whose path starts with this ('' = any)
    times: int = 1
    status: int = 502
    retry_after: int | None = None
    delay: float = 0.0
    sized: bool = True          # truncate: keep the full Content-Length (False: none, connection closed)
    repo: str | None = None     # only requests about this owner/name (REST path or GraphQL variables)
    skip: int = 0               # let this many matching requests through first


@dataclass(frozen=True)
class FaultProfile:
    """Random faults: each request draws one kind with the given probability (seeded, so a run replays)."""
    rates: dict = field(default_factory=dict)   # kind -> probability per request; status kinds as "502" ...
    seed: int = 0
    slow_s: tuple = (0.05, 0.3)                 # a slow answer's delay, uniform in this range
    retry_after: int = 60

    def draw(self, rng: random.Random, graphql_request: bool) -> Fault | None:
        u, acc = rng.random(), 0.0
        for name, rate in sorted(self.rates.items()):
            acc += rate
            if u < acc:
                break
        else:
            return None
        if name in GRAPHQL_ONLY and not graphql_request:
            return None
        if name.isdigit():
            return Fault("status", status=int(name))
        if name == "secondary_retry_after":
            return Fault("secondary", status=rng.choice((403, 429)), retry_after=self.retry_after)
        if name == "secondary":
            return Fault("secondary", status=rng.choice((403, 429)))
        if name == "truncate_unsized":
            return Fault("truncate", sized=False)
        return Fault(name, delay=rng.uniform(*self.slow_s))


PROFILES = {
    "light": FaultProfile({"502": 0.02, "503": 0.02, "504": 0.01, "secondary": 0.01, "secondary_retry_after": 0.01,
                           "drop": 0.02, "truncate": 0.02, "truncate_unsized": 0.02, "slow": 0.03,
                           "graphql_null": 0.03, "graphql_timeout": 0.03}),
    "heavy": FaultProfile({"502": 0.05, "503": 0.05, "504": 0.03, "secondary": 0.03, "secondary_retry_after": 0.03,
                           "drop": 0.05, "truncate": 0.04, "truncate_unsized": 0.04, "slow": 0.05,
                           "graphql_null": 0.06, "graphql_timeout": 0.08}),
}

_HTML = ("<!DOCTYPE html>\n<html>\n  <head>\n    <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n"
         "    <title>{title} &middot; GitHub</title>\n  </head>\n  <body>\n    <div class=\"container\">\n"
         "      <h1>{title}</h1>\n      <p>{text}</p>\n    </div>\n  </body>\n</html>\n")
_HTML_PAGES = {502: ("Unicorn!", "We couldn't respond to your request in time. Sorry about that."),
               503: ("Service Unavailable", "No server is currently available to service your request."),
               504: ("Gateway Timeout", "We didn't receive a timely response from the upstream server.")}


def _nested_connection(data, path=()):
    """The path of the deepest connection value inside `data` that is itself inside a list of nodes."""
    best = None
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, dict) and "nodes" in v and "nodes" in path:
                best = path + (k,)
            found = _nested_connection(v, path + (k,))
            if found and (best is None or len(found) > len(best)):
                best = found
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found = _nested_connection(v, path + (i,))
            if found and (best is None or len(found) > len(best)):
                best = found
    return best


def timed_out(data: dict | None, ref: str) -> dict:
    """GitHub's answer to a query that ran out of time: the deepest nested connection is null, an error
    names its path, the rest of the data is there (partial); with no nested connection, data is null."""
    where = _nested_connection(data) if data else None
    if where is None:
        return {"data": None, "errors": [{"message": TIMEOUT_MESSAGE.format(ref=ref)}]}
    data = json.loads(json.dumps(data))
    node = data
    for k in where[:-1]:
        node = node[k]
    node[where[-1]] = None
    return {"data": data, "errors": [{"message": TIMEOUT_MESSAGE.format(ref=ref), "path": list(where),
                                      "locations": [{"line": 1, "column": 1}]}]}


@dataclass
class Hit:
    method: str
    path: str
    status: int
    resource: str
    charged: int
    token: str | None
    operation: str | None = None  # the GraphQL operation's name
    at: float = 0.0               # the server clock when it answered
    variables: dict | None = None  # a GraphQL request's variables (owner, name: whose work it was)


class FakeGitHub:
    """Run with `with FakeGitHub(repos, tokens=[...]) as gh: gh.url ...`."""

    def __init__(self, repos: list[F.Repo] = (), *, tokens=("test-token",), clock=time.time,
                 limits: dict | None = None, windows: dict | None = None, search_population: list[F.Repo] = (),
                 profile: FaultProfile | None = None, timeout_over_nodes: int | None = None,
                 secondary_wait_s: float = 60.0):
        self.repos = {r.full_name.lower(): r for r in repos}
        self.population = list(search_population) or list(repos)
        self.tokens = set(tokens)
        self.clock = clock
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.windows = {**WINDOWS, **(windows or {})}  # seconds per rate-limit window (short ones for tests)
        self.buckets: dict[tuple[str, str], dict] = {}
        self.faults: list[Fault] = []
        self.profile = profile
        self.rng = random.Random(profile.seed if profile else 0)
        self.timeout_over_nodes = timeout_over_nodes  # a GraphQL query asking for more nodes times out
        self.secondary_wait_s = secondary_wait_s
        self.blocked: dict = {}                    # token -> server time until which a secondary limit holds
        self.violations: list[str] = []            # requests sent while a secondary limit held
        self.injected: Counter = Counter()          # faults served, by kind
        self.hits: list[Hit] = []
        self.queries: list[str] = []
        self.variables: list[dict] = []
        self.invalid_queries: list[tuple[str, list[str]]] = []
        self.server_errors: list[str] = []
        self.rendered: dict = {}  # search items by (id, stars): rendering thousands per query is slow
        self.on_search = None   # on_search(server, body) after each search answer (tests move repositories)
        self.lock = threading.Lock()
        self._httpd = None
        schema()

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> "FakeGitHub":
        handler = type("Handler", (_Handler,), {"gh": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def inject(self, kind: str, path: str = "", **kw) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {kind!r} not in {FAULT_KINDS}")
        self.faults.append(Fault(kind, path, **kw))

    # -- accounting ---------------------------------------------------------------------------
    def bucket(self, token: str, resource: str) -> dict:
        b = self.buckets.get((token, resource))
        now = self.clock()
        if b is None or now >= b["reset"]:
            b = self.buckets[(token, resource)] = {"used": 0, "reset": int(now) + self.windows[resource]}
        return b

    def rate_headers(self, token: str, resource: str) -> dict:
        b = self.bucket(token, resource)
        limit = self.limits[resource]
        return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(max(0, limit - b["used"])),
                "x-ratelimit-used": str(b["used"]), "x-ratelimit-reset": str(b["reset"]),
                "x-ratelimit-resource": resource}

    def usage(self, resource: str | None = None) -> int:
        """Quota charged so far (REST requests, GraphQL points), over all tokens."""
        return sum(h.charged for h in self.hits if resource is None or h.resource == resource)

    def usage_by_token(self) -> Counter:
        c = Counter()
        for h in self.hits:
            c[h.token] += h.charged
        return c

    # -- the model ----------------------------------------------------------------------------
    def repo(self, owner: str, name: str) -> F.Repo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def gql_repo(self, owner, name):
        r = self.repo(owner, name)
        if r is None:
            raise graphql.GraphQLError(f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                                       extensions={"type": "NOT_FOUND"})
        return F.gql_repository(r)

    def gql_parent(self, repo: dict) -> dict | None:
        """A repository's parent as GitHub nests it: the parent's own fields, its own parent in turn (a parent
        this server does not hold is known by name only)."""
        name = (repo.get("parent") or {}).get("nameWithOwner")
        if name is None:
            return None
        known = self.repo(*name.split("/", 1))
        if known is None:
            return {"__typename": "Repository", "nameWithOwner": name}
        return {"__typename": "Repository", "nameWithOwner": known.full_name, "isFork": known.fork,
                "parent": {"nameWithOwner": known.parent} if known.parent else None}

    def gql_node(self, node_id: str):
        for r in self.repos.values():
            g = F.gql_repository(r)
            for pr in g["pullRequests"]:
                if pr["id"] == node_id:
                    return pr
                for rv in pr["reviews"]:
                    if rv["id"] == node_id:
                        return rv
            for issue in g["issues"]:
                if issue["id"] == node_id:
                    return issue
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # a killed client is expected
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    gh: FakeGitHub

    def log_message(self, *args) -> None:  # quiet
        pass

    # -- plumbing -----------------------------------------------------------------------------
    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth.split(None, 1)[1] if " " in auth else None

    def _send(self, status: int, body, headers: dict | None = None, *, truncate: Fault | None = None,
              html: bool = False) -> None:
        raw = b"" if body is None else body.encode() if html else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "text/html; charset=utf-8" if html else "application/json; charset=utf-8")
        if truncate is None or truncate.sized:
            self.send_header("Content-Length", str(len(raw)))
        else:  # a proxy that cut the body and closed: it looks complete, but it is not JSON
            self.send_header("Connection", "close")
        self.end_headers()
        if truncate is not None:
            self.wfile.write(raw[: len(raw) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(raw)

    def _record(self, status, resource, charged, token, operation=None, variables=None):
        with self.gh.lock:
            self.gh.hits.append(Hit(self.command, self.path, status, resource, charged, token, operation,
                                    self.gh.clock(), variables))

    def _fault(self, variables: dict) -> Fault | None:
        path = urlsplit(self.path).path
        about = (f"{variables.get('owner')}/{variables.get('name')}".lower() if path == "/graphql"
                 else "/".join(path.split("/")[2:4]).lower() if path.startswith("/repos/") else None)
        gh = self.gh
        with gh.lock:
            for f in gh.faults:
                if f.times > 0 and path.startswith(f.path) and (f.repo is None or f.repo.lower() == about):
                    if f.skip > 0:
                        f.skip -= 1
                        continue
                    f.times -= 1
                    return f
            if gh.profile is not None:
                return gh.profile.draw(gh.rng, path == "/graphql")
        return None

    def _secondary_limit(self, token, resource: str, status: int, retry_after: int | None) -> None:
        """Refuse as GitHub's secondary limit does, and remember until when this token must keep quiet."""
        gh = self.gh
        with gh.lock:
            gh.blocked[token] = gh.clock() + (retry_after if retry_after is not None else gh.secondary_wait_s)
        ex = F.example("ERROR_403_secondary_rate_limit.json")
        headers = {k: v for k, v in ex["headers"].items() if k not in ("retry-after", "content-type")}
        headers.update(gh.rate_headers(token, resource) if token in gh.tokens else {})
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        self._record(status, resource, 0, token)
        return self._send(status, ex["body"], headers)

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _handle(self) -> None:
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug in the fake: keep it for the test to report, answer 500
            with self.gh.lock:
                self.gh.server_errors.append(f"{self.command} {self.path}: {type(e).__name__}: {e}")
            self._send(500, {"message": "fake server error"})

    def _dispatch(self) -> None:
        gh = self.gh
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        resource = "graphql" if parts.path == "/graphql" else "search" if parts.path.startswith("/search/") else "core"
        token = self._token()
        with gh.lock:
            until = gh.blocked.get(token)
            early = until is not None and gh.clock() < until
            if early:
                gh.violations.append(f"{self.command} {parts.path} {until - gh.clock():.1f} s before the "
                                     f"secondary limit ended")
        if early:
            return self._secondary_limit(token, resource, 403, None)
        try:
            variables = (json.loads(payload or b"{}").get("variables") or {}) if resource == "graphql" else {}
        except ValueError:
            variables = {}
        fault = self._fault(variables)
        if fault is not None:
            with gh.lock:
                gh.injected[fault.kind if fault.kind != "status" else str(fault.status)] += 1
            if fault.kind == "drop":
                self.close_connection = True
                self._record(0, resource, 0, token)
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "status":
                self._record(fault.status, resource, 0, token)
                title, text = _HTML_PAGES.get(fault.status, ("Server Error", "Something went wrong."))
                return self._send(fault.status, _HTML.format(title=title, text=text), html=True)
            elif fault.kind == "secondary":
                return self._secondary_limit(token, resource, fault.status, fault.retry_after)
        if token not in gh.tokens:
            self._record(401, resource, 0, token)
            return self._send(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                                    "status": "401"})
        if parts.path == "/rate_limit":
            self._record(200, "core", 0, token)
            return self._send(200, {"resources": {r: {"limit": gh.limits[r], **_remaining(gh, token, r)}
                                                  for r in WINDOWS}}, gh.rate_headers(token, "core"))
        truncate = fault if fault is not None and fault.kind == "truncate" else None
        if resource == "graphql":
            return self._graphql(token, payload, truncate, fault.kind if fault is not None else None)
        return self._rest(token, resource, parts, truncate)

    # -- GraphQL ------------------------------------------------------------------------------
    def _graphql(self, token: str, payload: bytes, truncate: Fault | None, fault: str | None) -> None:
        gh = self.gh
        body = json.loads(payload or b"{}")
        query, variables = body.get("query", ""), body.get("variables") or {}
        with gh.lock:
            gh.queries.append(query)
            gh.variables.append(variables)
        errors = validate(query)
        if errors:
            with gh.lock:
                gh.invalid_queries.append((query, errors))
            self._record(200, "graphql", 0, token)
            return self._send(200, {"errors": [{"message": m} for m in errors]}, gh.rate_headers(token, "graphql"))
        doc = graphql.parse(query)
        cost, nodes = query_cost(doc, variables)
        if nodes > 500_000:
            self._record(200, "graphql", 0, token)
            return self._send(200, {"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED",
                                                "message": f"This query requests up to {nodes} nodes"}]})
        with gh.lock:
            b = gh.bucket(token, "graphql")
            if b["used"] + cost > gh.limits["graphql"]:
                spent = True
            else:
                spent = False
                b["used"] += cost
        if spent:
            return self._primary_limited(token, "graphql")
        rate = {"cost": cost, "limit": gh.limits["graphql"], "remaining": gh.limits["graphql"] - b["used"],
                "used": b["used"], "nodeCount": nodes,
                "resetAt": datetime.fromtimestamp(b["reset"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        result = graphql.execute(schema(), doc, variable_values=variables, context_value={"server": gh, "rate": rate})
        out = {"data": result.data}
        if result.errors:
            out["errors"] = [{"message": e.message, "type": (e.extensions or {}).get("type", "INTERNAL"),
                              "path": e.path} for e in result.errors]
        elif fault == "graphql_null":
            out = {"data": None}
        elif fault == "graphql_timeout" or (gh.timeout_over_nodes is not None and nodes > gh.timeout_over_nodes):
            if fault != "graphql_timeout":
                with gh.lock:
                    gh.injected["timeout_over_nodes"] += 1
            out = timed_out(result.data, f"{len(gh.hits):04X}:{nodes}")
        op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
        self._record(200, "graphql", cost, token, op.name.value if op.name else None, variables)
        self._send(200, out, gh.rate_headers(token, "graphql"), truncate=truncate)

    def _primary_limited(self, token: str, resource: str) -> None:
        ex = F.example("ERROR_403_primary_rate_limit.json")
        headers = self.gh.rate_headers(token, resource)
        headers["x-ratelimit-remaining"] = "0"
        self._record(403, resource, 0, token)
        self._send(403, ex["body"], headers)

    # -- REST ---------------------------------------------------------------------------------
    def _rest(self, token: str, resource: str, parts, truncate: Fault | None) -> None:
        gh = self.gh
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        routed = self._route(parts.path, q)
        if routed is None:
            self._record(404, resource, 1, token)
            return self._send(404, F.example("ERROR_404_not_found.json")["body"], gh.rate_headers(token, resource))
        status, body, extra = routed
        paged = isinstance(body, list) or parts.path.startswith("/search/")
        if status == 200 and paged:
            status, body, extra = self._paginate(parts, q, body, extra)
        etag = 'W/"%s"' % hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if status == 200 and self.headers.get("If-None-Match") == etag:
            self._record(304, resource, 0, token)  # conditional hit: free
            return self._send(304, None, {"etag": etag, **gh.rate_headers(token, resource)})
        with gh.lock:
            b = gh.bucket(token, resource)
            spent = b["used"] >= gh.limits[resource]
            if not spent:
                b["used"] += 1
        if spent:
            return self._primary_limited(token, resource)
        self._record(status, resource, 1, token)
        headers = {**gh.rate_headers(token, resource), **extra}
        if status == 200:
            headers["etag"] = etag
        self._send(status, body, headers, truncate=truncate)
        if resource == "search" and gh.on_search is not None and status == 200:
            gh.on_search(gh, body)

    def _paginate(self, parts, q, body, extra):
        per_page = min(int(q.get("per_page", 30)), 100)
        page = int(q.get("page", 1))
        is_search = isinstance(body, dict)
        items = body["items"] if is_search else body
        total = len(items)
        available = min(total, 1000) if is_search else total
        if is_search and (page - 1) * per_page >= 1000:
            return 422, F.example("ERROR_422_search_beyond_1000.json")["body"], {}
        chunk = items[(page - 1) * per_page: page * per_page]
        last = max(1, -(-available // per_page))
        host = self.headers.get("Host", "127.0.0.1")

        def link(p):
            return f"<http://{host}{parts.path}?{urlencode({**q, 'page': p})}>"

        rels = []
        if page > 1:
            rels += [f'{link(page - 1)}; rel="prev"']
        if page < last:
            rels += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            rels += [f'{link(1)}; rel="first"']
        headers = {**extra, **({"link": ", ".join(rels)} if rels else {})}
        if is_search:
            return 200, {"total_count": total, "incomplete_results": False, "items": chunk}, headers
        return 200, chunk, headers

    def _route(self, path: str, q: dict):
        gh = self.gh
        if path == "/search/repositories":
            return 200, {"items": self._search(q.get("q", ""))}, {}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not m:
            return None
        repo = gh.repo(m.group(1), m.group(2))
        if repo is None:
            return None
        rest = m.group(3) or ""
        if rest == "":
            return 200, F.rest_search_item(repo), {}
        if rest == "/readme":
            return (200, F.rest_readme(repo), {}) if repo.readme is not None else None
        if rest == "/issues":
            items = repo.pulls + repo.issues
            state = q.get("state", "open")
            if state != "all":
                items = [x for x in items if (x.state == "open") == (state == "open")]
            key = "updated_at" if q.get("sort") == "updated" else "created_at"
            items.sort(key=lambda x: (getattr(x, key), x.number), reverse=q.get("direction", "desc") == "desc")
            return 200, [F.rest_issue(repo, x) for x in items], {}
        if rest == "/pulls":
            items = repo.pulls
            state = q.get("state", "open")
            if state != "all":
                items = [x for x in items if (x.state == "open") == (state == "open")]
            return 200, [F.rest_pull(repo, x) for x in sorted(items, key=lambda x: -x.number)], {}
        if rest == "/pulls/comments":  # every review comment of the repository, oldest first
            return 200, [F.rest_review_comment(c, rv) for pr in repo.pulls for rv in pr.reviews
                         for c in sorted(rv.comments, key=lambda c: c.id)], {}
        if rest == "/issues/comments":  # every conversation comment, on issues and pull requests
            return 200, [F.rest_comment(c) for c in sorted((c for x in repo.pulls + repo.issues for c in x.comments),
                                                           key=lambda c: c.id)], {}
        m2 = re.fullmatch(r"/(pulls|issues)/(\d+)(/files|/comments|/reviews)?", rest)
        if not m2:
            return None
        kind, number, sub = m2.group(1), int(m2.group(2)), m2.group(3) or ""
        pr = next((p for p in repo.pulls if p.number == number), None)
        issue = next((i for i in repo.issues if i.number == number), None)
        if kind == "pulls" and pr is not None:
            if sub == "":
                return 200, F.rest_pull(repo, pr), {}
            if sub == "/files":
                return 200, [F.rest_file(f, pr) for f in pr.files][:3000], {}
            if sub == "/comments":
                return 200, [F.rest_review_comment(c, rv) for rv in pr.reviews for c in rv.comments], {}
            if sub == "/reviews":
                return 200, [F.rest_review(rv) for rv in pr.reviews], {}
        if kind == "issues" and sub == "/comments" and (pr or issue) is not None:
            return 200, [F.rest_comment(c) for c in (pr or issue).comments], {}
        return None

    def _search(self, q: str) -> list[dict]:
        terms = q.split()
        repos = self.gh.population
        for t in terms:
            key, _, value = t.partition(":")
            if key == "language":
                repos = [r for r in repos if r.language.lower() == value.lower()]
            elif key == "stars":
                lo, hi = _star_range(value)
                repos = [r for r in repos if lo <= r.stars <= hi]
        repos = sorted(repos, key=lambda r: (-r.stars, r.id))
        cache = self.gh.rendered
        for r in repos:
            if (r.id, r.stars) not in cache:
                cache[(r.id, r.stars)] = F.rest_search_item(r)
        return [cache[(r.id, r.stars)] for r in repos]


def _star_range(value: str) -> tuple[float, float]:
    if ".." in value:
        a, b = value.split("..")
        return (float(a) if a != "*" else 0, float(b) if b != "*" else float("inf"))
    for op, f in ((">=", lambda n: (n, float("inf"))), ("<=", lambda n: (0, n)),
                  (">", lambda n: (n + 1, float("inf"))), ("<", lambda n: (0, n - 1))):
        if value.startswith(op):
            return f(float(value[len(op):]))
    return float(value), float(value)


def _remaining(gh: FakeGitHub, token: str, resource: str) -> dict:
    h = gh.rate_headers(token, resource)
    return {"remaining": int(h["x-ratelimit-remaining"]), "used": int(h["x-ratelimit-used"]),
            "reset": int(h["x-ratelimit-reset"])}


class FakeClock:
    """Time that moves only when someone sleeps: the collector's injectable clock and sleep, shared with
    the server's rate-limit windows, so a test can wait out an hour's reset in no time."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(0.0, seconds)


def client_for(gh: FakeGitHub, lake=None, *, tokens=("test-token",), clock: FakeClock | None = None,
               prefer: int = 0, shared=None, **config):
    """The collector's real client pointed at this server (fast transport backoff; a FakeClock if given;
    `shared`: a budget.LakeBudget to share the rate-limit state with other clients, as workers do)."""
    from ingest.github.client import GitHubClient
    from ingest.github.config import GitHubConfig
    from ingest.github.etags import EtagCache
    from ingest.github.ratelimit import RateLimiter

    cfg = GitHubConfig(api_url=gh.url, **{"backoff_factor": 0.01, "backoff_jitter": 0.01, **config})
    kw = {"clock": clock.time, "sleep": clock.sleep} if clock else {}
    limiter = RateLimiter(list(tokens), cfg, prefer=prefer, shared=shared, **kw)
    return GitHubClient(cfg, limiter, EtagCache.from_lake(lake) if lake is not None else EtagCache())


@pytest.fixture
def github():
    """Start a fake GitHub; fail the test if any GraphQL query sent to it did not validate."""
    servers = []

    def start(repos=(), **kw):
        gh = FakeGitHub(repos, **kw).__enter__()
        servers.append(gh)
        return gh

    yield start
    for gh in servers:
        gh.__exit__(None, None, None)
        assert gh.invalid_queries == [], f"queries that do not validate against GitHub's schema: {gh.invalid_queries}"
        assert gh.server_errors == []


# -- what the lake should hold ---------------------------------------------------------------------
TABLES = ("github_pulls", "github_reviews", "github_review_comments", "github_issues", "github_issue_comments")
KEYS = {"github_pulls": "repo_id, number", "github_reviews": "repo_id, review_id",
        "github_review_comments": "repo_id, comment_id", "github_issues": "repo_id, number",
        "github_issue_comments": "repo_id, comment_id"}


def counts(lake, repo_id):
    return {t: lake.query(f"SELECT count(*) AS n FROM {t} WHERE repo_id = ?", [repo_id]).column("n")[0].as_py()
            for t in TABLES}


def assert_no_duplicates(lake):
    for t, key in KEYS.items():
        dup = lake.query(f"SELECT {key}, count(*) AS n FROM {t} GROUP BY ALL HAVING n > 1")
        assert dup.num_rows == 0, f"{t} has duplicate keys: {dup.to_pylist()[:3]}"


CONTENT = {**{t: "*" for t in TABLES}, "readmes": "*",
           "github_cursors": "repo_id, resource, cursor, complete"}  # not its timestamps: when, not what


def lake_contents(lake) -> dict[str, list[dict]]:
    """Every row the collector wrote, per table, in a stable order (bookkeeping columns left out), so the
    lake after a faulty run can be compared with the lake after a fault-free one."""
    return {t: lake.query(f"SELECT {cols} FROM {t} ORDER BY ALL").to_pylist() for t, cols in CONTENT.items()}
