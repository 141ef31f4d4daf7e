"""The independent secret check of the gold layer: Yelp's detect-secrets, maintained apart from our rules,
next to our own detector, over every sample and SFT pair.

detect-secrets is configured with its format plugins (AWS, GitHub, GitLab, Slack, Stripe, npm, PyPI, OpenAI,
JWT, private keys, basic auth in URLs, ...). Its keyword and high-entropy plugins are left out of the
failing check: on Go they flag hex test vectors, checksums and `password: 0x3`-style constants by the
hundred (bench/secrets_bench.py prints how many), so an audit with them could never pass on real code.

Speed: detect-secrets runs every plugin on every line through keyword-argument injection (about 0.06 MB/s
here). Lines go to it only where one of its plugins' own regexes matches (searched once over the whole
text); tests/transforms/test_secrets_audit.py checks that this prefilter loses no finding on the labelled set.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from contextlib import contextmanager
from typing import Iterable, Iterator

from transforms import secrets

# detect-secrets plugin class names: every format plugin it ships, not the heuristic ones (see above).
# The IBM Cloud, Cloudant and SoftLayer plugins are keyword detectors too (`cl_api_key = ...`), and their
# regexes alone cost more than all the others together (bench/secrets_bench.py). Artifactory's `AP` + 9
# alphanumerics is any upper-case Go constant (`APCALIGNMAX` in cmd/internal/obj).
PLUGINS = ("AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
           "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector", "JwtTokenDetector",
           "MailchimpDetector", "NpmDetector", "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector",
           "SendGridDetector", "SlackDetector", "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector",
           "TwilioKeyDetector")

def _candidate_lines(text: str, regexes: list[re.Pattern]) -> set[int]:
    """Line numbers (1-based) where one of the plugins' own regexes matches: only those lines can hold a
    finding, and one search per regex over the whole text costs far less than the plugins per line."""
    starts: list[int] | None = None
    lines: set[int] = set()
    for rx in regexes:
        for m in rx.finditer(text):
            if starts is None:
                starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
            lines.update(range(bisect_right(starts, m.start()), bisect_right(starts, max(m.end() - 1, m.start())) + 1))
    return lines


_TOKEN_CHAR = re.compile(r"[A-Za-z0-9+/]")


def _allowed(value: str, line: str) -> bool:
    """The two look-alikes detect-secrets' format plugins report on Go, which the audit lets through:
    a documented placeholder (`http://user:password@host`, `user:xxxxx@`), and a match inside a longer
    token (its AWS regex has no word boundary: `...ABIAFQAVABQAFMAIABJAG4...` in a base64 test blob, or
    in a stringer table of upper-case names)."""
    if secrets.is_placeholder(value):
        return True
    at = line.find(value)
    if at < 0:
        return False
    before, after = line[at - 1:at], line[at + len(value):at + len(value) + 1]
    return bool(_TOKEN_CHAR.match(before) or _TOKEN_CHAR.match(after))


@contextmanager
def _detect_secrets():
    from detect_secrets.core.scan import _process_line_based_plugins  # the line scanner its scan_file uses
    from detect_secrets.settings import get_plugins, transient_settings

    with transient_settings({"plugins_used": [{"name": p} for p in PLUGINS]}):
        # re.M: each plugin writes its regexes for one line; over the whole text `^`/`$` must mean a line's ends
        regexes = [re.compile(rx.pattern, rx.flags | re.M) for p in get_plugins() for rx in p.denylist]

        def findings(text: str, filename: str, prefilter: bool) -> list[tuple[int, str]]:
            keep = _candidate_lines(text, regexes) if prefilter else None
            lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if keep is None or i in keep]
            if not lines:
                return []
            by_number = dict(lines)
            return [(s.line_number, s.type) for s in _process_line_based_plugins(lines, filename=filename)
                    if not _allowed(s.secret_value or "", by_number[s.line_number])]

        yield findings


def detect_secrets_findings(text: str, filename: str = "sample.txt", prefilter: bool = True) -> list[tuple[int, str]]:
    """(line number, detect-secrets type) for each secret detect-secrets finds in `text`."""
    with _detect_secrets() as findings:
        return findings(text, filename, prefilter)


def scan(rows: Iterable[tuple[str, str, str, str]]) -> Iterator[str]:
    """One offender line per secret either detector finds in (table, key, column, text) rows; never the secret."""
    with _detect_secrets() as ds_findings:
        for table, key, column, text in rows:
            text = text or ""
            for f in secrets.find(text):
                line = text.count("\n", 0, f.start) + 1
                yield f"surviving secret: {table} {key} {column}: {f.kind} (ours) at line {line}"
            for line, kind in ds_findings(text, "sample.txt", True):
                yield f"surviving secret: {table} {key} {column}: {kind} (detect-secrets) at line {line}"
