"""python -m exporters {hf,gguf,serve,card,merge-lora} ...: parses, calls the exporter functions, prints one line each."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from artifacts.grammar import file_start
from artifacts.held_out import held_out_prompt
from artifacts.sampling import GREEDY
from exporters import serve
from exporters.card import write_card
from exporters.errors import ExportError
from exporters.gguf_export import write_gguf
from exporters.hf_export import write_hf
from exporters.license_manifest import write_manifest
from exporters.merge_lora import merge_lora
from exporters.modelfile import write_modelfile
from exporters.source import load_source, parameter_count
from exporters.training_data import read_training_data
from lake.errors import RepoLLMError
from lake.options import add_lake_options, add_quiet_option, open_lake


def _source_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--ckpt", help="a trainers checkpoint (.ckpt)")
    g.add_argument("--hf", help="a folder written by `python -m exporters hf`")


def _lake_arg(p: argparse.ArgumentParser) -> None:
    add_lake_options(p, "the lake the model was trained from (default: the one its checkpoint records)")


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every exporters subcommand (argv keeps its subcommand first, so `command` chooses nothing)."""
    ap = argparse.ArgumentParser(prog="python -m exporters")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("hf", help="Hugging Face folder: safetensors, config, tokenizer, model card, licence manifest")
    _source_args(p)
    p.add_argument("--out", required=True)
    _lake_arg(p)
    p = sub.add_parser("gguf", help="one GGUF file (llama.cpp, Ollama, LocalAI) and an Ollama Modelfile beside it")
    _source_args(p)
    p.add_argument("--out", required=True, help="X.gguf")
    p.add_argument("--type", default="f16", help="f32 | f16 | q8_0 | q4_k (default f16)")
    p.add_argument("--name", default="repo-llm")
    add_quiet_option(p)
    p = sub.add_parser("serve", help="OpenAI-compatible endpoint on 127.0.0.1 (llama-cpp-python's server)")
    p.add_argument("--gguf", required=True)
    p.add_argument("--port", type=int, help="default 8000; with --smoke, a free port")
    p.add_argument("--n-ctx", type=int, default=0, help="context size (0: the model's)")
    p.add_argument("--smoke", metavar="PROMPT", action="append", default=[],
                   help="start the server, ask a completion of PROMPT (repeatable), print it, stop")
    p.add_argument("--smoke-held-out", action="store_true",
                   help="smoke with the first lines of a held-out Go file of the lake's test split too")
    p.add_argument("--prompt-lines", type=int, default=12, help="lines of the held-out prompt (default 12)")
    p.add_argument("--smoke-path", metavar="PATH",
                   help="frame the smoke prompts as files, the way training saw every file: each --smoke prompt as the "
                        "start of file PATH (`<FILE path=PATH>` before it), the held-out prompt as its own file")
    add_lake_options(p, "with --smoke-held-out: the lake (default $REPO_LLM_LAKE or ./data)")
    p.add_argument("--max-tokens", type=int, default=32, help="with --smoke")
    p.add_argument("--greedy", action="store_true", help="with --smoke: greedy instead of the served sampling")
    p = sub.add_parser("card", help="README.md model card and dataset_license_manifest.csv")
    _source_args(p)
    p.add_argument("--out", required=True, help="folder to write them into")
    _lake_arg(p)
    p = sub.add_parser("merge-lora", help="a run on a Hugging Face base (LoRA or continued pretraining) as a merged "
                                          "Hugging Face folder, ready for `gguf --hf` and the server")
    p.add_argument("--base", required=True, help="the Hugging Face folder the run started from (model.init_from)")
    p.add_argument("--adapter", required=True, help="the run's checkpoint (.ckpt)")
    p.add_argument("--out", required=True)
    add_quiet_option(p)
    return ap


def _write_card(source, out: Path, lake: str | None, data_path: str | None) -> str:
    recorded = source.meta.get("lake")
    if lake is None and (recorded is None or not Path(recorded).exists()):
        # the checkpoint's lake is gone (or it names none): say so, in the card and here
        print(f"note: lake {recorded} not found; the card has no data composition and no manifest (use --lake)",
              file=sys.stderr)
        write_card(source, None, out)
        return str(out / "README.md")
    lake = lake or recorded
    data = read_training_data(lake, source.meta, source.meta.get("exported_from") or source.origin, data_path)
    write_card(source, data, out)
    write_manifest(data, out)
    return f"{out / 'README.md'} and {out / 'dataset_license_manifest.csv'} ({len(data.per_repository())} repositories)"


def _held_out_prompt(args: argparse.Namespace, lines: int) -> tuple[str, str]:
    try:
        with open_lake(args) as lk:
            found = held_out_prompt(lk, lines)
    except RepoLLMError as e:
        raise ExportError(f"--smoke-held-out: {e}") from None
    print(f"held-out prompt: {found['repo_id']} {found['path']} (first {lines} lines from its package clause)",
          file=sys.stderr)
    return found["path"], found["prompt"]


def run(args: argparse.Namespace) -> None:
    if args.command == "merge-lora":
        out = merge_lora(args.base, args.adapter, args.out)
        print(f"merge-lora: {out} (a Hugging Face folder; for a Llama base with a SentencePiece tokenizer.model, "
              f"`python -m exporters gguf --hf {out}` takes it)")
        return
    if args.command == "serve":
        if args.smoke or args.smoke_held_out:
            # unframed, a bare `package main` is as likely the start of a Markdown note as of a Go file
            frame = file_start if args.smoke_path else (lambda path, text: text)
            prompts = [frame(args.smoke_path, p) for p in args.smoke]
            if args.smoke_held_out:
                prompts.append(frame(*_held_out_prompt(args, args.prompt_lines)))
            for reply in serve.smoke(Path(args.gguf), prompts, args.max_tokens, port=args.port,
                                     sampling=GREEDY if args.greedy else None):
                print(json.dumps(reply, ensure_ascii=False))
        else:
            port = args.port or serve.DEFAULT_PORT
            print(f"serving {args.gguf} on http://{serve.HOST}:{port}/v1 (Ctrl-C stops)", file=sys.stderr)
            serve.serve_forever(Path(args.gguf), port, args.n_ctx)
        return
    source = load_source(ckpt=args.ckpt, hf=args.hf)
    if args.command == "hf":
        out = write_hf(source, Path(args.out))
        card = _write_card(source, out, args.lake, args.data_path)
        print(f"hf: {out} ({parameter_count(source.model):,} parameters); card: {card}")
    elif args.command == "gguf":
        out = write_gguf(source.model, source.tokenizer_path, Path(args.out), args.type, args.name)
        mf = write_modelfile(out, source.model.config.max_position_embeddings)
        print(f"gguf: {out} ({args.type}, {out.stat().st_size / 2**20:.1f} MiB); ollama: {mf}")
    elif args.command == "card":
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        print(f"card: {_write_card(source, out, args.lake, args.data_path)}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    try:
        run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
