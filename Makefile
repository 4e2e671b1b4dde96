# Two entry points for a new machine: `make demo` and `make test`. Each makes .venv if needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test prepare corpus clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m musicgan prepare --data data

test: $(VENV)/.installed
	$(PY) -m pytest -q

corpus: $(VENV)/.installed
	$(PY) -m musicgan corpus --out data/chorales

clean:
	rm -rf $(VENV) data/cache .pytest_cache
