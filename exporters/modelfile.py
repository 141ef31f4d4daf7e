"""The Ollama Modelfile beside a GGUF: `ollama create NAME -f Modelfile` in that folder imports it."""
from __future__ import annotations

from pathlib import Path

from exporters import chat_template
from artifacts import sampling

NAME = "Modelfile"


def modelfile_text(gguf_name: str, num_ctx: int) -> str:
    lines = [f"FROM ./{gguf_name}", f'TEMPLATE """{chat_template.OLLAMA}"""']
    lines += [f'PARAMETER stop "{s}"' for s in chat_template.STOP]
    lines += [f"PARAMETER num_ctx {num_ctx}", *sampling.DEFAULT.ollama()]
    return "\n".join(lines) + "\n"


def write_modelfile(gguf_path: Path, num_ctx: int) -> Path:
    path = Path(gguf_path).with_name(NAME)
    path.write_text(modelfile_text(Path(gguf_path).name, num_ctx))
    return path
