# make          -> report/submission.pdf (sets up .venv and TeX Live on first use)
# make figures  -> rerun every notebook in figures_src/ (figures and numbers), no LaTeX
# make test     -> the test suite (builds and reads back the real PDF)
# make bench    -> build speed and memory against measured floors (about a minute)
# make watch    -> rebuild whenever a template, notebook or report.toml is saved
# make clean    -> remove everything the build made under report/
#
# Flow: figures_src/ex*.py --(pipeline/notebook.py)--> report/results/*.json + report/figures/*.pdf
#       results --(pipeline/listing.py)--> report/code/*.pdf (the code, typeset apart)
#       results + code + templates/ + report.toml --(build.py)--> report/submission.pdf

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTHON_READY := $(VENV)/.installed
TEX_READY := report/.tex-ready
FORMAT_MADE := report/build/.format-made

NOTEBOOKS := $(wildcard figures_src/ex*.py)
RESULTS := $(NOTEBOOKS:figures_src/%.py=report/results/%.json)

.PHONY: all figures test bench clean watch
.DELETE_ON_ERROR:
# Independent steps (the notebooks; the preamble format and the LaTeX) run side by side,
# one per core (not `nproc`, which would obey the OMP_NUM_THREADS=1 exported below).
# A sub-make (make figures) shares its parent's job slots instead.
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += --jobs=$(shell getconf _NPROCESSORS_ONLN)
endif
# One BLAS thread per notebook: sums in a fixed order give the same round-off digits
# on every run, and the notebooks already run in parallel.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

all: report/submission.pdf $(FORMAT_MADE)

# Debian's Python needs python3-venv for `-m venv`; as root we install it and retry.
INSTALL_VENV_SUPPORT = { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && rm -rf $(VENV) \
	&& apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }

$(PYTHON_READY): requirements.txt
	@echo "[setup] creating $(VENV) from requirements.txt"
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || $(INSTALL_VENV_SUPPORT) || { \
		echo "error: '$(PYTHON) -m venv' failed; on Debian: sudo apt-get install python3-venv" >&2; exit 1; }
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(TEX_READY): debian-packages.txt pipeline/tex_setup.py
	@$(PYTHON) pipeline/tex_setup.py $@

# One notebook -> its results file (numbers, formulas, cells) and its figures.
# The .d files written beside the results list the figures_src/ modules each imported.
report/results/%.json: figures_src/%.py pipeline/notebook.py $(PYTHON_READY)
	@$(PY) -m pipeline.notebook $<

-include $(wildcard report/results/*.d)

# The notebook's code and output, typeset apart: report/code/<name>-code.pdf (+ <name>.json,
# its page map); the colour macros of the highlighting come from pipeline/listing.py.
CODE_STYLE := report/results/code-style.tex
CODE_PAGES := $(NOTEBOOKS:figures_src/%.py=report/code/%-code.pdf)
$(CODE_STYLE): pipeline/listing.py $(PYTHON_READY)
	@mkdir -p $(@D)
	@$(PY) -m pipeline.listing style $@.partial && mv $@.partial $@

report/code/%-code.pdf: report/results/%.json $(CODE_STYLE) templates/standalone/code-pages.tex \
		figures_src/page.py pipeline/listing.py pipeline/render.py pipeline/texify.py $(TEX_READY)
	@mkdir -p $(@D)
	@$(PY) -m pipeline.listing pages $<

# The preamble, dumped into a format that compiles load in one step (pipeline/preamble.py).
# The PDF does not wait for it: a compile uses the format only if it matches the preamble.
$(FORMAT_MADE): templates/preamble.tex figures_src/page.py pipeline/preamble.py pipeline/render.py \
		pipeline/texify.py $(PYTHON_READY) $(TEX_READY)
	@mkdir -p $(@D)
	@$(PY) -m pipeline.preamble

report/submission.pdf: $(RESULTS) $(CODE_PAGES) $(wildcard templates/*.tex) report.toml \
		build.py $(wildcard pipeline/*.py) figures_src/page.py $(PYTHON_READY) $(TEX_READY)
	@$(PY) build.py

# Without report.toml there is nothing to make it from: build.py says what to do.
report.toml:
	@$(PY) build.py

# -W marks each notebook as just edited, so exactly the notebooks rerun.
figures: $(PYTHON_READY)
	@$(MAKE) --no-print-directory $(addprefix -W ,$(NOTEBOOKS)) $(RESULTS)

test: $(PYTHON_READY) $(TEX_READY)
	@$(PY) -m pytest -q tests

bench: $(PYTHON_READY) $(TEX_READY)
	@$(PY) benchmarks/build_speed.py

watch: $(PYTHON_READY)
	@$(PY) -m pipeline.watch

clean:
	@find report -mindepth 1 ! -name .gitignore -delete
