# MSC-SLE workbook. `make help` lists the targets; README.md explains them and every variable.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Command-line assignments (DATA=..., OUT=..., JOBS=2, OUTCOME=lda, ...) are data, not code. Each is
# kept exactly as typed (never expanded by make), handed to the runner through the environment and
# named in MSC_SLE_MAKE_VARS; no recipe below mentions a value, so none ever reaches a shell. The
# runner maps the names to notebook parameters, rejects the ones it does not know and holds every
# default (DATA, OUT, JOBS included), so a default is written once.
MAKE_VARS := $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
$(foreach v,$(MAKE_VARS),$(eval override $(v) := $$(value $(v))))
$(foreach v,$(MAKE_VARS),$(eval export $(v)))
export MSC_SLE_MAKE_VARS := $(MAKE_VARS)

# The workbook's own paths; not settable from the command line (they are spliced into recipes).
override VENV  := .venv
override PY    := $(VENV)/bin/python
override STAMP := $(VENV)/.installed
RUNNER := $(PY) -m msc_sle.tools.runner

.PHONY: help run test lab bench data notebooks share mapping review clean distclean

help: ## List the targets (README.md: every variable and notebook parameter)
	@echo "MSC-SLE workbook (Wen et al. 2019 re-analysis). Targets:"
	@grep -E '^[a-z]+:.*## ' Makefile | sed -E 's/^([a-z]+):.*## (.*)/  make \1\t\2/' | expand -t 22
	@echo
	@echo "Variables: DATA=<dir> (default data/synthetic)  OUT=<dir> (default reports)  JOBS=<n> (default 2)"
	@echo "Notebook parameters as NAME=value, e.g. OUTCOME=lda ALPHA=0.01 DECIMALS=2;"
	@echo "'make run LIST_PARAMS=1' lists them all with their defaults."

# PYTHON (the interpreter that creates .venv, default python3) is read from the environment inside
# double quotes: a path with spaces works and nothing in it is run as code.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || "$${PYTHON:-python3}" -m venv $(VENV)
	@echo "Installing the pinned environment into $(VENV) (first run only)..."
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

run: $(STAMP) ## Run every notebook headlessly on DATA; executed notebooks, HTML, tables, figures land in OUT
	@$(RUNNER) run --from-make

test: $(STAMP) ## Unit, property, data and browser tests, then nbval over the stored notebooks
	$(PY) -m pytest -p no:cacheprovider -n 2 tests
	$(PY) -m pytest -p no:cacheprovider --nbval notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

lab: $(STAMP) ## Open JupyterLab on the first notebook (adds --allow-root only when run as root)
	@$(PY) -m msc_sle.tools.lab

bench: $(STAMP) ## Benchmarks: import time, make run vs its floor, rules and engine at registry scale, widgets
	$(PY) bench/run_all.py

data: $(STAMP) ## Regenerate the bundled SYNTHETIC cohort in data/synthetic (seeded, byte-identical)
	$(PY) -m msc_sle.tools.synthetic --out data/synthetic

notebooks: $(STAMP) ## Re-execute the stored notebooks in place on the bundled data (refresh nbval outputs)
	@$(RUNNER) refresh

share: $(STAMP) ## Rendered bundle for outside the care team, small counts suppressed; OUT defaults to reports-share
	@$(RUNNER) share --from-make

mapping: $(STAMP) ## Draft DATA/mapping.yml for an extract in the centre's own names (never overwrites one)
	@$(PY) -m msc_sle.tools.draft --from-make

review: $(STAMP) ## Every report page, figure and DOCX page of the bundle in OUT as PNG, and a contact sheet (OUT/review/)
	@$(PY) -m msc_sle.tools.review --from-make

clean: ## Remove the default output folders (reports/, reports-share/), run leftovers and caches (keeps .venv)
	rm -rf reports reports-share .msc_sle-work .pytest_cache .hypothesis .bench
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
