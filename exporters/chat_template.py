"""The one chat format of our models, spelled for each runtime that needs it.

The model learns SFT pairs as `<PROMPT>` prompt `<RESPONSE>` response EOS, nothing between (artifacts/grammar.py sft_parts, used by trainers/sft.py
encode_pair), so a chat turn maps onto the same markers: user/system text after `<PROMPT>`, assistant text
after `<RESPONSE>`.
The Jinja form goes into the HF tokenizer config and the GGUF (`tokenizer.chat_template`, which llama.cpp's
server applies); the Go-template form goes into the Ollama Modelfile. Both must render a conversation alike.
"""
from __future__ import annotations

from artifacts.grammar import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

PROMPT, RESPONSE = "<PROMPT>", "<RESPONSE>"

JINJA = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}" + RESPONSE + "{{ message['content'] }}" + EOS +
    "{% else %}" + PROMPT + "{{ message['content'] }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}" + RESPONSE + "{% endif %}"
)

# Ollama's TEMPLATE is a Go text/template over .Messages; the generation prompt is always open at the end.
OLLAMA_CHAT = (
    "{{- range .Messages }}"
    '{{- if eq .Role "assistant" }}' + RESPONSE + "{{ .Content }}" + EOS +
    "{{- else }}" + PROMPT + "{{ .Content }}{{ end }}"
    "{{- end }}" + RESPONSE
)
# A generate request with a `suffix` (editor completion) renders .Prompt and .Suffix as the infill prompt of
# artifacts/grammar.py fim_prompt; Ollama accepts `suffix` only for a template that mentions .Suffix.
OLLAMA_INFILL = FIM_PREFIX + "{{ .Prompt }}" + FIM_SUFFIX + "{{ .Suffix }}" + FIM_MIDDLE
OLLAMA = "{{- if .Suffix }}" + OLLAMA_INFILL + "{{- else }}" + OLLAMA_CHAT + "{{- end }}"

# A completion stops where a new turn or document would begin.
STOP = (EOS, PROMPT)
