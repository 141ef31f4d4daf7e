"""Checkpoints -> the formats people run: a Hugging Face folder, GGUF (llama.cpp, Ollama, LocalAI), an
OpenAI-compatible endpoint, and the model card with its licence manifest. `python -m exporters` is the way in.

source.py (what an export starts from) · hf_export.py + hf_tokenizer.py · gguf_export.py + gguf_vocab.py +
quantize.py · modelfile.py + chat_template.py · serve.py (+ artifacts/llama_runtime.py) · training_data.py + card.py +
license_manifest.py · merge_lora.py (a run on a Hugging Face base back into one) · cli.py
"""
