"""The model card (README.md of an export folder), written from the model, its provenance and the lake."""
from __future__ import annotations

from pathlib import Path

from exporters import chat_template
from exporters.license_manifest import NAME as MANIFEST
from exporters.source import ModelSource, parameter_count
from exporters.training_data import TrainingData

NAME = "README.md"

INTENDED_USE = """\
## Intended use

Completing and explaining Go code: next-line and function-body completion, commit messages for a diff,
explanations of a pull request, in editors and tools that speak llama.cpp, Ollama or an OpenAI-compatible API.
It is a small research model trained from scratch on public repositories: a baseline to measure the data
pipeline by, not a production assistant.

## Limits

- Trained on Go repositories only: other languages and general questions are out of its distribution.
- Small and trained on few tokens (see above): it repeats itself, invents APIs and makes plausible-looking
  mistakes. Review and test everything it writes; never run its output unreviewed.
- It reproduces the style, and sometimes the text, of its training repositories. Their licences (table above,
  every repository in `dataset_license_manifest.csv`) may require attribution when output is substantially
  copied from them.
- Secrets were redacted from the corpus by pattern; a redaction can miss. Do not rely on the model to keep
  or withhold anything.
- Chat turns use the corpus markers `<PROMPT>` / `<RESPONSE>`; it follows instructions only as far as its SFT
  data (pull-request explanations, commit messages) taught it.
"""


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_fmt(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return "" if v is None else str(v).replace("|", "\\|")


def card_text(source: ModelSource, data: TrainingData | None, title: str = "repo-llm") -> str:
    cfg = source.model.config
    meta = source.meta
    params = parameter_count(source.model)
    kv = cfg.num_key_value_heads
    arch = [
        ("architecture", f"Llama decoder (`LlamaForCausalLM`): RMSNorm, RoPE, SwiGLU"
                         f"{', grouped-query attention' if kv != cfg.num_attention_heads else ''}"),
        ("parameters", f"{params:,} ({params / 1e6:.2f} M)"),
        ("layers / d_model / heads / kv heads", f"{cfg.num_hidden_layers} / {cfg.hidden_size} / "
                                                f"{cfg.num_attention_heads} / {kv}"),
        ("feed-forward width", f"{cfg.intermediate_size:,}"),
        ("vocabulary", f"{cfg.vocab_size:,} (SentencePiece BPE `{source.tokenizer_id or 'unnamed'}`, byte fallback)"),
        ("context", f"{cfg.max_position_embeddings:,} tokens"),
        ("tied embeddings", str(bool(cfg.tie_word_embeddings))),
    ]
    train = [
        ("tokens seen", _fmt(meta.get("tokens_seen")) if meta.get("tokens_seen") is not None else "not recorded"),
        ("optimiser steps", _fmt(meta.get("step")) if meta.get("step") is not None else "not recorded"),
        ("sequence length", _fmt(meta.get("seq_len")) if meta.get("seq_len") else "not recorded"),
        ("lake", f"`{meta.get('lake') or (data.lake_root if data else 'not recorded')}`"),
        ("lake snapshot", _fmt(meta.get("lake_snapshot")) if meta.get("lake_snapshot") is not None else "not recorded"),
        ("shards", _fmt(len(meta.get("shards") or [])) if meta.get("shards") else "not recorded"),
        ("exported from", f"`{source.origin}`"),
    ]
    lines = [
        "---", "library_name: transformers", "pipeline_tag: text-generation", "license: other",
        "tags: [code, go, llama, gguf]", "---", "",
        f"# {title}", "",
        "A small code language model for Go, trained from scratch by repo-llm on a licensed, provenance-tracked "
        "corpus of public GitHub repositories.", "",
        "## Model", "", _table([{"k": k, "v": v} for k, v in arch], [("k", ""), ("v", "")]), "",
        "## Training", "", _table([{"k": k, "v": v} for k, v in train], [("k", ""), ("v", "")]), "",
    ]
    lines += _data_section(data)
    lines += _eval_section(data)
    lines += [INTENDED_USE, _usage_section()]
    return "\n".join(lines).rstrip() + "\n"


def _data_section(data: TrainingData | None) -> list[str]:
    if data is None:
        return ["## Training data", "", "No lake was given to this export (`--lake`): composition not written.", ""]
    repos = data.per_repository()
    used = [r for r in repos if r["train_tokens"] or r["train_samples"]]
    tok_total = sum(r["train_tokens"] for r in repos)
    out = ["## Training data", "",
           f"Read from the lake at snapshot {data.lake_snapshot}: {len(used):,} of {len(repos):,} repositories "
           f"contributed to the train split, {tok_total:,} tokens in {data.shards:,} shards (all splits: "
           f"{sum(r['tokens'] for r in repos):,} tokens; as packed, one EOS per document included). "
           f"Every repository with its licence, "
           f"commit, samples and tokens is in [`{MANIFEST}`]({MANIFEST}).", "",
           "### By category (train split)", "",
           _table(data.composition("category"), [("category", "category"), ("repos", "repositories"),
                                                 ("samples", "samples"), ("bytes", "bytes"), ("tokens", "tokens")]), "",
           "### By licence (train split)", "",
           _table(data.composition("license"), [("license", "licence"), ("repos", "repositories"),
                                                ("samples", "samples"), ("bytes", "bytes"), ("tokens", "tokens")]), ""]
    return out


def _eval_section(data: TrainingData | None) -> list[str]:
    if data is None or not data.evals:
        return ["## Evaluation", "", "The lake's `evals` table holds no results for this checkpoint yet "
                "(`python -m evaluation` writes them).", ""]
    return ["## Evaluation", "", "From the lake's `evals` table:", "",
            _table(data.evals, [("suite", "suite"), ("metric", "metric"), ("category", "category"),
                                ("value", "value"), ("n", "n"), ("eval_run", "run")]), ""]


def _usage_section() -> str:
    return f"""## Use

- transformers: `AutoModelForCausalLM.from_pretrained(DIR)`, `AutoTokenizer.from_pretrained(DIR)` (offline; the
  tokenizer is the SentencePiece model, also as `tokenizer.model`).
- llama.cpp / LocalAI: `python -m exporters gguf --hf DIR --out model-q8_0.gguf --type q8_0` (f16, q8_0, q4_k).
- Ollama: `ollama create repo-llm -f Modelfile` in the folder of the GGUF.
- OpenAI-compatible endpoint: `python -m exporters serve --gguf model-q8_0.gguf --port 8000`, then
  `/v1/completions` and `/v1/chat/completions` on 127.0.0.1. LangChain: `ChatOpenAI(base_url="http://127.0.0.1:8000/v1",
  api_key="-", extra_body={{"max_tokens": 256}})` (langchain-openai renames `max_tokens` to
  `max_completion_tokens`, which llama-cpp-python's server ignores).
- Chat format: `{chat_template.PROMPT}` user text `{chat_template.RESPONSE}` model text `</s>`; stop at
  `{'`, `'.join(chat_template.STOP)}`.
"""


def write_card(source: ModelSource, data: TrainingData | None, out_dir: Path) -> Path:
    path = Path(out_dir) / NAME
    path.write_text(card_text(source, data))
    return path
