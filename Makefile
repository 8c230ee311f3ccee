# The DiT Book: set-up, build and test.
#
#   make book   virtual environment + vendored JS + execute every notebook + build _build/html,
#               with a reveal.js lecture deck (and its PDF) per taught notebook in _build/html/slides/ and a reader
#               notebook per chapter in _build/reader/ (published on the Colab branch)
#   make test   the same, then pytest over tests/ (unit tests, the wheel and two reader notebooks
#               in a Colab-like kernel, every page and deck loaded in headless Chromium)
#
# Both start from nothing: the first run creates $(VENV); later runs reuse it until
# pyproject.toml (or TORCH_VERSION) changes: the set-up stamp is named after their hash.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV ?= .venv
PYTHON ?= python3
# Installed on its own, before the package: a looser torch requirement resolved first
# would pull the newest CUDA build (gigabytes). torchvision/torchaudio are never installed.
TORCH_VERSION ?= 2.13.0
PORT ?= 8000
PYTEST_ARGS ?=

BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip
SETUP_KEY := $(shell { cat pyproject.toml; echo "torch==$(TORCH_VERSION)"; } | sha256sum | cut -c1-16)
SETUP_STAMP := $(VENV)/.dit-book-setup-$(SETUP_KEY)
VENDOR_DIR := book/_static/vendor
VENDOR_STAMP := $(VENDOR_DIR)/MANIFEST.json
SITE := _build/html
# Debian's chromium, for the browser test (tests/test_browser.py); installed by `make browser`.
CHROMIUM ?= chromium

# Used by every notebook run (build and tests), see README "Interactive output that works offline".
export PLOTLY_RENDERER := notebook_connected
# Prefer the kernel spec installed in $(VENV) over any user-level "python3" kernel.
export JUPYTER_PREFER_ENV_PATH := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: ablation latent-bench shapes-guidance checkpoints check-checkpoints judges help setup vendor book slides colab-cells browser test serve clean distclean

help:
	@echo "make book       set up $(VENV), execute every notebook, build $(SITE) (warnings are errors)"
	@echo "make test       set up, build the book, run pytest over tests/ (extra options: PYTEST_ARGS=...)"
	@echo "make serve      serve $(SITE) on http://127.0.0.1:$(PORT)/"
	@echo "make setup      only create/refresh $(VENV)"
	@echo "make vendor     only fetch the JS assets into $(VENDOR_DIR)/ (npm registry)"
	@echo "make slides     (re)write the lecture decks and their PDFs into $(SITE)/slides/ (make book does it too)"
	@echo "make colab-cells  rewrite every notebook's Colab set-up cell, the README's Colab table and dit_book/_repository.py"
	@echo "make browser    install Debian's chromium if it is missing (make test does it)"
	@echo "make clean      remove _build/;  make distclean: also $(VENV) and $(VENDOR_DIR)"

setup: $(SETUP_STAMP)

$(SETUP_STAMP):
	@echo "==> setting up $(VENV) (stamp keyed on pyproject.toml: $(SETUP_KEY))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet "torch==$(TORCH_VERSION)"
	$(PIP) install --quiet -e ".[book,dev]" "torch==$(TORCH_VERSION)"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (The DiT Book)" >/dev/null
	@$(PY) tools/check_env.py "$(TORCH_VERSION)"
	@rm -f $(VENV)/.dit-book-setup-*
	@touch $@

vendor: $(VENDOR_STAMP)

$(VENDOR_STAMP): $(SETUP_STAMP) tools/vendor_assets.py
	$(PY) tools/vendor_assets.py $(VENDOR_DIR)

book: $(VENDOR_STAMP) browser
	@echo "==> executing every notebook and building the site (warnings are errors)"
	$(BIN)/jupyter-book build --all -W --keep-going .
	@echo "==> lecture slides from the executed notebooks, and a PDF of each (headless chromium, offline)"
	$(PY) tools/make_slides.py --site $(SITE)
	CHROMIUM=$(CHROMIUM) $(PY) tools/deck_pdf.py --site $(SITE)
	@echo "==> reader notebooks (MyST as plain Markdown, for Colab and Jupyter) from the executed notebooks"
	$(PY) tools/make_reader.py --build _build
	@# the page's download button serves _sources/: give readers the plain-Markdown notebook there too
	cp -r _build/reader/. $(SITE)/_sources/
	@echo
	@echo "The site is in $(SITE)/ ; open $(abspath $(SITE))/index.html"
	@echo "or serve it with: make serve  (http://127.0.0.1:$(PORT)/)"

# Reuses the notebooks the site build executed (_build/jupyter_execute/) when they are newer
# than the sources; executes the others.
# (After editing markdown cells only: tools/make_slides.py --reuse NAME rebuilds a deck in seconds.)
slides: $(VENDOR_STAMP) browser
	$(PY) tools/make_slides.py --site $(SITE)
	CHROMIUM=$(CHROMIUM) $(PY) tools/deck_pdf.py --site $(SITE)

colab-cells: $(SETUP_STAMP)
	$(PY) tools/colab_cell.py

# CI runs as root on a fresh Debian machine: install chromium from Debian's archive once.
browser:
	@command -v $(CHROMIUM) >/dev/null || { \
	  echo "==> installing Debian's chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-dejavu-core >/dev/null; }
	@$(CHROMIUM) --version

test: book browser
	$(BIN)/lint-imports --no-cache --no-logo   # the layers in pyproject.toml [tool.importlinter]
	$(BIN)/ruff check --no-cache dit_lib dit_book tests tools benchmarks   # [tool.ruff] in pyproject.toml
	$(BIN)/ruff format --check --no-cache tests tools benchmarks   # the packages keep their layout (see pyproject.toml)
	DIT_BROWSER_REQUIRED=1 CHROMIUM=$(CHROMIUM) $(PY) -m pytest --durations=0 --durations-min=0.5 $(PYTEST_ARGS)

serve:
	@test -f $(SITE)/index.html || { echo "no site in $(SITE): run make book first"; exit 1; }
	$(PY) -m http.server --bind 127.0.0.1 --directory $(SITE) $(PORT)

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV) $(VENDOR_DIR)

# The shipped checkpoints (dit_lib/pretrained/*.pt + model cards, and the VAE folder vae_scenes/, trained
# first: the latent DiT scenes_latent is trained on its latents), all trained by our own code.
checkpoints: $(SETUP_STAMP)
	$(PY) -m dit_lib.pretrained.build --all

# Retrain every shipped checkpoint in a temp dir and compare the weights bit for bit.
check-checkpoints: $(SETUP_STAMP)
	$(PY) -m dit_lib.pretrained.build --all --check
	$(PY) -m dit_lib.pretrained.build --judges --check

# The shipped judges (dit_lib/pretrained/judge_*.pth): dit_lib.evaluation.train_judge, seed 0, one thread.
judges: $(SETUP_STAMP)
	$(PY) -m dit_lib.pretrained.build --judges

# Chapter 10's study of guidance on the shapes model (dit_lib/pretrained/shapes_guidance.json), ~5-10 min here.
shapes-guidance: $(SETUP_STAMP)
	$(PY) benchmarks/guidance_colour.py

# Chapter 11's pixel-against-latent comparison (dit_lib/pretrained/latent_vs_pixel.json), ~35 min on one thread.
latent-bench: $(SETUP_STAMP)
	$(PY) benchmarks/latent_vs_pixel.py --retrain

# Chapter 4's conditioning ablation (dit_lib/pretrained/conditioning_ablation.json), ~20 min here.
ablation: $(SETUP_STAMP)
	$(PY) benchmarks/conditioning_ablation.py
