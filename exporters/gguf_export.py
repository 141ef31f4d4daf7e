"""A Llama checkpoint as one GGUF file (llama.cpp, Ollama, LocalAI), written with the `gguf` package.

f32/f16/q8_0 are written here, tensor by tensor, with gguf.quants; q4_k is llama.cpp's own k-quant
quantiser run on the f16 file (the `gguf` package can only dequantise k-quants).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
import torch
from tqdm import tqdm

from exporters import chat_template
from exporters.errors import ExportError
from exporters.gguf_vocab import SentencePieceVocab
from exporters.quantize import quantize_gguf

Q = gguf.GGMLQuantizationType


@dataclass(frozen=True)
class GGUFType:
    name: str
    file_type: gguf.LlamaFileType
    matrix_type: gguf.GGMLQuantizationType  # 2-D weights; 1-D tensors (norms) always stay f32


TYPES = {
    "f32": GGUFType("f32", gguf.LlamaFileType.ALL_F32, Q.F32),
    "f16": GGUFType("f16", gguf.LlamaFileType.MOSTLY_F16, Q.F16),
    "q8_0": GGUFType("q8_0", gguf.LlamaFileType.MOSTLY_Q8_0, Q.Q8_0),
    "q4_k": GGUFType("q4_k", gguf.LlamaFileType.MOSTLY_Q4_K_M, Q.Q4_K),
}


def _permute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF Llama rotates the two halves of each head (rotate_half); llama.cpp's LLAMA rope rotates adjacent
    pairs. Reorder the rows of q_proj/k_proj so both compute the same attention (as convert_hf_to_gguf does)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _encode(data: np.ndarray, qtype: GGUFType) -> tuple[np.ndarray, gguf.GGMLQuantizationType]:
    if data.ndim < 2 or qtype.matrix_type == Q.F32:
        return data.astype(np.float32), Q.F32
    if qtype.matrix_type == Q.F16:
        return data.astype(np.float16), Q.F16
    try:
        return gguf.quants.quantize(data.astype(np.float32), qtype.matrix_type), qtype.matrix_type
    except gguf.quants.QuantError:
        # a row shorter than or not a multiple of the 32-value block: llama.cpp's converter keeps these in f16 too
        return data.astype(np.float16), Q.F16


def _check_llama(config) -> None:
    if getattr(config, "model_type", None) != "llama":
        raise ExportError(f"model_type {getattr(config, 'model_type', None)!r}: only llama checkpoints export to GGUF")
    rope = getattr(config, "rope_parameters", None) or {}
    if rope.get("rope_type", "default") != "default":
        raise ExportError(f"rope_type {rope.get('rope_type')!r} is not supported by this exporter (only 'default')")


def write_gguf(model: torch.nn.Module, tokenizer_path: Path, out: Path, type_name: str = "f16",
               name: str = "repo-llm", add_bos: bool = False) -> Path:
    """Write `model` (a transformers LlamaForCausalLM) and its SentencePiece tokenizer to `out`."""
    if type_name not in TYPES:
        raise ExportError(f"--type {type_name!r}: choose one of {', '.join(TYPES)}")
    qtype = TYPES[type_name]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if qtype.matrix_type == Q.Q4_K:
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            f16 = write_gguf(model, tokenizer_path, Path(tmp) / "f16.gguf", "f16", name, add_bos)
            quantize_gguf(f16, out, qtype.file_type)
        return out

    config = model.config
    _check_llama(config)
    vocab = SentencePieceVocab.from_file(tokenizer_path)
    if len(vocab) != config.vocab_size:
        raise ExportError(f"tokenizer {tokenizer_path} has {len(vocab)} pieces, the model's vocab_size is "
                          f"{config.vocab_size}")
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head

    tmp_out = out.with_name(out.name + ".partial")  # a killed export never leaves a truncated X.gguf
    writer = gguf.GGUFWriter(tmp_out, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_name(name)
    writer.add_file_type(qtype.file_type)
    writer.add_vocab_size(config.vocab_size)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(float((config.rope_parameters or {}).get("rope_theta", 10000.0)))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    vocab.write_to(writer, chat_template=chat_template.JINJA, add_bos=add_bos)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    state = model.state_dict()
    tied = bool(getattr(config, "tie_word_embeddings", False))
    for hf_name in tqdm(list(state), desc=f"gguf {type_name}", unit="tensor", leave=False):
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reuses token_embd when output.weight is absent
        if hf_name.endswith("rotary_emb.inv_freq"):
            continue
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ExportError(f"tensor {hf_name!r} has no GGUF name for the llama architecture")
        data = state[hf_name].detach().to(torch.float32).cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = _permute_qk(data, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = _permute_qk(data, n_kv)
        data, raw_type = _encode(data, qtype)
        writer.add_tensor(gguf_name, data, raw_dtype=raw_type)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()
    tmp_out.replace(out)
    return out
