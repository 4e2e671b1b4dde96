# Two entry points for a new machine: `make demo` and `make test`. Each makes .venv if needed and
# installs the Debian packages its features use when it can (root); otherwise it says what is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench corpus folk evaluate clean deps-demo deps-test

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# apt-get install $(1) when root; else one line naming what to install and what degrades ($(2)).
define debs
	@if dpkg -s $(1) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing $(1) with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	   apt-get install -y -qq --no-install-recommends $(1) >/dev/null) \
	  || echo "apt-get failed: $(2)"; \
	else echo "not root: install $(1) (sudo apt-get install $(1)); until then $(2)"; fi
endef

deps-demo:      # FluidSynth renders .wav with a real SoundFont
	$(call debs,libfluidsynth3,audio falls back to sine synthesis)

deps-test:      # ... and Chromium runs the audition page's browser test
	$(call debs,libfluidsynth3 chromium,audio falls back to sine synthesis and the browser test is skipped)

demo: deps-demo $(VENV)/.installed
	$(PY) generate.py --chords "C G Am F" --bars 16 --out out/song.mid --num-samples 3 --wav --png
	$(PY) generate.py --chords "A: C G Am F; B: F G | C C" --form AABA --out out/aaba.mid --wav --png
	$(PY) generate.py --style folk --chords "D G A D" --meter 6/8 --bars 16 --out out/jig.mid --wav --png
	$(PY) generate.py --style folk --chords "A: G C D G; B: Em C D G" --form AABB --meter 3/4 --out out/waltz.mid --wav --png
	$(PY) -m musicgan audition out/

test: deps-test $(VENV)/.installed
	$(PY) -m pytest -q --durations=15   # and the 15 slowest tests: the suite should stay near 10 minutes

bench: $(VENV)/.installed   # speed, share of the machine, scaling: one table, bench/results.json (QUICK=1: < 2 min)
	$(PY) -m bench $(if $(QUICK),--quick)

corpus: $(VENV)/.installed
	$(PY) -m musicgan corpus --out data/chorales

folk: data/folk/.complete.json   # the 12,518 folk tunes from music21's ABC (about 2 min; not committed)

data/folk/.complete.json: | $(VENV)/.installed
	$(PY) -m musicgan corpus --source folk --out data/folk

evaluate: $(VENV)/.installed data/folk/.complete.json   # judge both shipped models again (their evaluation.json)
	$(PY) -m musicgan evaluate --models models/chorales --data data/chorales --typed
	$(PY) -m musicgan evaluate --models models/folk --data data/folk --typed

clean:
	rm -rf $(VENV) data/cache .pytest_cache
