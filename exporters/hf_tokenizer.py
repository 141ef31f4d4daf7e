"""Our SentencePiece model as a Hugging Face fast tokenizer (tokenizer.json) that encodes exactly like it.

transformers' SpmConverter.build_tokenizer_from_spm_proto follows the model's own normaliser settings
(no dummy prefix, no whitespace collapsing, byte fallback) and isolates the user-defined marker pieces,
which a generic LlamaTokenizer would not (it prepends a space). Equality on Go code is tested, not assumed.
"""
from __future__ import annotations

from pathlib import Path

from sentencepiece import sentencepiece_model_pb2
from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import SpmConverter

from exporters import chat_template
from exporters.gguf_vocab import SentencePieceVocab


def build_hf_tokenizer(model_path: Path, max_length: int) -> PreTrainedTokenizerFast:
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(Path(model_path).read_bytes())
    vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
    backend = SpmConverter.build_tokenizer_from_spm_proto(proto, vocab, legacy=False)
    spv = SentencePieceVocab.from_file(model_path)
    special = {name: proto.pieces[i].piece for name, i in
               (("bos_token", spv.bos_id), ("eos_token", spv.eos_id), ("unk_token", spv.unk_id),
                ("pad_token", spv.pad_id)) if i >= 0}
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=max_length, **special)
    tok.chat_template = chat_template.JINJA
    return tok
