# Two entry points for a new machine: `make demo` and `make test`. Each makes .venv if needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test prepare corpus clean deps-audio
AUDIO_DEBS := libfluidsynth3 chromium

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m musicgan prepare --data data

# FluidSynth for .wav rendering and Chromium for the browser test; both optional (sine synthesis, skip).
deps-audio:
	@if dpkg -s $(AUDIO_DEBS) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing $(AUDIO_DEBS) with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	   apt-get install -y -qq --no-install-recommends $(AUDIO_DEBS) >/dev/null) \
	  || echo "deps-audio: apt-get failed; audio falls back to sine synthesis, the browser test is skipped"; \
	else echo "deps-audio: install $(AUDIO_DEBS) (sudo apt-get install $(AUDIO_DEBS)); until then audio" \
	  "falls back to sine synthesis and the browser test is skipped"; fi

test: deps-audio $(VENV)/.installed
	$(PY) -m pytest -q

corpus: $(VENV)/.installed
	$(PY) -m musicgan corpus --out data/chorales

clean:
	rm -rf $(VENV) data/cache .pytest_cache
