# ResLab: `make lab` opens the course, `make test` runs every test. Both set themselves up.
# `make book` builds the course website, `make student` the exercise copies for a workshop.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.reslab-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LAB_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
BOOK_DIR ?= build/book
STUDENT_DIR ?= build/student
SLIDES_DIR ?= build/slides
SLIDES_NPM := tools/slides/node_modules/.installed
# The course's own Jupyter settings, in its virtual environment (the learner's are untouched):
# the file browser shows the notebooks, not the website's configuration beside them, and
# JupyterLab does not ask about fetching news on first start.
JUPYTER_SETTINGS := $(VENV)/etc/jupyter/jupyter_server_config.json \
  $(VENV)/share/jupyter/lab/settings/overrides.d/reslab.json

.PHONY: setup data browser lab book student slides prefetch test test-backends \
  test-backends-core lint clean

setup: $(STAMP) data $(JUPYTER_SETTINGS)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml changes, so a second `make` takes seconds.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/etc/jupyter/jupyter_server_config.json: tools/jupyter/jupyter_server_config.json $(STAMP)
	mkdir -p $(@D) && cp $< $@

$(VENV)/share/jupyter/lab/settings/overrides.d/reslab.json: tools/jupyter/lab_overrides.json $(STAMP)
	mkdir -p $(@D) && cp $< $@

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

# Debian's Chromium for the website's browser test (tests/test_book.py); not needed by `lab`.
browser:
	@if command -v chromium >/dev/null; then \
	  echo "Chromium: found"; \
	elif command -v apt-get >/dev/null; then \
	  echo "Chromium: installing the Debian package chromium"; \
	  $(SUDO) apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }; \
	else \
	  echo "Chromium: not found and no apt-get; install Chromium for the website's browser test"; \
	fi

lab: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ROOT)

# The website, from the committed notebooks and their real outputs (nothing is re-run); it
# needs no network, and the pages load nothing from outside the site (MathJax included).
book: $(STAMP)
	$(VENV)/bin/jupyter-book build notebooks --all --quiet --warningiserror --keep-going \
	  --path-output $(BOOK_DIR)
	@echo "The website is in $(BOOK_DIR)/_build/html: open index.html, or publish that folder."

# Exercise copies for a workshop: cells tagged `solution` removed, outputs cleared.
student: $(STAMP)
	$(VENV)/bin/jupyter nbconvert --to notebook --log-level=WARN --output-dir $(STUDENT_DIR) \
	  --TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_cell_tags=solution \
	  --ClearOutputPreprocessor.enabled=True \
	  notebooks/[0-9][0-9]_*.ipynb
	@echo "Exercise notebooks without solutions are in $(STUDENT_DIR)/."

# What the decks load (reveal.js, and the MathJax 2, require.js and jQuery that nbconvert's
# slides template drives it with), from npm once, at the versions in package-lock.json; after
# that `make slides` needs no network. npm comes from Debian where the machine lacks it.
$(SLIDES_NPM): tools/slides/package.json tools/slides/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get install -y -qq npm >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq npm >/dev/null; }; }
	npm ci --prefix tools/slides --silent
	touch $@

# Workshop decks: a reveal.js slide show per notebook (the cells tools/slides.py annotates:
# title, objectives, figures, exercise, summary) and an index; they load nothing from outside
# their folder, so the folder can go on a USB stick.
slides: $(STAMP) $(SLIDES_NPM)
	$(PY) tools/slides.py build $(SLIDES_DIR)
	@echo "The workshop decks are in $(SLIDES_DIR): open index.html in a browser."

# Before a workshop without reliable internet: fetch every dataset and weights file the
# course uses into the caches, then report what is present and what is missing.
prefetch: setup
	$(PY) -m reslab.prefetch

lint: $(STAMP)
	$(VENV)/bin/ruff check reslab tests notebooks benchmarks tools
	$(VENV)/bin/ruff format --check reslab tests notebooks benchmarks tools

# Unit tests and every notebook (nbval), in the quick profile.
test: setup browser lint $(SLIDES_NPM)
	RESLAB_PROFILE=quick $(VENV)/bin/pytest

# The unit tests and every notebook (quick) again under Keras's JAX and PyTorch backends. The
# tests of committed files and built artifacts (results, website, slides, wheel, JupyterLab)
# do not depend on the backend and run once, in `test`. TORCH is the CPU build this machine's
# pip finds on disk; elsewhere use TORCH=torch with PyTorch's CPU index (pyproject.toml).
# About 30 minutes on 2 cores, too long for CI: `.ci/run` runs `test-backends-core`, the tests
# of everything that differs between backends (gradients, checkers, blocks, training and
# fine-tuning, device) and the notebooks that differentiate by hand (01, 03, 09).
TORCH ?= torch==2.13.0
BACKEND_ONCE := test_book test_slides test_lab test_wheel test_claims test_notebook_times
BACKEND_CORE := $(addprefix tests/test_,autodiff.py grads.py grad_cam.py explore.py config.py \
  blocks_models.py checks.py learners.py diagrams.py device.py train.py finetune.py) \
  notebooks/01_vanishing_gradients.ipynb notebooks/03_identity_block.ipynb \
  notebooks/09_inside_resnet.ipynb
BACKEND_TESTS ?= $(foreach t,$(BACKEND_ONCE),--ignore=tests/$(t).py)
test-backends: setup
	$(PY) -m pip install --quiet -e ".[jax]" "$(TORCH)"
	for backend in jax torch; do \
	  KERAS_BACKEND=$$backend RESLAB_PROFILE=quick $(VENV)/bin/pytest -p no:cacheprovider \
	    $(BACKEND_TESTS) || exit 1; \
	done

test-backends-core:
	$(MAKE) test-backends BACKEND_TESTS="$(BACKEND_CORE)"

clean:
	rm -rf build .pytest_cache .ruff_cache
