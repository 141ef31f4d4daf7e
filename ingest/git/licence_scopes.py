"""A repository's licences by path: one SPDX expression per scope, with its evidence.

The root scope ('') comes from, in order: the root's licence files (all of them: LICENSE Apache-2.0 plus
COPYING GPL is both, AND, unless the README's licence section offers a choice, OR); the README's licence
section; a package manifest's licence field; a REUSE LICENSES/ folder; the files' SPDX-License-Identifier
headers. A GNU licence read as -only becomes -or-later when the notices or file headers grant "any later
version". Every other directory with its own licence files is its own scope ('ee/'), and its files carry
that licence. Vendored trees never reach here (ingest.git.head skips them): they never decide anything.
"""
from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ingest.git.config import README, REUSE_LICENCE
from ingest.git.licence import NOASSERTION, Piece, combine, match_section, match_text, or_later
from lake.licences import licensing, terms

_SECTION = re.compile(r"^(#{1,6})\s*(licen[cs]e|licensing|copyright and licen[cs]e)\b.*$", re.I | re.M)
_RST_SECTION = re.compile(r"^(licen[cs]e|licensing)\s*\n[=~^-]{3,}\s*$", re.I | re.M)
_GNU = re.compile(r"^(A?GPL|LGPL|GFDL)-\d\.\d-only$")


@dataclass(frozen=True)
class Scope:
    prefix: str            # '' for the repository, else a directory with a trailing '/'
    license: str           # SPDX expression or NOASSERTION
    evidence: str | None   # the file(s) or source that decided it
    matcher: str           # text | notice | exception (joined with +) | readme | manifest | reuse | spdx-header | declared | nearest | none
    score: float | None    # the weakest piece's similarity, 0..1
    nearest: str | None    # for NOASSERTION: the closest licence text


def readme_section(text: str) -> str | None:
    """The body of a README's "License" section (Markdown heading or reStructuredText underline)."""
    m = _SECTION.search(text)
    if m:
        level = len(m.group(1))
        rest = text[m.end():]
        end = re.search(rf"^#{{1,{level}}}\s", rest, re.M)
        return rest[: end.start() if end else len(rest)]
    m = _RST_SECTION.search(text)
    if m:
        rest = text[m.end():]
        end = re.search(r"^\S.*\n[=~^-]{3,}\s*$", rest, re.M)
        return rest[: end.start() if end else len(rest)]
    return None


def _manifest_licence(path: str, text: str) -> str | None:
    try:
        if path == "package.json":
            value = json.loads(text).get("license")
        else:
            data = tomllib.loads(text)
            value = (data.get("package") or data.get("project") or {}).get("license")
            value = value.get("text") if isinstance(value, dict) else value
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and _valid(value) else None


def _valid(expression: str) -> bool:
    return terms(expression) != ((NOASSERTION,),)


def _normalised(expression: str) -> str:
    return str(licensing().parse(expression))


def _files_scope(prefix: str, files: dict[str, str], connective: str, cache_dir) -> Scope:
    """One directory's licence files: every one must be recognised, together they make one expression."""
    matches = {p: match_text(t, cache_dir) for p, t in sorted(files.items())}
    bad = [p for p, m in matches.items() if m.expression == NOASSERTION]
    if bad:
        m = matches[bad[0]]
        return Scope(prefix, NOASSERTION, bad[0], m.matcher, m.score, m.nearest)
    pieces = [Piece(m.expression, "text", m.score, 0, 0) for m in matches.values()]
    expression = combine(pieces, connective)
    matcher = "+".join(sorted({k for m in matches.values() for k in m.matcher.split("+")}))
    return Scope(prefix, expression, ", ".join(matches), matcher, min(m.score for m in matches.values()), None)


def _upgrade_later(scope: Scope, later: bool, headers: Counter) -> Scope:
    """GPL-2.0-only -> GPL-2.0-or-later when the grant says "or any later version": file headers (SPDX ids or
    the GNU notice) or a README section; with a grant in prose, only when the scope has one GNU licence."""
    if scope.license == NOASSERTION:
        return scope
    header_ids = {k for h in headers if _valid(h) for k in licensing().license_keys(h)}
    gnu = [k for k in licensing().license_keys(scope.license) if _GNU.match(k)]
    out = scope.license
    for k in gnu:
        if or_later(k) in header_ids or (later and len(gnu) == 1):
            out = re.sub(rf"\b{re.escape(k)}\b", or_later(k), out)
    return scope if out == scope.license else Scope(scope.prefix, out, scope.evidence, scope.matcher + "+or-later",
                                                    scope.score, scope.nearest)


def detect_scopes(licence_texts: dict[str, str], spdx_headers: Counter, *, readmes: dict[str, str] | None = None,
                  manifests: dict[str, str] | None = None, later_notices: int = 0, gnu_notices: int | None = None,
                  declared: tuple[str, str] | None = None, cache_dir: Path | None = None) -> list[Scope]:
    """The scopes of one repository, root first. declared: (SPDX expression, source) overriding the root.
    later_notices of gnu_notices: files whose GNU header grants "any later version" (most of them must)."""
    readmes, manifests = readmes or {}, manifests or {}
    # one imported file's "or later" header does not widen a repository's grant: most GNU headers must say so
    later_notices = later_notices if 2 * later_notices > (later_notices if gnu_notices is None else gnu_notices) else 0
    by_dir: dict[str, dict[str, str]] = {}
    reuse: dict[str, str] = {}
    for path, text in licence_texts.items():
        if REUSE_LICENCE.search(path):
            if path.count("/") == 1:
                reuse[path] = text
            continue
        prefix = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
        by_dir.setdefault(prefix, {})[path] = text
    section = next((s for p, t in sorted(readmes.items()) if README.match(p) and (s := readme_section(t))), None)
    scopes = [_root(by_dir.pop("", {}), section, manifests, reuse, spdx_headers, later_notices, declared, cache_dir)]
    for prefix in sorted(by_dir):
        scopes.append(_files_scope(prefix, by_dir[prefix], "", cache_dir))
    return scopes


def _root(files, section, manifests, reuse, headers, later_notices, declared, cache_dir) -> Scope:
    if declared:
        return Scope("", declared[0], f"declared:{declared[1]}", "declared", 1.0, None)
    said = match_section(section, cache_dir) if section else None
    later = later_notices > 0 or bool(section and re.search(r"any\s+later\s+version", section, re.I))
    if files:
        scope = _files_scope("", files, section or "", cache_dir)
        if said and said.expression != NOASSERTION and " OR " in said.expression and scope.license != NOASSERTION \
                and set(licensing().license_keys(said.expression)) == set(licensing().license_keys(scope.license)):
            scope = Scope("", _normalised(said.expression), scope.evidence + ", README licence section",
                          scope.matcher + "+readme", scope.score, None)
        return _upgrade_later(scope, later, headers)
    if said and said.expression != NOASSERTION:
        return _upgrade_later(Scope("", said.expression, "README licence section", "readme", said.score, None),
                              later, headers)
    for path, text in sorted(manifests.items()):
        if value := _manifest_licence(path, text):
            return Scope("", _normalised(value), path, "manifest", 1.0, None)
    if reuse:
        ids = []
        for path, text in sorted(reuse.items()):
            stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            m = match_text(text, cache_dir)
            # the file name is the claim (REUSE); the text must not say otherwise
            if not _valid(stem) or (m.expression != NOASSERTION and m.expression != _normalised(stem)):
                return Scope("", NOASSERTION, path, "reuse", m.score, m.nearest or m.expression)
            ids.append(_normalised(stem))
        expression = " AND ".join(dict.fromkeys(ids))
        return Scope("", expression if len(ids) == 1 else str(licensing().dedup(licensing().parse(expression))),
                     ", ".join(sorted(reuse)), "reuse", 1.0, None)
    valid = [(n, h) for h, n in headers.items() if _valid(h)]
    if valid:
        n, ident = max(valid)
        return _upgrade_later(Scope("", _normalised(ident), f"SPDX-License-Identifier ({n} files)", "spdx-header",
                                    1.0, None), later_notices > 0, headers)
    if said is not None and section:
        return Scope("", NOASSERTION, "README licence section", "readme", said.score, None)
    return Scope("", NOASSERTION, None, "none", None, None)


def scope_rows(repo_id: str, scopes: list[Scope]) -> list[dict]:
    """`license_scopes` rows."""
    return [{"repo_id": repo_id, "prefix": s.prefix, "license": s.license,
             "terms": [list(t) for t in terms(s.license)], "evidence": s.evidence, "matcher": s.matcher,
             "score": s.score, "nearest": s.nearest} for s in scopes]
