# The two commands that matter: `make demo` and `make test`. Both set up .venv first.
PY      := .venv/bin/python
PIP     := .venv/bin/pip
STAMP   := .venv/.installed
LAKE    ?= data
CKPT    ?= runs/tiny-cpu/checkpoints/final.ckpt
EXPORT  ?= $(LAKE)/artifacts/exports/tiny-cpu
# the demo model's tokenizer and training time (chosen by bench/demo_trials.py --timed: 4k beat 8k in 5 minutes)
VOCAB   ?= 4000
TRAIN_TIME ?= 00:00:05:00

.PHONY: setup test test-fast demo clean

setup: $(STAMP)

# torch first and pinned: its CPU wheel is on local disk; an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

test: setup
	bash .ci/services
	$(PY) -m pytest -q -ra

test-fast: setup
	$(PY) -m pytest -q -ra -m "not slow"

# Go toolchain source -> lake -> samples -> tokenizer -> shards -> tiny model -> evaluation -> GGUF -> served completion.
demo: setup
	$(PY) -m lake init --lake $(LAKE)
	$(PY) -m ingest goroot --lake $(LAKE)
	$(PY) -m lake sql "SELECT r.repo_id, r.license, count(f.path) AS files FROM repos r LEFT JOIN files f USING (repo_id) GROUP BY ALL ORDER BY files DESC" --lake $(LAKE)
	$(PY) -m transforms run --lake $(LAKE)
	$(PY) -m transforms funnel --lake $(LAKE)
	$(PY) -m transforms audit --lake $(LAKE)
	$(PY) -m transforms tokenizer --vocab-size $(VOCAB) --sample-bytes 20000000 --lake $(LAKE)
	$(PY) -m transforms pack --seq-len 512 --lake $(LAKE)
	$(PY) -m trainers.fit --config trainers/configs/tiny-cpu.yaml --data.lake $(LAKE) --trainer.max_time $(TRAIN_TIME)
	$(PY) -m evaluation run $(CKPT) --suite all --limit 20 --lake $(LAKE) --report $(LAKE)/artifacts/reports/demo
	$(PY) -m exporters hf --ckpt $(CKPT) --out $(EXPORT)/hf --lake $(LAKE)
	$(PY) -m exporters gguf --hf $(EXPORT)/hf --out $(EXPORT)/gguf/model-f16.gguf --type f16
	$(PY) -m exporters gguf --hf $(EXPORT)/hf --out $(EXPORT)/gguf/model-q8_0.gguf --type q8_0
	$(PY) -m exporters serve --gguf $(EXPORT)/gguf/model-q8_0.gguf --smoke 'package main' --smoke-path main.go --smoke-held-out --max-tokens 64 --lake $(LAKE)
	$(PY) -m lake index --category NAT --limit 200 --lake $(LAKE)
	$(PY) -m lake search "how to parse a Go module file" --k 3 --mode hybrid --lake $(LAKE)
	$(PY) -m lake tables --lake $(LAKE)
	$(PY) -m lake sql "SELECT command, status, rows_written, round(epoch(ended_at - started_at), 1) AS seconds, snapshot_id FROM runs ORDER BY started_at" --lake $(LAKE)
	$(PY) -m lake sql "SELECT system, metric, category, round(value, 3) AS value, n FROM evals WHERE suite = 'lm' AND metric = 'bits_per_byte' ORDER BY category, value" --lake $(LAKE)
	$(PY) -m lake sql "SELECT suite, metric, category, round(value, 3) AS value, n FROM evals WHERE suite = 'fim' AND eval_run = (SELECT eval_run FROM evals WHERE suite = 'fim' ORDER BY created_at DESC LIMIT 1) ORDER BY category, metric" --lake $(LAKE)

clean:
	rm -rf $(LAKE) runs/tiny-cpu
