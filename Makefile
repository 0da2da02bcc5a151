# MSC-SLE workbook. `make help` lists the targets; README.md explains them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Input extract (a folder with patients + visits, CSV or XLSX) and output folder.
DATA ?= data/synthetic
OUT  ?= reports
# Notebooks run in parallel where they are independent; 1 = strictly sequential.
JOBS ?= 2

# make share writes its own folder unless OUT is given, so it never replaces the full report.
SHARE_OUT := $(if $(filter command line,$(origin OUT)),$(OUT),reports-share)

# Every command-line assignment (DATA=..., OUTCOME=lda, ALPHA=0.01, ...) is handed to the runner,
# which maps it to a notebook parameter and rejects names it does not know (papermill only warns).
EXTRA_ARGS := $(filter-out DATA=% OUT=% JOBS=%,$(MAKEOVERRIDES))
RUN_ARGS   := DATA=$(DATA) OUT=$(OUT) JOBS=$(JOBS) $(EXTRA_ARGS)
SHARE_ARGS := DATA=$(DATA) OUT=$(SHARE_OUT) JOBS=$(JOBS) $(EXTRA_ARGS)

.PHONY: help run test lab bench data notebooks share clean distclean

help: ## List the targets and the variables they read
	@echo "MSC-SLE workbook (Wen et al. 2019 re-analysis). Targets:"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## (.*)/  make \1\t\2/' | expand -t 22
	@echo
	@echo "Variables: DATA=<dir> (default $(DATA))  OUT=<dir> (default $(OUT))  JOBS=<n> (default $(JOBS))"
	@echo "Notebook parameters as NAME=value, e.g. OUTCOME=lda ALPHA=0.01 DECIMALS=2;"
	@echo "'make run LIST_PARAMS=1' lists them all with their defaults."

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned environment into $(VENV) (first run only)..."
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

run: $(STAMP) ## Run every notebook headlessly on DATA; executed notebooks, HTML, tables, figures land in OUT
	@$(PY) -m msc_sle.runner run $(RUN_ARGS)

test: $(STAMP) ## Unit, property, data and browser tests, then nbval over the stored notebooks
	$(PY) -m pytest -p no:cacheprovider -n 2 tests
	$(PY) -m pytest -p no:cacheprovider --nbval notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

lab: $(STAMP) ## Open JupyterLab on the workbook
	$(PY) -m jupyter lab --notebook-dir=.

bench: $(STAMP) ## Benchmarks: rules and comparison engine at registry scale, make run vs its floor, widget latency
	$(PY) bench/run_all.py

data: $(STAMP) ## Regenerate the bundled SYNTHETIC cohort in data/synthetic (seeded, byte-identical)
	$(PY) -m msc_sle.synthetic --out data/synthetic

notebooks: $(STAMP) ## Re-execute the stored notebooks in place on the bundled data (refresh nbval outputs)
	@$(PY) -m msc_sle.runner refresh

share: $(STAMP) ## Rendered bundle for outside the care team: counts below SHARE_MIN (default 5) shown as "<5"; OUT defaults to reports-share
	@$(PY) -m msc_sle.runner share $(SHARE_ARGS)

clean: ## Remove reports/ and caches (keeps .venv)
	rm -rf $(OUT) reports reports-share .pytest_cache .hypothesis .bench
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
