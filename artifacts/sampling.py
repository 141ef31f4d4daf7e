"""How the model's text is sampled, defined once: the Hugging Face generation_config.json, the Ollama Modelfile,
`exporters serve` (requests that leave a setting out) and the evaluation's generation all take it from here.

Nucleus sampling at a moderate temperature with a mild repetition penalty: greedy decoding of a small model
falls into a loop (the demo's 5-minute model answered `"fmt"` thirty times), and a high temperature breaks
syntax. Code model cards (StarCoder, CodeLlama, Qwen-Coder) use 0.2-0.3 and top-p 0.95, but at 0.2 the demo's
model still repeated a line in 4 of 12 completions (3 prompts x 4 seeds, 64 tokens, penalty 1.1), and in 0 of
12 at 0.5 (mean share of repeated lines 0.248 -> 0.007; a penalty of 1.3 at 0.2 also stops it, but penalises
the brackets and indentation code repeats by nature). Greedy stays available: temperature 0 (`GREEDY`),
`--greedy` on the CLIs that generate.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.5
    top_p: float = 0.95
    top_k: int = 40                    # llama.cpp's and Ollama's default, stated so that HF (50) agrees with them
    repetition_penalty: float = 1.1    # > 1 lowers the odds of tokens already in the recent context
    repeat_last_n: int = 64            # how far back llama.cpp / Ollama look for repeats (HF: the whole text)

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0

    def as_dict(self) -> dict:
        return asdict(self)

    def hf(self) -> dict:
        """transformers' generate() / GenerationConfig arguments."""
        if self.greedy:
            return {"do_sample": False, "repetition_penalty": self.repetition_penalty}
        return {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k,
                "repetition_penalty": self.repetition_penalty}

    def llama_cpp(self) -> dict:
        """Fields of a llama-cpp-python /v1/completions request (and Llama.create_completion arguments)."""
        return {"temperature": max(self.temperature, 0.0), "top_p": self.top_p, "top_k": self.top_k,
                "repeat_penalty": self.repetition_penalty}

    def ollama(self) -> list[str]:
        """PARAMETER lines of an Ollama Modelfile."""
        return [f"PARAMETER temperature {self.temperature:g}", f"PARAMETER top_p {self.top_p:g}",
                f"PARAMETER top_k {self.top_k}", f"PARAMETER repeat_penalty {self.repetition_penalty:g}",
                f"PARAMETER repeat_last_n {self.repeat_last_n}"]


DEFAULT = Sampling()
GREEDY = Sampling(temperature=0.0, top_p=1.0, top_k=1, repetition_penalty=1.0)
