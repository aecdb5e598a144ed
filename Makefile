# Two commands on a fresh machine: `make play` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: play demo test bench bench-ui bench-analytics clean

# scenarios/ and assets/ are installed as the data packages sim._shipped.*
# (pyproject.toml), so setuptools serves this editable install through an
# import hook and says so in an information-only note ("Editable
# installation. ... folders ... with the same name as your package") that pip
# repeats as a warning. The filter hides exactly that note; any other warning
# still shows.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PYTHONWARNINGS='ignore:Editable installation:UserWarning' $(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

play: $(STAMP)
	$(PY) -m sim play

# Every scene of a scripted game as PNGs in screenshots/ (headless).
demo: $(STAMP)
	SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy $(PY) -m sim demo --screenshots screenshots

test: $(STAMP)
	SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy $(PY) -m pytest -q -n 2

bench: $(STAMP)
	$(PY) benchmarks/engine.py

bench-ui: $(STAMP)
	SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy $(PY) benchmarks/ui.py

# lifetimes is a benchmark-only extra, installed here and never at run time.
bench-analytics: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) benchmarks/analytics.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
