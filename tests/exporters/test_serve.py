"""The OpenAI-compatible endpoint, as a real server process on loopback, through the clients people use."""
from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
import requests

from exporters.cli import main
from artifacts.llama_runtime import load_llama
from exporters.serve import HOST, free_port, start_server, stop_server
from tests.helpers.exporter_kit import ROOT
from artifacts.sampling import DEFAULT

pytestmark = pytest.mark.slow
PROMPT = "package main\n\nimport \"fmt\"\n\nfunc main() {\n\t"
GREEDY = {"repeat_penalty": 1.0}  # the server defaults to 1.1; plain greedy is what llama.cpp gives here too


@pytest.fixture(scope="module")
def q8(kit, tmp_path_factory):
    out = tmp_path_factory.mktemp("serve") / "model-q8_0.gguf"
    assert main(["gguf", "--ckpt", str(kit.ckpt), "--out", str(out), "--type", "q8_0"]) == 0
    return out


@pytest.fixture(scope="module")
def server(q8):
    proc, base = start_server(q8)
    yield base
    stop_server(proc)
    assert proc.returncode is not None


@pytest.fixture(scope="module")
def greedy(q8):
    """What llama.cpp itself generates for a prompt, greedily, in this process."""
    lm = load_llama(q8, n_ctx=256, n_threads=2)

    def complete(prompt: str, n: int = 8, **sampling) -> str:
        return lm.create_completion(prompt, max_tokens=n, **(sampling or {"temperature": 0.0}))["choices"][0]["text"]
    return complete


def client(base):
    from openai import OpenAI
    return OpenAI(base_url=base, api_key="not-needed", max_retries=0, timeout=60)


def test_server_answers_v1_completions_through_the_openai_client(server, greedy):
    c = client(server)
    model = c.models.list().data[0].id
    reply = c.completions.create(model=model, prompt=PROMPT, max_tokens=8, temperature=0.0,
                                 extra_body=GREEDY)
    assert reply.object == "text_completion"
    assert 0 < reply.usage.completion_tokens <= 8
    assert reply.choices[0].text == greedy(PROMPT)


def test_server_answers_v1_chat_completions_with_our_chat_template(server, greedy):
    c = client(server)
    model = c.models.list().data[0].id
    reply = c.chat.completions.create(model=model, messages=[{"role": "user", "content": "Explain: x := 1"}],
                                      max_tokens=8, temperature=0.0, extra_body=GREEDY)
    msg = reply.choices[0].message
    assert msg.role == "assistant"
    assert reply.choices[0].finish_reason in ("stop", "length")
    # the GGUF's template turned the turn into our SFT markers
    assert msg.content == greedy("<PROMPT>Explain: x := 1<RESPONSE>")


def test_langchain_chat_openai_talks_to_the_server(server):
    from langchain_openai import ChatOpenAI

    model = client(server).models.list().data[0].id
    # langchain-openai sends max_tokens as max_completion_tokens, which llama-cpp-python's server ignores:
    # the limit has to travel in the body under its old name
    chat = ChatOpenAI(base_url=server, api_key="not-needed", model=model, temperature=0.0,
                      extra_body={"max_tokens": 8}, max_retries=0, timeout=60)
    answer = chat.invoke("Explain: x := 1")
    direct = client(server).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Explain: x := 1"}], max_tokens=8, temperature=0.0)
    assert answer.content == direct.choices[0].message.content
    assert answer.response_metadata.get("finish_reason") in ("stop", "length")


def test_server_fills_the_sampling_a_request_leaves_out_with_ours(server, greedy):
    prompt, n = PROMPT, 48
    answer = requests.post(f"{server}/completions", json={"prompt": prompt, "max_tokens": n, "seed": 7}, timeout=60)
    text = answer.json()["choices"][0]["text"]
    # llama.cpp in this process, told our settings explicitly, draws the same tokens from the same seed
    assert text == greedy(prompt, n, seed=7, **DEFAULT.llama_cpp())
    # and llama-cpp-python's own defaults (temperature 0.8) would have drawn others
    assert text != greedy(prompt, n, seed=7, temperature=0.8, top_p=0.95, top_k=40, repeat_penalty=1.1)
    explicit = requests.post(f"{server}/completions", json={"prompt": prompt, "max_tokens": 8, "temperature": 0.0,
                                                            "repeat_penalty": 1.0}, timeout=60)
    assert explicit.json()["choices"][0]["text"] == greedy(prompt)  # what a client sends wins: greedy stays


def test_serve_smoke_prints_completions_with_repetition_and_leaves_no_server(q8, greedy):
    port = free_port()
    run = subprocess.run([sys.executable, "-m", "exporters", "serve", "--gguf", str(q8), "--port", str(port),
                          "--smoke", PROMPT, "--smoke", "package main\n", "--max-tokens", "8", "--greedy"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    replies = [json.loads(line) for line in run.stdout.strip().splitlines()]
    assert [r["prompt"] for r in replies] == [PROMPT, "package main\n"]
    assert replies[0]["url"] == f"http://{HOST}:{port}/v1"
    assert [r["text"] for r in replies] == [greedy(PROMPT), greedy("package main\n")]
    assert all(0.0 <= r["repeated_lines"] <= 1.0 and 0.0 <= r["repeated_ngrams"] <= 1.0 for r in replies)
    with socket.socket() as s:  # nothing listens there any more
        assert s.connect_ex((HOST, port)) != 0


def test_serve_smoke_held_out_prompt_is_the_head_of_a_test_split_go_file(q8, tmp_path):
    from lake import Lake
    from tests.helpers.held_out import held_out_lake
    with Lake(tmp_path / "lake") as lk:
        held = held_out_lake(lk)
    run = subprocess.run([sys.executable, "-m", "exporters", "serve", "--gguf", str(q8), "--smoke-held-out",
                          "--lake", str(tmp_path / "lake"), "--prompt-lines", "6", "--max-tokens", "8"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    (reply,) = [json.loads(line) for line in run.stdout.strip().splitlines()]
    assert reply["prompt"].startswith("package ") and reply["prompt"].count("\n") == 6
    assert reply["prompt"] in held and reply["completion_tokens"] > 0


def test_serve_smoke_path_frames_prompts_as_the_files_training_saw(q8, greedy, tmp_path):
    """--smoke-path: a --smoke prompt goes out as the start of that file (the serialisation's `<FILE path=P>`
    line before it) and the held-out prompt as the start of its own file; the completion is of the framed text."""
    from lake import Lake
    from tests.helpers.held_out import held_out_lake
    with Lake(tmp_path / "lake") as lk:
        held = held_out_lake(lk)
    run = subprocess.run([sys.executable, "-m", "exporters", "serve", "--gguf", str(q8), "--smoke", "package main",
                          "--smoke-path", "cmd/hello/main.go", "--smoke-held-out", "--lake", str(tmp_path / "lake"),
                          "--prompt-lines", "6", "--max-tokens", "8", "--greedy"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    mine, theirs = [json.loads(line) for line in run.stdout.strip().splitlines()]
    assert mine["prompt"] == "<FILE path=cmd/hello/main.go>\npackage main"
    assert mine["text"] == greedy(mine["prompt"])
    path = run.stderr.split("held-out prompt: ")[1].split(" (first")[0].split(" ", 1)[1]
    head, body = theirs["prompt"].split("\n", 1)
    assert head == f"<FILE path={path}>" and body.startswith("package ") and body in held


def test_serve_a_missing_gguf_is_a_one_line_error(tmp_path):
    run = subprocess.run([sys.executable, "-m", "exporters", "serve", "--gguf", str(tmp_path / "no.gguf"),
                          "--smoke", "x"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "no.gguf" in run.stderr


@pytest.fixture(scope="module")
def infill_truth(q8):
    """What llama.cpp generates, greedily, after the FIM token ids it reads from the GGUF, built here by hand."""
    lm = load_llama(q8, n_ctx=256, n_threads=2)
    m = lm._model

    def middle(prefix: str, suffix: str, n: int = 8) -> tuple[str, int]:
        ids = ([m.token_prefix()] + lm.tokenize(prefix.encode(), add_bos=False, special=False) + [m.token_suffix()]
               + lm.tokenize(suffix.encode(), add_bos=False, special=False) + [m.token_middle()])
        out = []
        for t in lm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0, reset=True):
            if lm.token_eos() == t or len(out) == n:
                break
            out.append(t)
        return lm.detokenize(out).decode("utf-8", "replace"), len(ids)
    return middle


FIM_PREFIX_TEXT = "package main\n\nfunc add(a, b int) int {\n\treturn "
FIM_SUFFIX_TEXT = "\n}\n\nfunc main() {\n\tprintln(add(1, 2))\n}\n"


def test_server_fills_a_middle_through_llama_cpp_infill(server, infill_truth):
    import requests
    want, prompt_tokens = infill_truth(FIM_PREFIX_TEXT, FIM_SUFFIX_TEXT)
    r = requests.post(server.removesuffix("/v1") + "/infill", timeout=120,
                      json={"input_prefix": FIM_PREFIX_TEXT, "input_suffix": FIM_SUFFIX_TEXT, "n_predict": 8,
                            "temperature": 0.0, "repeat_penalty": 1.0,
                            "input_extra": [{"filename": "b.go", "text": "package main\n"}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["content"] == want and body["stop"] is True
    assert body["tokens_evaluated"] == prompt_tokens  # the three sentinels are one token each


def test_server_fills_a_middle_for_an_openai_completion_with_suffix(server, infill_truth):
    want, prompt_tokens = infill_truth(FIM_PREFIX_TEXT, FIM_SUFFIX_TEXT)
    c = client(server)
    reply = c.completions.create(model=c.models.list().data[0].id, prompt=FIM_PREFIX_TEXT, suffix=FIM_SUFFIX_TEXT,
                                 max_tokens=8, temperature=0.0, extra_body=GREEDY)
    assert reply.choices[0].text == want
    assert reply.usage.prompt_tokens == prompt_tokens


def test_server_refuses_a_malformed_infill_with_400_and_keeps_serving(server, greedy):
    import requests
    r = requests.post(server.removesuffix("/v1") + "/infill", json={"input_prefix": 3}, timeout=30)
    assert r.status_code == 400 and "input_prefix" in r.json()["error"]["message"]
    c = client(server)
    reply = c.completions.create(model=c.models.list().data[0].id, prompt=PROMPT, max_tokens=8, temperature=0.0,
                                 extra_body=GREEDY)
    assert reply.choices[0].text == greedy(PROMPT)
