# Two commands for a fresh machine: `make demo` runs the main job, `make test` runs every test.
# Both create and fill the local virtual environment .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The exact pin picks PyTorch's CPU wheel; install it before anything that needs torch.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[torch,plot,demo,dev]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/cyclr demo $(ARGS)

test: $(VENV)/.installed
	$(PY) -m pytest $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build dist
