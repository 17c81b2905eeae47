# reunion: `make demo` runs the embedded default end to end; `make test` passes the test suite.
# Both create .venv on first use (uv when available, else pip).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo-run

export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache

.PHONY: demo test test-fast env gpu-env clean compile-cuda bench docs

env: $(STAMP)

$(STAMP): pyproject.toml
	@if command -v uv >/dev/null 2>&1; then \
		uv venv -q --allow-existing -p $(PYTHON) $(VENV) && \
		VIRTUAL_ENV=$(CURDIR)/$(VENV) uv pip install -q -e '.[dev]'; \
	else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/pip install -q --upgrade pip && \
		$(BIN)/pip install -q -e '.[dev]'; \
	fi
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/reunion demo --out $(DEMO)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# the unit lane (< 60 s): everything but the tests that run whole flows (marked slow)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not gpu" tests

compile-cuda: $(STAMP)
	$(BIN)/python -m reunion.kernels.compile_check

bench: $(STAMP)
	$(BIN)/reunion bench kernel --device cpu --queries 2000 --references 20000 --loci 24

# the API reference (docs/API.md) from the docstrings: docs/api/index.html (not committed)
DOCS_MODULES := reunion.api reunion.settings reunion.errors reunion.simulate reunion.ingest
DOCS_OUT     ?= docs/api
docs: $(STAMP)
	$(BIN)/python -m pdoc --docformat restructuredtext --no-search -o $(DOCS_OUT) $(DOCS_MODULES)
	@echo "API reference: $(DOCS_OUT)/index.html"

gpu-env: $(STAMP)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) uv pip install -q -e '.[dev,gpu]'

clean:
	rm -rf $(VENV) $(DEMO) .prefect .numba_cache .pytest_cache
