"""What the evaluation asks of generated text, without a model: how much of it repeats itself, the held-out
prompt of the smoke, and that sampling settings defined once reach every consumer's format."""
from __future__ import annotations

import pytest

from tests.helpers.go_corpus import goroot
from tests.helpers.held_out import HELD, held_out_lake
from evaluation.data import held_out_prompt
from artifacts.errors import ArtifactError
from artifacts.repetition import repeated_lines, repeated_ngrams, repetition
from artifacts.sampling import DEFAULT, GREEDY

# What the demo's 5-minute model answered to `package main` (issue 25), and a loop of a whole block
DEGENERATE = "package main\n\nimport (\n" + '\t"fmt"\n' * 30
BLOCK_LOOP = "func main() {\n" + "\tx := f(1)\n\tif x > 0 {\n\t\tfmt.Println(x)\n\t}\n" * 12 + "}\n"
# hand-written Go of the toolchain, as people write it: independent of the metric's definition
GOROOT_FILES = ("strings/strings.go", "bufio/bufio.go", "container/list/list.go", "net/http/server.go",
                "go/parser/parser.go", "encoding/json/decode.go", "sort/sort.go", "os/file.go")


@pytest.mark.parametrize("text", [DEGENERATE, BLOCK_LOOP])
def test_repetition_of_a_degenerate_completion_is_near_one(text):
    assert repeated_lines(text) > 0.85
    assert repeated_ngrams(text) > 0.85


@pytest.mark.parametrize("path", GOROOT_FILES)
def test_repetition_of_real_go_code_is_low(path):
    text = (goroot() / "src" / path).read_text()
    shares = repetition(text)
    # real code repeats `return nil` and `if err != nil {`, but a loop would be near 1 in both
    assert shares["repeated_lines"] < 0.35, shares
    assert shares["repeated_ngrams"] < 0.5, shares
    assert repeated_lines(text) < repeated_lines(text + DEGENERATE * 40)


def test_repetition_ignores_indentation_and_lone_brackets():
    assert repeated_lines("\tx++\n    x++\n") == 0.5
    assert repeated_lines("if a {\n}\nif b {\n}\n") == 0.0
    assert repeated_lines("") == repeated_ngrams("") == repeated_ngrams("a b c") == 0.0
    assert repeated_ngrams("a b c d a b c d") == pytest.approx(1 - 4 / 5)


def test_sampling_defaults_reach_every_format_and_greedy_stays_available():
    hf, cpp, ollama = DEFAULT.hf(), DEFAULT.llama_cpp(), DEFAULT.ollama()
    assert hf["do_sample"] and 0 < hf["temperature"] < 1 and hf["top_p"] == cpp["top_p"] == DEFAULT.top_p
    assert cpp["temperature"] == hf["temperature"] and cpp["repeat_penalty"] == hf["repetition_penalty"] > 1
    params = dict(line.split()[1:] for line in ollama)
    assert float(params["temperature"]) == DEFAULT.temperature and float(params["repeat_penalty"]) == \
        DEFAULT.repetition_penalty
    assert GREEDY.greedy and GREEDY.hf() == {"do_sample": False, "repetition_penalty": 1.0}
    assert GREEDY.llama_cpp()["temperature"] == 0.0


def test_held_out_prompt_is_the_head_of_a_test_split_file_from_its_package_clause(lake):
    held = held_out_lake(lake)
    found = held_out_prompt(lake, lines=7)
    assert (found["repo_id"], found["path"]) == (HELD, "ring/ring.go")
    assert found["prompt"].startswith("package ring\n") and found["prompt"].count("\n") == 7
    assert held.index(found["prompt"]) == held.index("package ring\n")  # licence header skipped, nothing else


def test_held_out_prompt_refuses_a_lake_without_a_long_enough_held_out_file(lake):
    held_out_lake(lake)
    with pytest.raises(ArtifactError, match="longer than 100000 lines"):
        held_out_prompt(lake, lines=100_000)
