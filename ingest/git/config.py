"""Every bound and rule of ingest.git in one place."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class IngestConfig:
    max_content_bytes: int = 1 << 20     # blobs above this keep their row and flags, never their content
    max_diff_bytes: int = 64 << 10       # a commit's or a pull request's unified diff is cut here
    max_snippets: int = 8                # changed files per commit with before/after text
    max_snippet_bytes: int = 2 << 10     # each before/after text is cut here
    max_diff_blob_bytes: int = 1 << 20   # blobs above this are never diffed (changes keep NULL line counts)
    max_commits: int | None = None       # newest first; None: the whole history
    max_pr_commits: int = 250            # as GitHub lists at most 250 commits per pull request
    binary_sniff_bytes: int = 8000       # git's rule: a NUL byte in the first 8000 bytes means binary
    vendored_dirs: tuple[str, ...] = ("vendor", "third_party", "third-party", "thirdparty", "node_modules",
                                      "dist", "bower_components", "external", "extern", "Godeps")
    languages: dict = field(default_factory=lambda: dict(LANGUAGES))
    # libgit2 caches no blobs by default; diffing a history newest first reads each blob as the old side
    # of one commit right after the new side of the next: cached, history runs ~20% faster
    diff_blob_cache_bytes: int = 128 << 20

    def digest_fields(self) -> dict:
        """What changes the rows (and so the refs fingerprint): everything but the language table and caches."""
        d = asdict(self)
        d.pop("languages")
        d.pop("diff_blob_cache_bytes")
        return d


# Go's own rule for generated files (https://go.dev/s/generatedcode), on any line.
GENERATED = re.compile(rb"^// Code generated .* DO NOT EDIT\.$", re.M)
LFS_POINTER = re.compile(rb"^version https://git-lfs\.github\.com/spec/v1\noid sha256:[0-9a-f]{64}\nsize \d+\n")
LFS_POINTER_MAX = 200  # pointer files are about 130 bytes
README = re.compile(r"^readme(\.[a-z0-9]+)?$", re.I)
LICENCE_FILE = re.compile(r"^(licen[cs]e|copying|unlicense)([-._ ][^/]*)?$", re.I)
REUSE_LICENCE = re.compile(r"(^|/)LICENSES/[^/]+$")  # REUSE: LICENSES/<SPDX id>.txt
GNU_NOTICE = re.compile(rb"GNU\s+(Lesser\s+|Library\s+|Affero\s+)?General\s+Public\s+License", re.I)
LATER_NOTICE = re.compile(rb"any\s+later\s+version", re.I)
MANIFESTS = ("package.json", "Cargo.toml", "pyproject.toml")  # root manifests that carry a licence field
SPDX_HEADER = re.compile(rb"SPDX-License-Identifier:\s*([A-Za-z0-9.+()\- ]+?)\s*(?:\*/|-->|$)", re.M)
PULL_REF = re.compile(r"^refs/pull/(\d+)/head$")
MERGE_PR = re.compile(r"^Merge pull request #(\d+) from (\S+)")
SQUASH_PR = re.compile(r"^(.*) \(#(\d+)\)$")



def is_licence_file(path: str, language: str | None) -> bool:
    """LICENSE, COPYING.md, LICENSE-MIT, LICENSES/MIT.txt at any depth; never a source file (license.go)."""
    name = path.rsplit("/", 1)[-1]
    return (bool(LICENCE_FILE.match(name)) or bool(REUSE_LICENCE.search(path))) \
        and language in (None, "Text", "Markdown", "HTML")


LANGUAGES = {
    ".go": "Go", ".s": "Assembly", ".S": "Assembly", ".c": "C", ".h": "C", ".cc": "C++", ".cpp": "C++",
    ".hpp": "C++", ".py": "Python", ".js": "JavaScript", ".mjs": "JavaScript", ".ts": "TypeScript",
    ".tsx": "TypeScript", ".java": "Java", ".rs": "Rust", ".rb": "Ruby", ".sh": "Shell", ".bash": "Shell",
    ".bat": "Batchfile", ".rc": "Shell", ".pl": "Perl", ".awk": "Awk", ".md": "Markdown", ".txt": "Text",
    ".html": "HTML", ".css": "CSS", ".json": "JSON", ".yaml": "YAML", ".yml": "YAML", ".toml": "TOML",
    ".xml": "XML", ".proto": "Protocol Buffer", ".sql": "SQL", ".mod": "Go Module", ".sum": "Go Checksums",
    ".tmpl": "Go Template", ".gotmpl": "Go Template", ".y": "Yacc", ".bash_completion": "Shell",
    ".ps1": "PowerShell", ".lua": "Lua", ".php": "PHP", ".swift": "Swift", ".kt": "Kotlin",
    ".dockerfile": "Dockerfile", ".mk": "Makefile",
}
LANGUAGE_NAMES = {"Makefile": "Makefile", "Dockerfile": "Dockerfile", "go.mod": "Go Module",
                  "go.sum": "Go Checksums", "go.work": "Go Module"}
