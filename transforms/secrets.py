"""Secrets and PII: a curated rule set, each match replaced by a placeholder before text reaches gold.

No entropy detector: on Go, hex tables, test vectors and checksums are high-entropy and harmless;
tests/test_transforms_secrets.py measures `high_entropy_spans` on the labelled set to show why.
Each rule has a literal `needle` the text must contain before the (slower) pattern runs.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern
    placeholder: str
    needles: tuple[str, ...]  # the pattern can only match text containing one of these


def _rule(name: str, pattern: str, placeholder: str, *needles: str, flags: int = 0) -> Rule:
    return Rule(name, re.compile(pattern, flags), placeholder, needles)


RULES: tuple[Rule, ...] = (
    _rule("private_key", r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----",
          "<PRIVATE_KEY>", "PRIVATE KEY-----", flags=re.S),
    _rule("aws_access_key", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b", "<AWS_KEY>", "AKIA", "ASIA", "AGPA", "AIDA", "AROA"),
    _rule("aws_secret_key", r"(?i)(?<=aws_secret_access_key)(\s*[:=]\s*[\"']?)[A-Za-z0-9/+]{40}\b", r"\1<KEY>",
          "aws_secret", "AWS_SECRET"),
    _rule("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b", "<TOKEN>",
          "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    _rule("gitlab_token", r"\bglpat-[A-Za-z0-9_-]{20,}", "<TOKEN>", "glpat-"),
    _rule("slack_token", r"\bxox[abprse]-[A-Za-z0-9-]{10,}", "<TOKEN>", "xox"),
    _rule("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+", "<URL>", "hooks.slack.com"),
    _rule("stripe_key", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b", "<KEY>", "_live_", "_test_"),
    _rule("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b", "<TOKEN>", "npm_"),
    _rule("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", "<JWT>", "eyJ"),
    # user:password@ in a URL; the scheme and host stay, so the code around it still reads.
    _rule("url_password", r"(?<=://)[^\s:/@'\"`<>]+:[^\s@/'\"`<>]+(?=@)", "<USER>:<PASSWORD>", "://"),
    # not the user of an ssh://git@host URL: that is a login name, not an address
    _rule("email", r"(?<![\w.+-])(?<!://)[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b", "<EMAIL>", "@"),
)

PLACEHOLDERS = tuple(sorted({r.placeholder.replace("\\1", "") for r in RULES}))


def redact(text: str, rules: tuple[Rule, ...] = RULES) -> tuple[str, dict[str, int]]:
    """The text with every match replaced by its placeholder, and the count per rule."""
    counts: dict[str, int] = {}
    for rule in rules:
        if not any(n in text for n in rule.needles):
            continue
        text, n = rule.pattern.subn(rule.placeholder, text)
        if n:
            counts[rule.name] = n
    return text, counts


def find(text: str, rules: tuple[Rule, ...] = RULES) -> list[tuple[str, str]]:
    """(rule, matched text) for each secret still in `text` (the audit's check)."""
    out = []
    for rule in rules:
        if any(n in text for n in rule.needles):
            out += [(rule.name, m.group(0)) for m in rule.pattern.finditer(text)]
    return out


_TOKENISH = re.compile(r"[A-Za-z0-9+/=_-]{20,}")


def high_entropy_spans(text: str, min_bits: float = 4.0) -> list[str]:
    """The classic entropy detector (Shannon bits per char over long token-like runs), kept only to be measured."""
    out = []
    for m in _TOKENISH.finditer(text):
        s = m.group(0)
        counts = Counter(s)
        bits = -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())
        if bits >= min_bits:
            out.append(s)
    return out
