# heron — developer entry points. `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench clean venv

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/heron index .demo-index --input data/demo/corpus.jsonl.gz --overwrite
	$(BIN)/heron search .demo-index "$${Q:-how do birds navigate during migration}" -k 5
	@echo ""
	@echo "Serving the demo index at http://127.0.0.1:8000 (Perplexity-compatible POST /search; Ctrl-C stops)."
	@echo "Web UI: http://127.0.0.1:8000/ (status: /admin). Try:"
	@echo "  curl -s http://127.0.0.1:8000/search -H 'content-type: application/json' \\"
	@echo "       -d '{\"query\": \"how do birds navigate during migration\", \"max_results\": 3}'"
	@echo ""
	$(BIN)/heron serve --index demo=.demo-index --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .demo-index build dist src/*.egg-info
