"""HTTP client for GitHub's REST and GraphQL APIs: retries, rate limits, conditional requests.

Transport failures (502/503/504, dropped connections, read timeouts) are retried with jittered exponential
backoff by urllib3's Retry mounted on the requests Session. What urllib3 cannot see is retried by tenacity
around the whole request, with the same bounded, jittered backoff: a body cut short (with or without a
Content-Length), a 2xx body that is not JSON, a GraphQL answer with no `data` and no error. Rate-limit
answers (403/429) go to the RateLimiter, which knows how long GitHub wants us to wait (urllib3 never
sleeps on a 429's retry-after itself). A GraphQL query GitHub could not finish in time ("Something went
wrong while executing your query ... timeout", or 502/504 after the retries) raises QueryTimeout, so the
caller can ask again for less (fetch: a smaller page). Partial data next to an error is never returned.
"""
from __future__ import annotations

import html
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential
from urllib3.util.retry import Retry

from ingest.github import CredentialsError, GitHubError
from ingest.github.config import GitHubConfig
from ingest.github.etags import EtagCache
from ingest.github.ratelimit import RateLimiter

log = logging.getLogger("ingest.github")

_TRUNCATED = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
# GitHub's GraphQL answers a query that ran out of time with this error (no `type`), often on a nested field
# and beside the partial data it had; its other wordings of the same failure:
_TIMEOUT_MESSAGES = ("something went wrong while executing your query", "timeout", "timed out",
                     "couldn't respond to your request in time")


class QueryTimeout(GitHubError):
    """GitHub could not finish a GraphQL query in time: the same query asking for fewer nodes may pass."""


class _Transient(GitHubError):
    """An answer that is broken in transit or empty: the same request again will likely succeed."""


class _Retry(Retry):
    # A 429's retry-after is the RateLimiter's to honour (it records the wait and shares it with the other
    # workers); urllib3 keeps honouring it on 503.
    RETRY_AFTER_STATUS_CODES = frozenset({503})


def is_timeout_error(error: dict) -> bool:
    """A GraphQL error that says the query ran out of time (worth asking again for less)."""
    message = str(error.get("message", "")).lower()
    return error.get("type") in (None, "TIMEOUT", "INTERNAL_ERROR") and any(m in message for m in _TIMEOUT_MESSAGES)


@dataclass
class Answer:
    url: str
    status: int
    headers: dict
    data: object = None
    links: dict = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def next_url(self) -> str | None:
        return self.links.get("next", {}).get("url")


def _display(url: str) -> str:
    """A URL as errors may show it: path and query only (never credentials, which we never put in URLs)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _rest_resource(url: str) -> str:
    return "search" if "/search/" in urlsplit(url).path else "core"


def _message(body: bytes) -> str:
    """The one-line reason in an error body: JSON's `message`, an HTML page's title, or the first line."""
    try:
        payload = json.loads(body)
    except ValueError:
        text = body[:2000].decode("utf-8", "replace")
        title = re.search(r"<title>\s*(.*?)\s*</title>", text, re.S | re.I)
        if title:
            return html.unescape(" ".join(title.group(1).split()))[:120]
        return next((line.strip() for line in text.splitlines() if line.strip()), "")[:120]
    if isinstance(payload, dict):
        return str(payload.get("message", "")).splitlines()[0] if payload.get("message") else ""
    return ""


class GitHubClient:
    def __init__(self, config: GitHubConfig, limiter: RateLimiter, etags: EtagCache | None = None):
        self.config = config
        self.limiter = limiter
        self.etags = etags or EtagCache()
        self.stats: Counter = Counter()
        api = config.api_url.rstrip("/")
        self.api_url = api
        # GitHub Enterprise serves REST under /api/v3 and GraphQL at /api/graphql.
        self.graphql_url = api[: -len("/v3")] + "/graphql" if api.endswith("/api/v3") else api + "/graphql"
        retry = _Retry(total=config.retries, connect=config.retries, read=config.retries, status=config.retries,
                      other=0, backoff_factor=config.backoff_factor, backoff_jitter=config.backoff_jitter,
                      status_forcelist=(500, 502, 503, 504), allowed_methods=frozenset({"GET", "POST"}),
                      raise_on_status=False, respect_retry_after_header=True)
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/vnd.github+json", "User-Agent": config.user_agent,
                                     "X-GitHub-Api-Version": "2022-11-28"})

    def close(self) -> None:
        self.session.close()

    def url(self, path: str, params: dict | None = None) -> str:
        base = path if path.startswith(("http://", "https://")) else self.api_url + path
        return base + ("?" + urlencode(params) if params else "")

    # -- one request --------------------------------------------------------------------------
    def _send(self, method: str, url: str, headers: dict, body: dict | None) -> requests.Response:
        self.stats["http_attempts"] += 1
        try:
            resp = self.session.request(method, url, headers=headers, json=body, timeout=self.config.timeout_s)
            resp.content  # read the body now, so a truncated one is retried here
            return resp
        except _TRUNCATED:
            raise _Transient(f"{method} {_display(url)}: the response body was cut short") from None
        except requests.exceptions.RetryError:
            raise GitHubError(f"{method} {_display(url)}: server errors persisted after "
                              f"{self.config.retries} retries") from None
        except requests.exceptions.RequestException as e:
            raise GitHubError(f"{method} {_display(url)}: {type(e).__name__} after {self.config.retries} "
                              f"retries (is {urlsplit(url).netloc} reachable?)") from None

    def request(self, method: str, url: str, *, resource: str, body: dict | None = None,
                conditional: bool = False) -> Answer:
        """Send one API request, waiting out rate limits and retrying broken answers; 304 and 404 come back
        as answers, other errors raise GitHubError (QueryTimeout for a GraphQL query that ran out of time)."""
        tries = self.config.retries + 1
        retrying = Retrying(retry=retry_if_exception_type(_Transient), stop=stop_after_attempt(tries),
                            wait=wait_random_exponential(multiplier=self.config.backoff_factor,
                                                         max=self.config.backoff_max_s),
                            before_sleep=lambda _: self.stats.update(["retried"]), reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    return self._request_once(method, url, resource, body, conditional)
        except _Transient as e:
            raise GitHubError(f"{e}, {tries} times") from None

    def _request_once(self, method: str, url: str, resource: str, body: dict | None, conditional: bool) -> Answer:
        while True:
            token = self.limiter.acquire(resource)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            if conditional:
                headers.update(self.etags.headers(url))
            log.debug("github: %s %s", method, _display(url))
            resp = self._send(method, url, headers, body)
            self.limiter.observe(token, resp.headers, resource)
            self.stats[resource + "_requests"] += 1
            if self.limiter.is_limited(resp.status_code, resp.headers, resp.content):
                self.stats["rate_limited"] += 1
                self.limiter.wait_limited(token, resource, resp.headers)
                continue
            self.limiter.succeeded()
            if resp.status_code == 304:
                self.stats["not_modified"] += 1
                return Answer(url, 304, dict(resp.headers))
            if resource != "graphql":
                self.stats[resource + "_quota"] += 1
            if resp.status_code == 404:
                return Answer(url, 404, dict(resp.headers))
            if resp.status_code == 401:
                raise CredentialsError(f"{method} {_display(url)}: HTTP 401: Bad credentials "
                                       f"(check GITHUB_TOKEN / GITHUB_TOKENS)")
            if resp.status_code >= 400:
                error = (QueryTimeout if resource == "graphql" and resp.status_code in (502, 504) else GitHubError)
                raise error(f"{method} {_display(url)}: HTTP {resp.status_code}"
                            + (f": {m}" if (m := _message(resp.content)) else ""))
            try:
                data = resp.json()
            except ValueError:
                raise _Transient(f"{method} {_display(url)}: the response is not JSON") from None
            if resource == "graphql" and isinstance(data, dict):
                errors = data.get("errors") or []
                if any(e.get("type") == "RATE_LIMITED" for e in errors if isinstance(e, dict)):
                    self.stats["rate_limited"] += 1
                    self.limiter.wait_limited(token, resource, {"x-ratelimit-remaining": "0",
                                                                **{k.lower(): v for k, v in resp.headers.items()}})
                    continue
                if data.get("data") is None and not errors:
                    raise _Transient(f"{method} {_display(url)}: GraphQL answered no data and no error")
                rate = (data.get("data") or {}).get("rateLimit")
                self.limiter.observe_graphql(token, rate)
                self.stats["graphql_points"] += (rate or {}).get("cost", 0)
            if conditional:
                self.etags.remember(url, resp.headers.get("etag"), resp.headers.get("last-modified"))
            return Answer(url, resp.status_code, dict(resp.headers), data, resp.links)

    # -- REST and GraphQL ---------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None, *, conditional: bool = False) -> Answer:
        url = self.url(path, params)
        return self.request("GET", url, resource=_rest_resource(url), conditional=conditional)

    def pages(self, path: str, params: dict | None = None, *, conditional: bool = False):
        """REST pagination: yield each page's Answer, following the `link` header exactly as given."""
        url: str | None = self.url(path, params)
        while url:
            answer = self.request("GET", url, resource=_rest_resource(url), conditional=conditional)
            yield answer
            url = answer.next_url if answer.status == 200 else None

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        answer = self.request("POST", self.graphql_url, resource="graphql",
                              body={"query": query, "variables": variables or {}})
        if answer.status != 200:
            raise GitHubError(f"POST {_display(self.graphql_url)}: HTTP {answer.status}")
        payload = answer.data if isinstance(answer.data, dict) else {}
        errors = [e for e in payload.get("errors") or [] if isinstance(e, dict)]
        if errors:  # any `data` beside an error is partial: never returned
            first = next((e for e in errors if is_timeout_error(e)), errors[0])
            where = f" at {'.'.join(map(str, first['path']))}" if first.get("path") else ""
            error = QueryTimeout if is_timeout_error(first) else GitHubError
            raise error(f"GraphQL {first.get('type', 'error')}: {str(first.get('message', '')).strip()[:200]}{where}")
        return payload.get("data") or {}
