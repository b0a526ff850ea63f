# make          build report/submission.pdf (sets up .venv and TeX Live on first use)
# make figures  rerun every notebook in figures_src/ (figures and numbers), no LaTeX
# make test     build if needed, then run the tests on real PDFs (TESTS=path picks some)
# make bench    build speed and memory against floors measured in the same run
# make mutants  mutation testing: the core's tests and the sheet's tests against changed code and values
# make new-sheet DEST=../sheet2   start the next sheet: this engine, a starter exercise
# make update-sheet DEST=../sheet1   bring this engine into an older sheet (a git repository)
# make watch    rebuild on every save of a template, notebook or report.toml
# make clean    remove everything the build made under report/
# make help     this list
#
# Make sets the machine up; build.py builds. It decides what to rerun by the content of
# every file each step read (not by timestamps), runs one build at a time per checkout,
# and replaces report/submission.pdf only when a build succeeds. So every target here is
# phony: make never deletes or judges the PDF itself.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The pinned packages: the build's (requirements.txt) and the tests' and tools' (requirements-dev.txt).
LOCKS := requirements.txt requirements-dev.txt
TESTS ?= tests
# Test workers (pytest-xdist): the tests wait on make, TeX and sleeps much of the time, so
# one more worker than the 2 cores this project runs on keeps both busy.
TEST_WORKERS ?= 3

.PHONY: all figures test bench mutants clean watch help setup new-sheet update-sheet

all: setup
	@$(PY) build.py

figures: setup
	@$(PY) build.py --figures

test: setup
	@$(PY) -m pytest -q -n $(TEST_WORKERS) --durations=5 $(TESTS)

bench: setup
	@$(PY) benchmarks/build_speed.py

mutants: setup
	@$(PY) -m pipeline.mutants

new-sheet: setup
	@$(PY) -m pipeline.new_sheet "$(DEST)"

update-sheet: setup
	@$(PY) -m pipeline.update_sheet "$(DEST)"

watch: setup
	@$(PY) -m pipeline.watch

clean:
	@$(PYTHON) build.py --clean

help:
	@grep '^# make' $(firstword $(MAKEFILE_LIST)) | cut -c3-

# .venv is current while it was made by the Python that $(PYTHON) names now (its path,
# symlinks resolved, is kept in .venv/made-by) from these $(LOCKS) (their text is
# kept in .venv/requirements.txt), and finds the project's code through project-root.pth;
# otherwise it is made anew, with a line saying why. project-root.pth names the project relative to
# .venv, so a copied, moved or linked checkout imports its own code, never another's.
# TeX Live and the PDF tools come from Debian (pipeline/tex_setup.py installs what is
# missing); report/.tex-ready is a copy of debian-packages.txt as it was last found installed.
setup:
	@{ [ "$$(cat $(VENV)/made-by 2>/dev/null)" = "$$(readlink -f "$$(command -v $(PYTHON))")" ] \
		&& cat $(LOCKS) | cmp -s - $(VENV)/requirements.txt && compgen -G "$(ROOT_PTH)" >/dev/null; } \
		|| $(MAKE_VENV); \
	cmp -s debian-packages.txt report/.tex-ready 2>/dev/null || $(PYTHON) -m pipeline.tex_setup

# Debian's Python needs python3-venv for `-m venv`; as root we install it and retry.
INSTALL_VENV_SUPPORT = { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && rm -rf $(VENV) \
	&& apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }

ROOT_PTH = $(VENV)/lib/python*/site-packages/project-root.pth

MAKE_VENV = { \
	if [ ! -d $(VENV) ]; then echo "[setup] creating $(VENV) from requirements.txt"; \
	elif ! compgen -G "$(ROOT_PTH)" >/dev/null; then echo "[setup] $(VENV) imports the project's code from \
	another folder (a copied or moved checkout, or an older setup); making it anew"; \
	else echo "[setup] $(VENV) was made by another Python or from another requirements.txt; making it anew"; fi; \
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
		|| { echo "error: $(PYTHON) is not Python 3.11 or newer; run make PYTHON=python3.11" >&2; exit 1; }; \
	rm -rf $(VENV); \
	$(PYTHON) -m venv $(VENV) 2>/dev/null || $(INSTALL_VENV_SUPPORT) \
		|| { echo "error: '$(PYTHON) -m venv' failed; on Debian: sudo apt-get install python3-venv" >&2; exit 1; }; \
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt || exit 1; \
	$(PY) -c 'import os, sysconfig; site = sysconfig.get_path("purelib"); \
		open(os.path.join(site, "project-root.pth"), "w").write(os.path.relpath(".", site) + "\n")' || exit 1; \
	cat $(LOCKS) > $(VENV)/requirements.txt; \
	readlink -f "$$(command -v $(PYTHON))" > $(VENV)/made-by; }
