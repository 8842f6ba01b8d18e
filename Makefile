# Two commands for a fresh machine: `make demo` runs the main job, `make test` runs every test.
# Both create and fill the local virtual environment .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet

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
	$(PIP) -e '.[torch,plot,demo,dev,keras,jax,lightning,bench]'
	touch $@

demo: $(VENV)/.demo
	$(VENV)/bin/cyclr demo $(ARGS)

test: $(VENV)/.test
	$(PY) -m pytest $(ARGS)

lint: $(VENV)/.test
	$(VENV)/bin/ruff check src tests benchmarks examples conftest.py

clean:
	rm -rf $(VENV) build dist
