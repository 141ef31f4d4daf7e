"""GGUF export checked in llama.cpp itself: tokenisation, logits against PyTorch, quantisation, Modelfile."""
from __future__ import annotations

import json
import math
import subprocess

import gguf
import numpy as np
import pytest
import torch

from artifacts.llama_runtime import load_llama
from exporters import cli
from tests.helpers.exporter_kit import ROOT, SEQ
from artifacts.checkpoint import load_model
from artifacts.tokenizer import Tokenizer

llama_cpp = pytest.importorskip("llama_cpp")
WINDOW = SEQ * 2  # the model's context
from lake.edge import run_cli


def main(argv: list[str]) -> int:
    """The command as `python -m exporters` runs it: an error that escapes is one line and exit code 2."""
    return run_cli("exporters", cli.main, argv)


@pytest.fixture(scope="module")
def ggufs(kit, tmp_path_factory):
    out = tmp_path_factory.mktemp("gguf")
    paths = {}
    for qtype in ("f16", "q8_0"):
        paths[qtype] = out / qtype / f"model-{qtype}.gguf"
        assert main(["gguf", "--ckpt", str(kit.ckpt), "--out", str(paths[qtype]), "--type", qtype]) == 0
    return paths


@pytest.fixture(scope="module")
def torch_model(kit):
    return load_model(kit.ckpt).model


@pytest.fixture(scope="module")
def val_windows(kit):
    tok = Tokenizer.from_file(kit.tokenizer_path)
    return [tok.encode(text)[:WINDOW] for text in kit.val_texts]


def llama(path, **kw):
    return load_llama(path, n_ctx=WINDOW, n_threads=2, **kw)


def llama_logits(lm, ids: list[int]) -> np.ndarray:
    lm.reset()
    lm.eval(ids)
    return np.array(lm.scores[: len(ids)], dtype=np.float64)


def torch_logits(model, ids: list[int]) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].double().numpy()


def perplexity(logits: np.ndarray, ids: list[int]) -> tuple[float, int]:
    """(summed NLL of each next token, count) over one window."""
    lse = np.log(np.exp(logits[:-1] - logits[:-1].max(-1, keepdims=True)).sum(-1)) + logits[:-1].max(-1)
    nll = lse - logits[np.arange(len(ids) - 1), ids[1:]]
    return float(nll.sum()), len(ids) - 1


def test_gguf_tokenizes_go_code_like_sentencepiece(kit, ggufs):
    tok = Tokenizer.from_file(kit.tokenizer_path)
    vocab = llama(ggufs["f16"], vocab_only=True)
    texts = kit.val_texts + [
        "<REPO>golang/go\n<FILE path=cmd/x/main.go>\npackage main\n\nfunc main() {\n\tif x  :=  1; x > 0 {\n\t\t"
        "fmt.Println(\"héllo, 世界\\t\")\n\t}\n}\n<DIFF>\n-\told\n+\tnew\r\n\n\n   \t \n",
        "\t\t\t// leading tabs, trailing spaces   \n<PROMPT>explain this diff<RESPONSE>It renames x.",
    ]
    checked = 0
    for text in texts:
        ours = tok.encode(text)
        theirs = vocab.tokenize(text.encode(), add_bos=False, special=True)
        assert theirs == ours, f"first difference at token {next(i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b)}"
        assert vocab.detokenize(ours, special=True).decode() == text
        checked += len(ours)
    assert checked > 10_000
    marker = tok.marker_ids["<FILE path="]
    assert vocab.tokenize(b"<FILE path=a.go>", add_bos=False, special=True)[0] == marker


def test_gguf_metadata_carries_the_sentencepiece_vocabulary(kit, ggufs):
    tok = Tokenizer.from_file(kit.tokenizer_path)
    reader = gguf.GGUFReader(ggufs["f16"])

    def value(key):
        return reader.fields[key].contents()

    assert value("tokenizer.ggml.model") == "llama"
    assert value("tokenizer.ggml.add_space_prefix") is False
    assert value("tokenizer.ggml.add_bos_token") is False
    assert (value("tokenizer.ggml.bos_token_id"), value("tokenizer.ggml.eos_token_id"),
            value("tokenizer.ggml.unknown_token_id"), value("tokenizer.ggml.padding_token_id")) == \
        (tok.bos_id, tok.eos_id, tok.unk_id, tok.pad_id)
    types = value("tokenizer.ggml.token_type")
    assert len(types) == tok.vocab_size
    assert {types[i] for i in tok.marker_ids.values()} == {int(gguf.TokenType.USER_DEFINED)}
    assert types[tok.eos_id] == int(gguf.TokenType.CONTROL)
    assert types[tok.sp.piece_to_id("<0x0A>")] == int(gguf.TokenType.BYTE)
    assert "<RESPONSE>" in value("tokenizer.chat_template")


def test_gguf_f16_agrees_with_pytorch_on_next_tokens(ggufs, torch_model, val_windows):
    lm = llama(ggufs["f16"], logits_all=True)
    agree = total = 0
    max_diff = 0.0
    for ids in val_windows:
        ours, theirs = torch_logits(torch_model, ids), llama_logits(lm, ids)
        agree += int((ours.argmax(-1) == theirs.argmax(-1)).sum())
        total += len(ids)
        max_diff = max(max_diff, float(np.abs(ours - theirs).max()))
    print(f"f16 vs PyTorch: top-1 agreement {agree / total:.4%} over {total} positions, max |logit diff| {max_diff:.2e}")
    assert total >= 1000
    assert agree / total >= 0.99
    assert max_diff < 0.1  # f16 rounding of the weights; the figure is printed above


def test_an_untied_head_reaches_llama_cpp_as_its_own_output_tensor(kit, val_windows, tmp_path):
    """The demo's model has its own output head: the GGUF must carry it (output.weight), not fall back on
    token_embd. The kit's tied checkpoint is untied here with a head that differs from the embedding."""
    ckpt = torch.load(kit.ckpt, map_location="cpu", weights_only=False)
    state = ckpt["state_dict"]
    gen = torch.Generator().manual_seed(1)
    emb = state["model.model.embed_tokens.weight"]
    state["model.lm_head.weight"] = emb.clone() + 0.5 * emb.std() * torch.randn(emb.shape, generator=gen)
    ckpt["hyper_parameters"]["tie_embeddings"] = False
    untied = tmp_path / "untied.ckpt"
    torch.save(ckpt, untied)
    model = load_model(untied).model
    assert not model.config.tie_word_embeddings
    assert not torch.equal(model.lm_head.weight, model.model.embed_tokens.weight)
    out = tmp_path / "untied-f16.gguf"
    assert main(["gguf", "--ckpt", str(untied), "--out", str(out), "--type", "f16"]) == 0
    names = {t.name for t in gguf.GGUFReader(out).tensors}
    assert {"output.weight", "token_embd.weight"} <= names
    lm = llama(out, logits_all=True)
    agree = total = 0
    for ids in val_windows[:4]:
        ours, theirs = torch_logits(model, ids), llama_logits(lm, ids)
        agree += int((ours.argmax(-1) == theirs.argmax(-1)).sum())
        total += len(ids)
        assert float(np.abs(ours - theirs).max()) < 0.1
    assert total >= 200 and agree / total >= 0.99


def test_gguf_q8_0_perplexity_within_one_percent_of_f16(ggufs, val_windows):
    ppl = {}
    for qtype in ("f16", "q8_0"):
        lm = llama(ggufs[qtype], logits_all=True)
        nll = n = 0
        for ids in val_windows:
            s, c = perplexity(llama_logits(lm, ids), ids)
            nll, n = nll + s, n + c
        ppl[qtype] = math.exp(nll / n)
    print(f"perplexity on held-out Go: f16 {ppl['f16']:.4f}, q8_0 {ppl['q8_0']:.4f} "
          f"({ppl['q8_0'] / ppl['f16'] - 1:+.3%})")
    assert abs(ppl["q8_0"] / ppl["f16"] - 1) < 0.01
    assert ggufs["q8_0"].stat().st_size < 0.7 * ggufs["f16"].stat().st_size


def test_gguf_from_hf_folder_has_the_same_tensors_as_from_checkpoint(kit, ggufs, tmp_path):
    assert main(["hf", "--ckpt", str(kit.ckpt), "--out", str(tmp_path / "hf")]) == 0
    out = tmp_path / "from-hf.gguf"
    assert main(["gguf", "--hf", str(tmp_path / "hf"), "--out", str(out), "--type", "f16"]) == 0
    a = {t.name: np.array(t.data) for t in gguf.GGUFReader(ggufs["f16"]).tensors}
    b = {t.name: np.array(t.data) for t in gguf.GGUFReader(out).tensors}
    assert sorted(a) == sorted(b) and "token_embd.weight" in a
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_gguf_writes_an_ollama_modelfile_beside_it(ggufs):
    text = (ggufs["q8_0"].parent / "Modelfile").read_text()
    lines = text.splitlines()
    assert lines[0] == f"FROM ./{ggufs['q8_0'].name}"
    assert any(line.startswith('TEMPLATE """') and "<RESPONSE>" in line for line in lines)
    assert 'PARAMETER stop "</s>"' in lines and 'PARAMETER stop "<PROMPT>"' in lines
    params = dict(line.split()[1:] for line in lines if line.startswith("PARAMETER ") and "stop" not in line)
    from artifacts.sampling import DEFAULT
    assert {k: float(params[k]) for k in ("temperature", "top_p", "top_k", "repeat_penalty")} == {
        "temperature": DEFAULT.temperature, "top_p": DEFAULT.top_p, "top_k": DEFAULT.top_k,
        "repeat_penalty": DEFAULT.repetition_penalty}


def test_gguf_carries_the_fim_sentinel_ids_llama_cpp_reads_for_infill(kit, ggufs):
    from artifacts.grammar import FIM_MARKERS
    tok = Tokenizer.from_file(kit.tokenizer_path)
    want = [tok.fim_ids[m] for m in FIM_MARKERS]
    assert len(set(want)) == 3
    lm = llama(ggufs["q8_0"], vocab_only=True)
    model = lm._model
    assert [model.token_prefix(), model.token_suffix(), model.token_middle()] == want
    assert model.token_eot() == tok.eos_id  # the middle ends where a document does
    for marker, tid in zip(FIM_MARKERS, want):  # and llama.cpp's tokenizer gives each sentinel as that one id
        assert lm.tokenize(f"x{marker}y".encode(), add_bos=False, special=True).count(tid) == 1


def test_gguf_unknown_type_is_a_one_line_error(kit, tmp_path, capsys):
    assert main(["gguf", "--ckpt", str(kit.ckpt), "--out", str(tmp_path / "x.gguf"), "--type", "q3_zz"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "q3_zz" in err
    assert not (tmp_path / "x.gguf").exists()


@pytest.mark.slow
def test_gguf_q4_k_is_llama_cpp_quantised_and_still_predicts(kit, ggufs, val_windows, tmp_path):
    out = tmp_path / "model-q4_k.gguf"
    assert main(["gguf", "--ckpt", str(kit.ckpt), "--out", str(out), "--type", "q4_k"]) == 0
    reader = gguf.GGUFReader(out)
    assert reader.fields["general.file_type"].contents() == int(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    kinds = {t.name: t.tensor_type for t in reader.tensors}
    assert kinds["blk.0.attn_q.weight"] in (gguf.GGMLQuantizationType.Q4_K, gguf.GGMLQuantizationType.Q5_K,
                                            gguf.GGMLQuantizationType.Q6_K)
    assert out.stat().st_size < ggufs["q8_0"].stat().st_size
    ppl = {}
    for name, path in (("f16", ggufs["f16"]), ("q4_k", out)):
        lm = llama(path, logits_all=True)
        nll = n = 0
        for ids in val_windows:
            s, c = perplexity(llama_logits(lm, ids), ids)
            nll, n = nll + s, n + c
        ppl[name] = math.exp(nll / n)
    print(f"perplexity: f16 {ppl['f16']:.4f}, q4_k {ppl['q4_k']:.4f} ({ppl['q4_k'] / ppl['f16'] - 1:+.2%})")
    assert abs(ppl["q4_k"] / ppl["f16"] - 1) < 0.10


GO_RENDER = """package main

import (
	"encoding/json"
	"os"
	"text/template"
)

type message struct{ Role, Content string }

func main() {
	var in struct {
		Template string
		Messages []message
		Prompt   string
		Suffix   string
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	t := template.Must(template.New("ollama").Parse(in.Template))
	if err := t.Execute(os.Stdout, map[string]any{"Messages": in.Messages, "Prompt": in.Prompt, "Suffix": in.Suffix}); err != nil {
		panic(err)
	}
}
"""


@pytest.mark.slow
def test_ollama_template_renders_a_conversation_like_the_jinja_chat_template(tmp_path):
    """Ollama templates are Go text/template: render ours with Go's own package, compare with the GGUF's Jinja."""
    import jinja2

    from exporters import chat_template

    messages = [{"role": "user", "content": "Explain:\n\tx := 1"}, {"role": "assistant", "content": "It sets x."},
                {"role": "user", "content": "And y?"}]
    (tmp_path / "render.go").write_text(GO_RENDER)
    go_in = json.dumps({"Template": chat_template.OLLAMA,
                        "Messages": [{"Role": m["role"], "Content": m["content"]} for m in messages]})
    out = subprocess.run([str(ROOT / ".venv/bin/go"), "run", "render.go"], input=go_in, capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    jinja = jinja2.Environment().from_string(chat_template.JINJA).render(messages=messages, add_generation_prompt=True)
    assert out.stdout == jinja
    assert jinja == "<PROMPT>Explain:\n\tx := 1<RESPONSE>It sets x.</s><PROMPT>And y?<RESPONSE>"


@pytest.mark.slow
def test_ollama_template_renders_a_suffix_request_as_the_fim_prompt(tmp_path):
    """Ollama renders a generate request with `suffix` through the same TEMPLATE: it must give fim_prompt."""
    from exporters import chat_template
    from artifacts.grammar import fim_prompt

    (tmp_path / "render.go").write_text(GO_RENDER)
    prefix, suffix = "func add(a, b int) int {\n\treturn ", "\n}\n"
    go_in = json.dumps({"Template": chat_template.OLLAMA, "Messages": [{"Role": "user", "Content": prefix}],
                        "Prompt": prefix, "Suffix": suffix})
    out = subprocess.run([str(ROOT / ".venv/bin/go"), "run", "render.go"], input=go_in, capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout == fim_prompt(prefix, suffix)
    assert out.stdout == "<FIM_PREFIX>func add(a, b int) int {\n\treturn <FIM_SUFFIX>\n}\n<FIM_MIDDLE>"
