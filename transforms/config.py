"""Every threshold of the transforms stage, in one place. SQL models read them as DuckDB variables
(`getvariable('max_line_length')`), Python steps receive the dataclass."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

# OSI-approved licences, copyleft included. `preference` breaks ties when a duplicate is kept:
# permissive first (its copy can be used most widely), then weak, then strong copyleft.
OSI_LICENSES: tuple[tuple[str, str, int], ...] = (
    ("MIT", "permissive", 0), ("Apache-2.0", "permissive", 0), ("BSD-3-Clause", "permissive", 0),
    ("BSD-2-Clause", "permissive", 0), ("ISC", "permissive", 0), ("0BSD", "permissive", 0),
    ("Zlib", "permissive", 0), ("BSL-1.0", "permissive", 0), ("Unlicense", "permissive", 0),
    ("UPL-1.0", "permissive", 0), ("MIT-0", "permissive", 0), ("PostgreSQL", "permissive", 0),
    ("NCSA", "permissive", 0), ("Artistic-2.0", "permissive", 0),
    ("MPL-2.0", "weak_copyleft", 1), ("LGPL-2.1-only", "weak_copyleft", 1), ("LGPL-2.1-or-later", "weak_copyleft", 1),
    ("LGPL-3.0-only", "weak_copyleft", 1), ("LGPL-3.0-or-later", "weak_copyleft", 1), ("EPL-2.0", "weak_copyleft", 1),
    ("EPL-1.0", "weak_copyleft", 1), ("CDDL-1.0", "weak_copyleft", 1),
    ("GPL-2.0-only", "strong_copyleft", 2), ("GPL-2.0-or-later", "strong_copyleft", 2),
    ("GPL-3.0-only", "strong_copyleft", 2), ("GPL-3.0-or-later", "strong_copyleft", 2),
    ("AGPL-3.0-only", "strong_copyleft", 2), ("AGPL-3.0-or-later", "strong_copyleft", 2),
    ("EUPL-1.2", "strong_copyleft", 2),
)


@dataclass(frozen=True)
class TransformConfig:
    # file filters (sql/clean_files.sql)
    max_file_bytes: int = 1_000_000
    max_line_length: int = 1_000
    max_mean_line_length: int = 100
    min_alnum_fraction: float = 0.25
    encoded_run_chars: int = 64         # a base64/hex run at least this long counts as encoded data ...
    max_encoded_fraction: float = 0.5   # ... and a file made of more than this fraction of it is dropped
    languages: tuple[str, ...] = ("Go", "Markdown")  # what a training document may be written in
    # near dedup (transforms/dedup.py)
    num_perm: int = 256
    shingle_tokens: int = 5
    jaccard_threshold: float = 0.7
    minhash_seed: int = 1               # datasketch's default seed: signatures equal MinHash(num_perm=256)
    # splits (sql/repo_splits.sql): bucket = hash(repo) % 100
    val_percent: int = 10
    test_percent: int = 10
    # The salt is chosen for the embedded corpus (python -m ingest goroot): golang/go, 90% of its bytes,
    # lands in train and val and test each get NAT, MIX and CODE samples. Any other salt is as valid.
    split_salt: str = "repo-llm-62"
    # documents and SFT pairs
    max_diff_bytes: int = 32_000        # a commit or PR diff longer than this is no sample and no prompt
    max_commit_files: int = 50          # more changed files than this: an import or a vendoring, not a change
    min_subject_chars: int = 10
    max_subject_chars: int = 80
    max_message_chars: int = 4_000
    min_package_doc_chars: int = 200    # a package doc comment shorter than this is one line of boilerplate
    allowed_licenses: tuple[tuple[str, str, int], ...] = field(default=OSI_LICENSES)

    def sql_variables(self) -> dict[str, object]:
        """Scalars the SQL models read with getvariable(name)."""
        out = {k: v for k, v in asdict(self).items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        out["languages"] = list(self.languages)
        return out
