"""Re-quantise a GGUF with llama.cpp's own quantiser (through llama-cpp-python's C API): the k-quants."""
from __future__ import annotations

import os
from pathlib import Path

from exporters.errors import ExportError


def quantize_gguf(src: Path, dst: Path, file_type: int) -> Path:
    import llama_cpp  # imported here: loading libllama costs a second and only this command needs it
    from llama_cpp._utils import suppress_stdout_stderr  # llama.cpp logs every tensor from C

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = int(file_type)
    params.nthread = os.cpu_count() or 1
    partial = Path(dst).with_name(Path(dst).name + ".partial")
    with suppress_stdout_stderr(disable=False):
        status = llama_cpp.llama_model_quantize(str(src).encode(), str(partial).encode(), params)
    if status != 0 or not partial.exists():
        partial.unlink(missing_ok=True)
        raise ExportError(f"llama.cpp could not quantise {src} to file type {int(file_type)} (status {status})")
    partial.replace(dst)
    return Path(dst)
