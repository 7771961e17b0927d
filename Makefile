# ResLab: `make lab` opens the course, `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.reslab-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LAB_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: setup data lab test lint clean

setup: $(STAMP) data

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml changes, so a second `make` takes seconds.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# Fashion-MNIST from Debian's dataset-fashion-mnist when it is in none of the usual
# places (reslab.data searches them); elsewhere the notebooks download it through Keras.
data: $(STAMP)
	@if $(PY) -c "from reslab.data import find_fashion_mnist as f; raise SystemExit(f() is None)"; then \
	  echo "Fashion-MNIST: found"; \
	elif command -v apt-get >/dev/null; then \
	  echo "Fashion-MNIST: installing the Debian package dataset-fashion-mnist"; \
	  $(SUDO) apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist >/dev/null; } || \
	  echo "Fashion-MNIST: apt-get failed; the notebooks will try to download it through Keras"; \
	else \
	  echo "Fashion-MNIST: not found and no apt-get; the notebooks will download it through Keras"; \
	fi

lab: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ROOT)

lint: $(STAMP)
	$(VENV)/bin/ruff check reslab tests notebooks benchmarks
	$(VENV)/bin/ruff format --check reslab tests notebooks benchmarks

# Unit tests and every notebook (nbval), in the quick profile.
test: setup lint
	RESLAB_PROFILE=quick $(VENV)/bin/pytest

clean:
	rm -rf build .pytest_cache .ruff_cache
