"""Loading a GGUF into llama-cpp-python the way that works on our CPUs.

Measured here (Xeon with AMX, llama-cpp-python 0.3.36 built -march=native): with llama.cpp's extra CPU
buffer types (weight repacking / AMX), decoding any q8_0 or q4_0 model segfaults, whether we or llama.cpp
quantised it; f16 is unaffected. `use_extra_bufts=False` fixes it. llama_cpp.Llama does not expose that model
parameter, so model loading goes through `plain_cpu_buffers()`, which sets it for the duration of a load.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from artifacts.errors import ArtifactError

_lock = threading.Lock()


@contextmanager
def plain_cpu_buffers():
    """Models loaded inside this block use plain CPU buffers (no repacking)."""
    import llama_cpp.llama_cpp as capi

    with _lock:
        original = capi.llama_model_default_params

        def params():
            p = original()
            p.use_extra_bufts = False
            return p

        capi.llama_model_default_params = params
        try:
            yield
        finally:
            capi.llama_model_default_params = original


def load_llama(path: str | Path, **kwargs):
    """llama_cpp.Llama(path, **kwargs), verbose off unless asked, with plain CPU buffers."""
    try:  # the optional `serve` extra: imported only by whoever loads a GGUF
        import llama_cpp
    except ImportError as e:
        raise ArtifactError(f"a GGUF needs llama-cpp-python (pip install -e '.[serve]'): {e}") from None

    kwargs.setdefault("verbose", False)
    with plain_cpu_buffers():
        return llama_cpp.Llama(str(path), **kwargs)
