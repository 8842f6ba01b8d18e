# On a fresh machine: `make demo` runs the main job, `make test` runs every test, `make lint`
# runs ruff (checks and formatting), mypy and the import contracts. Each creates and fills the
# local virtual environment .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet
LINT_PATHS := src tests benchmarks examples conftest.py

.PHONY: demo test lint clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	# The exact pin picks PyTorch's CPU wheel; install it before anything that needs torch.
	$(PIP) torch==2.13.0
	touch $@

$(VENV)/.demo: $(VENV)/.base
	$(PIP) -e '.[torch,plot,demo]'
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PIP) -e '.[torch,plot,demo,dev,keras,jax,lightning,hf,bench]'
	touch $@

demo: $(VENV)/.demo
	$(VENV)/bin/cyclr demo $(ARGS)

test: $(VENV)/.test
	$(PY) -m pytest $(ARGS)

# Every check runs, even after one fails; the target fails if any did.
lint: $(VENV)/.test
	@rc=0; \
	echo "ruff check $(LINT_PATHS)"; $(VENV)/bin/ruff check $(LINT_PATHS) || rc=1; \
	echo "ruff format --check $(LINT_PATHS)"; $(VENV)/bin/ruff format --check $(LINT_PATHS) || rc=1; \
	echo "mypy src/cyclr"; $(VENV)/bin/mypy src/cyclr || rc=1; \
	echo "lint-imports"; $(VENV)/bin/lint-imports --no-cache || rc=1; \
	exit $$rc

clean:
	rm -rf $(VENV) build dist
