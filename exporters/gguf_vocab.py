"""A SentencePiece model as GGUF tokenizer metadata (llama.cpp's "llama" = SPM tokenizer).

We read the ModelProto rather than use gguf.vocab.SentencePieceVocab: that class marks user-defined pieces
(our region markers) NORMAL, and llama.cpp only matches a piece whole in raw text when it is USER_DEFINED
or CONTROL. SentencePiece piece types and GGUF token types share their numbering (1 normal ... 6 byte).

User-defined pieces are matched differently by the two: SentencePiece matches them in the text after it
has escaped spaces to "▁", llama.cpp in the raw text. So a marker spelled "<FILE▁path=" in the .model is
written "<FILE path=" here; one spelled with a raw space can never match in SentencePiece, and is written
UNUSED so that llama.cpp never emits it either (tests/exporters/test_gguf.py checks both agree).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gguf
from sentencepiece import sentencepiece_model_pb2

from exporters.errors import ExportError
from artifacts.grammar import FIM_MARKERS


SPACE = "\u2581"  # SentencePiece's escaped space
USER_DEFINED = sentencepiece_model_pb2.ModelProto.SentencePiece.USER_DEFINED


def _gguf_text(piece, escapes: bool) -> str:
    return piece.piece.replace(SPACE, " ") if piece.type == USER_DEFINED and escapes else piece.piece


def _gguf_type(piece, escapes: bool) -> int:
    if piece.type == USER_DEFINED and escapes and " " in piece.piece:
        return int(gguf.TokenType.UNUSED)
    return int(piece.type)


@dataclass(frozen=True)
class SentencePieceVocab:
    pieces: list[str]
    scores: list[float]
    types: list[int]
    bos_id: int
    eos_id: int
    unk_id: int
    pad_id: int
    add_dummy_prefix: bool
    remove_extra_whitespaces: bool

    @classmethod
    def from_file(cls, model_path: Path) -> "SentencePieceVocab":
        proto = sentencepiece_model_pb2.ModelProto()
        try:
            proto.ParseFromString(Path(model_path).read_bytes())
        except (OSError, ValueError) as e:
            raise ExportError(f"tokenizer {model_path}: not a readable SentencePiece model ({e})") from None
        spec = proto.trainer_spec
        escapes = proto.normalizer_spec.escape_whitespaces
        if spec.model_type != sentencepiece_model_pb2.TrainerSpec.BPE:
            raise ExportError(f"tokenizer {model_path}: model_type must be BPE for llama.cpp's SPM tokenizer")
        return cls(
            pieces=[_gguf_text(p, escapes) for p in proto.pieces],
            scores=[p.score for p in proto.pieces],
            types=[_gguf_type(p, escapes) for p in proto.pieces],
            bos_id=spec.bos_id, eos_id=spec.eos_id, unk_id=spec.unk_id, pad_id=spec.pad_id,
            add_dummy_prefix=proto.normalizer_spec.add_dummy_prefix,
            remove_extra_whitespaces=proto.normalizer_spec.remove_extra_whitespaces,
        )

    @property
    def fim_ids(self) -> tuple[int, int, int] | None:
        """(prefix, suffix, middle) ids of the FIM sentinels; None when the tokenizer predates them."""
        ids = tuple(self.pieces.index(m) if m in self.pieces else -1 for m in FIM_MARKERS)
        return None if -1 in ids else ids  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.pieces)

    def write_to(self, writer: gguf.GGUFWriter, chat_template: str | None = None, add_bos: bool = False) -> None:
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(self.pieces)
        writer.add_token_scores(self.scores)
        writer.add_token_types(self.types)
        for add, token_id in ((writer.add_bos_token_id, self.bos_id), (writer.add_eos_token_id, self.eos_id),
                              (writer.add_unk_token_id, self.unk_id), (writer.add_pad_token_id, self.pad_id)):
            if token_id >= 0:
                add(token_id)
        if self.fim_ids:  # what llama.cpp's /infill and llama_vocab_fim_*() read; the middle ends at EOS
            for key, token_id in zip((gguf.Keys.Tokenizer.FIM_PRE_ID, gguf.Keys.Tokenizer.FIM_SUF_ID,
                                      gguf.Keys.Tokenizer.FIM_MID_ID), self.fim_ids):
                writer.add_uint32(key, token_id)
            writer.add_uint32(gguf.Keys.Tokenizer.EOT_ID, self.eos_id)
        writer.add_add_bos_token(add_bos)
        writer.add_add_eos_token(False)
        # llama.cpp defaults both to true for SPM; our tokenizer does neither, and Go indentation depends on it.
        writer.add_add_space_prefix(self.add_dummy_prefix)
        writer.add_remove_extra_whitespaces(self.remove_extra_whitespaces)
        if chat_template:
            writer.add_chat_template(chat_template)
