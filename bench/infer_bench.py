"""Generation speed on this CPU: llama.cpp (f16, q8_0 GGUF) next to PyTorch generate() of the same model.

    .venv/bin/python bench/infer_bench.py [--ckpt CKPT] [--new-tokens 128] [--prompt-tokens 64] [--repeats 3]

Without --ckpt it builds a model of the size trainers/configs use by default from random weights and a
SentencePiece tokenizer trained here on GOROOT's Go source (speed does not depend on the weights).
Greedy decoding, EOS suppressed so every run produces exactly --new-tokens; best of --repeats; both sides on
the same threads. Prints tokens/s and the ratio to PyTorch; nothing is asserted.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporters.gguf_export import write_gguf  # noqa: E402
from artifacts.llama_runtime import load_llama  # noqa: E402
from exporters.source import from_checkpoint, parameter_count  # noqa: E402
from transforms.tokenizer import Tokenizer  # noqa: E402


def synthetic(workdir: Path, vocab: int, d_model: int, n_layers: int, n_heads: int, seq: int):
    import sentencepiece as spm

    from artifacts.architecture import llama_config
    from artifacts import grammar
    from transforms.tokenizer import SPM_OPTIONS, marker_piece
    from transformers import LlamaForCausalLM

    goroot = Path(subprocess.run([str(ROOT / ".venv/bin/go"), "env", "GOROOT"], capture_output=True, text=True,
                                 check=True).stdout.strip())
    texts = [p.read_text() for pkg in ("strings", "bytes", "bufio", "sort", "fmt", "strconv")
             for p in sorted((goroot / "src" / pkg).glob("*.go"))]
    model_path = workdir / "tokenizer.model"
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_prefix=str(model_path.with_suffix("")),
                                   minloglevel=2, **{**SPM_OPTIONS, "vocab_size": vocab,
                                                     "user_defined_symbols": [marker_piece(m) for m in grammar.MARKERS]})
    tok = Tokenizer.from_file(model_path)
    torch.manual_seed(0)
    cfg = llama_config(tok.vocab_size, d_model, n_layers, n_heads, None, None, seq, 10000.0, True,
                       pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id)
    return LlamaForCausalLM(cfg).eval(), model_path, texts[0]


def torch_tokens_per_s(model, prompt: list[int], new: int, eos: int) -> float:
    ids = torch.tensor([prompt])
    t = time.perf_counter()
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new, min_new_tokens=new,
                             do_sample=False, use_cache=True, pad_token_id=eos, eos_token_id=eos)
    dt = time.perf_counter() - t
    assert out.shape[1] - len(prompt) == new
    return new / dt


def llama_tokens_per_s(lm, prompt: list[int], new: int, eos: int) -> float:
    lm.reset()
    t = time.perf_counter()
    out = lm.create_completion(prompt, max_tokens=new, temperature=0.0, repeat_penalty=1.0,
                               logit_bias={eos: -1e9})
    dt = time.perf_counter() - t
    assert out["usage"]["completion_tokens"] == new, out["usage"]
    return new / dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt")
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--d-model", type=int, default=384)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--vocab", type=int, default=8000)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="infer_bench_") as tmp:
        tmp = Path(tmp)
        seq = args.prompt_tokens + args.new_tokens
        if args.ckpt:
            src = from_checkpoint(args.ckpt)
            model, tok_path, text = src.model, src.tokenizer_path, "package main\n\nfunc main() {\n" * 64
        else:
            model, tok_path, text = synthetic(tmp, args.vocab, args.d_model, args.layers, args.heads, max(seq, 512))
        tok = Tokenizer.from_file(tok_path)
        eos = tok.eos_id
        if seq > model.config.max_position_embeddings:
            ap.error(f"--prompt-tokens + --new-tokens = {seq} exceeds the model's context "
                     f"{model.config.max_position_embeddings}")
        prompt = tok.encode(text)[: args.prompt_tokens]
        cfg = model.config
        print(f"model: {parameter_count(model) / 1e6:.2f} M parameters, d_model {cfg.hidden_size}, "
              f"{cfg.num_hidden_layers} layers, vocab {cfg.vocab_size}; prompt {len(prompt)} tokens, "
              f"{args.new_tokens} new tokens, {args.threads} threads, best of {args.repeats}")
        results = {"pytorch f32": max(torch_tokens_per_s(model, prompt, args.new_tokens, eos)
                                      for _ in range(args.repeats))}
        for qtype in ("f16", "q8_0"):
            path = write_gguf(model, tok_path, tmp / f"model-{qtype}.gguf", qtype)
            lm = load_llama(path, n_ctx=max(seq, 64), n_threads=args.threads, n_batch=max(len(prompt), 8))
            results[f"llama.cpp {qtype}"] = max(llama_tokens_per_s(lm, prompt, args.new_tokens, eos)
                                                for _ in range(args.repeats))
            size = path.stat().st_size / 2**20
            results[f"llama.cpp {qtype}"] = (results[f"llama.cpp {qtype}"], size)
            del lm
        base = results["pytorch f32"]
        print(f"{'runtime':<16} {'tokens/s':>10} {'vs PyTorch':>11} {'file MiB':>9}")
        print(f"{'pytorch f32':<16} {base:>10.1f} {1.0:>10.2f}x {'':>9}")
        for name in ("llama.cpp f16", "llama.cpp q8_0"):
            tps, size = results[name]
            print(f"{name:<16} {tps:>10.1f} {tps / base:>10.2f}x {size:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
