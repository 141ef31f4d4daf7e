# The two commands that matter: `make demo` and `make test`. Both set up .venv first.
PY      := .venv/bin/python
PIP     := .venv/bin/pip
STAMP   := .venv/.installed
LAKE    ?= data

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
	$(PY) -m transforms tokenizer --vocab-size 8000 --sample-bytes 20000000 --lake $(LAKE)
	$(PY) -m transforms pack --seq-len 512 --lake $(LAKE)
	$(PY) -m lake tables --lake $(LAKE)

clean:
	rm -rf $(LAKE)
