"""Secrets and PII: every credential found in a text is replaced by `<REDACTED:kind>` before text reaches gold.

Three kinds of evidence, each cheap to reject:
- formats (transforms/secret_formats.py): tokens whose issuer documents a prefix, length and charset;
- context: a value assigned to a key that names a secret (`password`, `apiKey`, `AWS_SECRET_ACCESS_KEY`, in Go,
  YAML, JSON, TOML, .env, shell, Dockerfiles and CLI flags), credentials in URLs, `Authorization:` headers,
  `curl -u`, and SDK calls that take a secret positionally (`credentials.NewStaticCredentials`);
- e-mail addresses (PII), never the `git@host:` of an SSH remote.
Allow-lists keep look-alikes: placeholders (`EXAMPLE`, `xxxx`, `<token>`, `${VAR}`, `%s`), code references
(`os.Getenv(...)`, `cfg.Token`, `Password: password16,`), values under a note that names them test vectors
(`// NIST vectors ...`), addresses at reserved example domains. Checksums, commit ids and UUIDs match no
format and are kept unless assigned to a key that names a secret (a UUID `HEROKU_API_KEY` is a credential).
Context values must also look random (length, character classes, entropy): on Go, hex tables and test
vectors are high-entropy and harmless, so entropy alone never redacts anything.

The replacement keeps the code valid (a string stays a string) and the kind visible, so a model learns where
secrets go, not what they are.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from transforms.secret_formats import FORMATS


@dataclass(frozen=True, order=True)
class Finding:
    start: int
    end: int
    kind: str


def placeholder(kind: str) -> str:
    return f"<REDACTED:{kind}>"


# -- allow-lists -----------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"(?i)example|x{4,}|\*{3,}|\.{3}|_{4,}|0{8,}|^<.*>$|\$\{|\$\(|^\$\w+$|\{\{|%[sdvqx]|%\(|"
    r"^(?:pass(?:word)?|secret|token|pwd|changeme|dummy|fake|test|foo|bar|none|null|nil|true|false|redacted|"
    r"placeholder|<[\w-]+>|\w+_here)$|(?:^|[:_-])(?:pass(?:word)?|secret|token|pwd)$|^(?:your|my|some)[-_]?(?:api[-_]?)?(?:secret|pass|token|key|access|app)|<redacted")
_EXAMPLE_DOMAIN = re.compile(r"(?i)@(?:[\w-]+\.)*(?:example\.(?:com|org|net)|example|test|invalid|localhost)$")


def is_placeholder(value: str) -> bool:
    """A documented stand-in (`AKIAIOSFODNN7EXAMPLE`, `xxxx`, `<token>`, `${VAR}`, `%s`), never a credential."""
    return bool(_PLACEHOLDER.search(value)) or len(set(value)) <= 2


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def _classes(value: str) -> int:
    return sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
                any(not c.isalnum() for c in value)))


_WORDS = re.compile(r"[A-Za-z][a-z]+(?:[-_. /][A-Za-z][a-z]+)+")  # `access-control-allow-headers`


def looks_random(value: str, password: bool) -> bool:
    """The character-class and entropy check of a context value: a password may be short and plain,
    a token must look generated."""
    if is_placeholder(value) or any(c.isspace() for c in value):
        return False
    if password:
        return len(value) >= 6 and (any(not c.isalpha() for c in value) or len(value) >= 12)
    if _WORDS.fullmatch(value):
        return False
    return len(value) >= 12 and _classes(value) >= 2 and _entropy(value) >= 3.0


# -- context: key = value ----------------------------------------------------------------------------------

# A key names a secret when its words, joined and lower-cased, END with one of these (`dbPassword`,
# `AWS_SECRET_ACCESS_KEY`, `client-secret`; not `tokenType`, `passwordHint`, `maxTokens`, `secretName`).
_PASSWORD_ENDINGS = ("password", "passwd", "pwd", "passphrase", "dbpass")
_SECRET_ENDINGS = ("secret", "token", "apikey", "accesskey", "secretkey", "privatekey", "auth", "authkey",
                   "credential", "credentials", "signingkey", "encryptionkey", "masterkey", "clientkey", "apitoken")
# Matched on the lower-cased text (a case-insensitive regex is several times slower); a plain `key` is
# too common in Go to look at, so only the compound keys in _SECRET_ENDINGS are.
_KEY_WORD = re.compile(r"pass|pwd|secret|token|auth|credential|(?:api|access|private|signing|encryption|master|client)"
                       r"[-_.]?key")
_IDENT = re.compile(r"[A-Za-z0-9_.-]")
# What may follow a key: an assignment (Go, TOML, .env, shell), a YAML/JSON colon, a quoted pair
# ("key", "value") as in Setenv or Header.Set, or (after `--`, ENV, ARG) a space.
_ASSIGN = re.compile(r"""(?P<close>["']?)(?P<sep>\s*(?::=|=>|=(?!=)|:(?!:))\s*|[ \t]*,[ \t]*(?=["'`])|[ \t]+)""")
_QUOTED = re.compile(r"""(?P<q>["'`])(?P<v>[^"'`\n\\]{1,300})(?P=q)""")
_BARE = re.compile(r"""(?P<v>[^\s"'`,;(){}\[\]<>]{1,300})(?=\s|$|[,;)}\]])""")
_SPACE_SEP_BEFORE = re.compile(r"(?:--|(?:^|\s)(?:ENV|ARG)\s+|\blogin\s+\S+\s+)$")  # flags, Dockerfiles, .netrc
# Values in a comment or table of a crypto test that says where its vectors come from are test vectors.
_TEST_VECTOR_NOTE = re.compile(r"(?i)test[ -]?vectors?|\bvectors\b|\bRFC ?\d{3,5}\b|\bNIST\b|wycheproof|"
                               r"known[- ]answer|\bKATs?\b|\bCAVP?S\b")


def _key_kind(key: str) -> str | None:
    words = re.sub(r"[^a-z0-9]", "", key.lower())
    if words.endswith(_PASSWORD_ENDINGS):
        return "password"
    if words.endswith(_SECRET_ENDINGS):
        if "aws" in words and "secret" in words or words.endswith("secretaccesskey"):
            return "aws_secret_key"
        if words.endswith(("apikey", "apitoken")):
            return "api_key"
        return "token" if words.endswith("token") else "secret"
    return None


def _context_findings(text: str, lowered: str) -> list[Finding]:
    out: list[Finding] = []
    seen_keys: set[int] = set()
    for m in _KEY_WORD.finditer(lowered):
        start, end = m.start(), m.end()
        while start > 0 and _IDENT.match(text, start - 1):
            start -= 1
        while end < len(text) and _IDENT.match(text, end):
            end += 1
        while start < m.start() and text[start] in ".-":  # `--password`, `.token`: the key starts after them
            start += 1
        if start in seen_keys:
            continue
        seen_keys.add(start)
        key = text[start:end].rstrip(".-")
        kind = _key_kind(key)
        if kind is None:
            continue
        a = _ASSIGN.match(text, start + len(key))
        if not a:
            continue
        sep = a.group("sep")
        if sep.strip() == "" and not _SPACE_SEP_BEFORE.search(text[text.rfind("\n", 0, start) + 1:start]):
            continue
        if sep.strip() == "," and (not a.group("close") or text[start - 1:start] != a.group("close")):
            continue  # ("key", "value") pairs only: `password, err := ...` and `"go/token", ...` are not one
        pos = a.end()
        v = _QUOTED.match(text, pos)
        bare = v is None
        if bare:
            if sep.strip() == ",":
                continue
            v = _BARE.match(text, pos)
            if v is None:
                continue
        value = v.group("v")
        if bare and not _bare_value_ok(value, followed_by=text[v.end("v"):v.end("v") + 1]):
            continue
        if not looks_random(value, kind == "password"):
            continue
        if kind != "password" and re.sub(r"[^a-z0-9]", "", key.lower().rsplit(".", 1)[-1]) in value.lower():
            continue  # `"encryptionKey": "encryptionKey1024"`: a name derived from the key, not a token
        if _TEST_VECTOR_NOTE.search(text, max(0, start - 1500), start):
            continue
        out.append(Finding(v.start("v"), v.end("v"), kind))
    return out


_IDENT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _bare_value_ok(value: str, followed_by: str) -> bool:
    """An unquoted value (YAML, .env, shell) is a secret only if it cannot be code: `cfg.Token`, `getPass()`,
    `defaultPassword`, `Password: password16,` are references. A literal at the end of a line may be a plain
    word with a digit (`DB_PASSWORD=hunter2`); inside an expression it needs a symbol no identifier has."""
    if _IDENT_PATH.fullmatch(value) and (followed_by in ",;)}]" and followed_by or not any(c.isdigit() for c in value)):
        return False
    if value.startswith(("/", "./", "~/")) and sum(any(f(c) for c in value) for f in (str.islower, str.isupper, str.isdigit)) < 3:
        return False  # a path; a base64 secret that starts with `/` has all three classes
    return not value.startswith(("$", "&", "*", "!", "#", "http")) and "://" not in value


# -- context: URLs, headers, curl, SDK calls ---------------------------------------------------------------

_URL_CREDS = re.compile(r"(?<=://)(?P<user>[^\s:/@'\"`<>]{1,200}):(?P<s>[^\s@/'\"`<>]{1,300})(?=@)")
_URL_TOKEN_USER = re.compile(r"(?<=://)(?P<s>[A-Za-z0-9_-]{30,})(?=@)")
_AUTH_HEADER = re.compile(r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=,]\s*[\"']?"
                          r"(?:bearer|basic|token|digest|ssws|apikey|bot)\s+(?P<s>[A-Za-z0-9._~+/-]{8,}=*)")
_BEARER = re.compile(r"\bBearer\s+(?P<s>[A-Za-z0-9._~+/-]{20,}=*)")
_CURL_USER = re.compile(r"(?:\s-u|--user)[ =]?[\"']?(?P<user>[^\s:\"']+):(?P<s>[^\s\"']+)")
_XML_ELEMENT = re.compile(r"<(?P<key>[A-Za-z_][\w.-]*)>(?P<s>[^<>\s]{1,300})</(?P=key)>")  # Maven settings.xml
_SDK_SECRET_ARGS = re.compile(r"NewStaticCredentials(?:Provider)?\(\s*(?P<id>\"[^\"]*\"|\w[\w.]*)\s*,\s*"
                              r"\"(?P<s>[^\"\n]+)\"(?:\s*,\s*\"(?P<t>[^\"\n]+)\")?")


def _call_findings(text: str) -> list[Finding]:
    out = []
    if "://" in text and "@" in text:
        for m in _URL_CREDS.finditer(text):
            if not is_placeholder(m.group("s")) and m.group("user") != "git":
                out.append(Finding(m.start("s"), m.end("s"), "url_password"))
        for m in _URL_TOKEN_USER.finditer(text):
            if looks_random(m.group("s"), password=False):
                out.append(Finding(m.start("s"), m.end("s"), "url_token"))
    lowered_auth = "uthorization" in text or "UTHORIZATION" in text
    for rx, needle, kind in ((_AUTH_HEADER, lowered_auth, "authorization"), (_BEARER, "Bearer" in text, "authorization"),
                             (_CURL_USER, "-u" in text, "password")):
        if not needle:
            continue
        for m in rx.finditer(text):
            if looks_random(m.group("s"), password=kind == "password") and not m.group("s").startswith("//"):
                out.append(Finding(m.start("s"), m.end("s"), kind))
    if "</" in text:
        for m in _XML_ELEMENT.finditer(text):
            kind = _key_kind(m.group("key"))
            if kind and looks_random(m.group("s"), password=kind == "password"):
                out.append(Finding(m.start("s"), m.end("s"), kind))
    if "NewStaticCredentials" in text:
        for m in _SDK_SECRET_ARGS.finditer(text):
            for group, kind in (("s", "aws_secret_key"), ("t", "aws_session_token")):
                if m.group(group) and not is_placeholder(m.group(group)):
                    out.append(Finding(m.start(group), m.end(group), kind))
    return out


# -- e-mail --------------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])(?<!://)[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[a-z]{2,}\b"
                    r"(?![:/][\w~])")  # not `git@github.com:owner/repo` (an SSH remote, not an address)


def _email_findings(text: str) -> list[Finding]:
    if "@" not in text:
        return []
    return [Finding(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)
            if not m.group(0).startswith("git@") and not _EXAMPLE_DOMAIN.search(m.group(0))]


# -- the redactor -------------------------------------------------------------------------------------------

_NEEDLES = sorted({n for f in FORMATS for n in f.needles})


def _format_findings(text: str, lowered: str) -> list[Finding]:
    out = []
    present = {n for n in _NEEDLES if n in lowered}  # each needle searched once, however many formats share it
    for f in FORMATS:
        if f.needles and not present.intersection(f.needles):
            continue
        for m in f.matches(text):
            span = m.span("s") if "s" in f.pattern.groupindex else m.span()
            if not is_placeholder(text[span[0]:span[1]]):
                out.append(Finding(span[0], span[1], f.kind))
    return out


def find(text: str) -> list[Finding]:
    """Every secret in `text`, as non-overlapping spans in order (a format match wins over a context match
    it overlaps: it names the kind more precisely)."""
    if not text:
        return []
    lowered = text.lower()
    candidates = _format_findings(text, lowered)
    candidates += _call_findings(text) + _context_findings(text, lowered) + _email_findings(text)
    chosen: list[Finding] = []
    for f in sorted(candidates, key=lambda f: (f.start, -(f.end - f.start))):
        if chosen and f.start < chosen[-1].end:
            continue
        chosen.append(f)
    return chosen


def redact(text: str) -> tuple[str, dict[str, int]]:
    """The text with every secret replaced by `<REDACTED:kind>`, and the count per kind."""
    findings = find(text)
    if not findings:
        return text, {}
    parts, last = [], 0
    for f in findings:
        parts += [text[last:f.start], placeholder(f.kind)]
        last = f.end
    parts.append(text[last:])
    return "".join(parts), dict(Counter(f.kind for f in findings))


_TOKENISH = re.compile(r"[A-Za-z0-9+/=_-]{20,}")


def high_entropy_spans(text: str, min_bits: float = 4.0) -> list[str]:
    """The classic entropy detector (Shannon bits per char over long token-like runs), kept only to be measured."""
    return [m.group(0) for m in _TOKENISH.finditer(text) if _entropy(m.group(0)) >= min_bits]
