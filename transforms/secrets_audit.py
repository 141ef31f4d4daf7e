"""The independent secret check of the gold layer: Yelp's detect-secrets, maintained apart from our rules,
next to our own detector, over every sample and SFT pair.

detect-secrets is configured with its format plugins (AWS, GitHub, GitLab, Slack, Stripe, npm, PyPI, OpenAI,
JWT, private keys, basic auth in URLs, ...). Its keyword and high-entropy plugins are left out of the
failing check: on Go they flag hex test vectors, checksums and `password: 0x3`-style constants by the
hundred (bench/secrets_bench.py prints how many), so an audit with them could never pass on real code.

Speed: detect-secrets runs every plugin on every line through keyword-argument injection (about 0.03 MB/s
here). Lines go to it only when they could hold anything its plugins match: a long mixed run of token
characters, a URL with a user, or a `PRIVATE KEY`/`PuTTY` marker. tests/test_transforms_secrets_audit.py
checks that this prefilter loses no finding on the labelled set.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterable, Iterator

from transforms import secrets

# detect-secrets plugin class names: every format plugin it ships, not the heuristic ones (see above).
PLUGINS = ("ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
           "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector",
           "IbmCloudIamDetector", "IbmCosHmacDetector", "JwtTokenDetector", "MailchimpDetector", "NpmDetector",
           "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector", "SendGridDetector", "SlackDetector",
           "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector",
           "TwilioKeyDetector")

_RUN = re.compile(r"[A-Za-z0-9+/=_.:-]{11,}")
_DIGIT = re.compile(r"[0-9]")
_MARKERS = ("PRIVATE KEY", "PuTTY", "://", "cloudant", "softlayer", "ibm")


def _candidate(line: str) -> bool:
    """Could any of the PLUGINS match this line? Their shortest tokens are 11 characters (Artifactory `AP...`);
    the ones without a digit are 20 or more (a placeholder `ghp_xxxx...` still counts)."""
    if any(m in line for m in _MARKERS):
        return True
    for m in _RUN.finditer(line):
        run = m.group(0)
        if len(run) >= 20 or _DIGIT.search(run) or run.startswith(("AKC", "AP")):
            return True
    return False


@contextmanager
def _detect_secrets():
    from detect_secrets.core.scan import _process_line_based_plugins  # the line scanner its scan_file uses
    from detect_secrets.settings import transient_settings

    def findings(text: str, filename: str, prefilter: bool) -> list[tuple[int, str]]:
        lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if not prefilter or _candidate(line)]
        return [(s.line_number, s.type) for s in _process_line_based_plugins(lines, filename=filename)] if lines else []

    with transient_settings({"plugins_used": [{"name": p} for p in PLUGINS]}):
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
