# MSC-SLE workbook. `make help` lists the targets; README.md explains them and every variable.

# Command-line assignments (DATA=..., OUT=..., JOBS=2, OUTCOME=lda, ...) are data, not code. Only the
# names below are accepted; any other (SHELL, .SHELLFLAGS, BASH_ENV, PYTHONPATH, RUNNER, ...) stops make
# here, while the Makefile is read, before any recipe or program runs: make exports every command-line
# variable to the recipes' environment, where a shell or Python would act on it (a BASH_ENV script, a
# sitecustomize.py on PYTHONPATH). Values are kept exactly as typed (never expanded by make) and reach
# the runner in one variable, MSC_SLE_MAKE_ARGS, one NAME=value a line, never as variables of their own;
# no recipe below mentions a value, so none ever reaches a shell. The runner maps the names to notebook
# parameters and holds every default (DATA, OUT, JOBS included), so a default is written once.
# PYTHON alone stays exported as itself: it is the interpreter the $(STAMP) recipe creates .venv with.
# make-names: the workbook's parameters and runner options; tests/test_params.py keeps this line true
override MAKE_NAMES := DATA OUT OUTCOME PREDICTORS N_BOOTSTRAP SEED FIGURE_MAX_PATIENTS MODEL_MAX_PATIENTS LDA_SLEDAI_MAX LDA_PREDNISONE_MAX CR_SLEDAI_MAX CR_PREDNISONE_MAX PREDNISONE_CUT TEST_RULE ALPHA DECIMALS SMALL_CELL_MIN SHARE_SUPPRESS_ZERO JOBS LIST_PARAMS SHARE_MIN FRESH PYTHON
override MAKE_VARS := $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
override REFUSED := $(filter-out $(MAKE_NAMES),$(MAKE_VARS))
$(if $(REFUSED),$(error the workbook did not run: $(REFUSED) on the command line is not a workbook variable \
  (the variables are $(MAKE_NAMES); names are upper case; 'make run LIST_PARAMS=1' explains each)))
override define NEWLINE


endef
$(foreach v,$(MAKE_VARS),$(if $(findstring $(NEWLINE),$(value $(v))),\
  $(error the workbook did not run: the value of $(v) holds a line break)))
unexport $(filter-out PYTHON,$(MAKE_VARS))
override export MSC_SLE_MAKE_ARGS := $(foreach v,$(filter-out PYTHON,$(MAKE_VARS)),$(v)=$(value $(v))$(NEWLINE))
override SHELL := /bin/bash
override .SHELLFLAGS := -c
override .DEFAULT_GOAL := help

# The workbook's own paths; not settable from the command line (they are spliced into recipes).
override VENV  := .venv
override PY    := $(VENV)/bin/python
override STAMP := $(VENV)/.installed
override RUNNER := $(PY) -m msc_sle.tools.runner
# The vantage6 algorithm's own environment (its lock conflicts with the core's; README "Multi-centre").
override FED_VENV  := .venv-federated
override FED_STAMP := $(FED_VENV)/.installed

.PHONY: help run test lab bench data notebooks share mapping review multicentre mutants clean distclean

help: ## List the targets (README.md: every variable and notebook parameter)
	@echo "MSC-SLE workbook (Wen et al. 2019 re-analysis). Targets:"
	@grep -E '^[a-z]+:.*## ' Makefile | sed -E 's/^([a-z]+):.*## (.*)/  make \1\t\2/' | expand -t 22
	@echo
	@echo "Variables: DATA=<dir> (default data/synthetic)  OUT=<dir> (default reports)  JOBS=<n> (default 2)"
	@echo "FRESH=1: execute every notebook (make run reuses the pages whose data, parameters and code are unchanged)"
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

$(FED_STAMP): requirements-federated.txt
	@test -x $(FED_VENV)/bin/python || "$${PYTHON:-python3}" -m venv $(FED_VENV)
	@echo "Installing the vantage6 algorithm's environment into $(FED_VENV) (first use only)..."
	$(FED_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-federated.txt
	@touch $(FED_STAMP)

run: $(STAMP) $(FED_STAMP) ## Run every notebook headlessly on DATA; executed notebooks, HTML, tables, figures land in OUT
	@$(RUNNER) run --from-make

test: $(STAMP) $(FED_STAMP) ## Unit, property, data and browser tests, then nbval over the stored notebooks
	$(PY) -m pytest -p no:cacheprovider -n 2 tests
	$(PY) -m pytest -p no:cacheprovider --nbval notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

lab: $(STAMP) ## Open JupyterLab on the first notebook (adds --allow-root only when run as root)
	@$(PY) -m msc_sle.tools.lab

bench: $(STAMP) ## Benchmarks: import time, make run vs its floor, rules and engine at registry scale, widgets
	$(PY) bench/run_all.py

mutants: $(STAMP) ## Mutation testing (mutmut) of the rule modules, in a temporary copy: survivors, killed % (JOBS=1|2)
	$(PY) tests/mutants.py

data: $(STAMP) ## Regenerate the bundled SYNTHETIC cohort in data/synthetic (seeded, byte-identical)
	$(PY) -m msc_sle.tools.synthetic --out data/synthetic

notebooks: $(STAMP) $(FED_STAMP) ## Re-execute the stored notebooks in place on the bundled data (refresh nbval outputs)
	@$(RUNNER) refresh

share: $(STAMP) ## Rendered bundle for outside the care team, small counts suppressed; OUT defaults to reports-share
	@$(RUNNER) share --from-make

multicentre: $(STAMP) $(FED_STAMP) ## Split DATA into three simulated centres, run the vantage6 algorithm over them (MockAlgorithmClient), render 08 into OUT
	@$(RUNNER) multicentre --from-make

mapping: $(STAMP) ## Draft DATA/mapping.yml for an extract in the centre's own names (never overwrites one)
	@$(PY) -m msc_sle.tools.draft --from-make

review: $(STAMP) ## Every report page, figure and DOCX page of the bundle in OUT as PNG, and a contact sheet (OUT/review/)
	@$(PY) -m msc_sle.tools.review --from-make

clean: ## Remove the default output folders (reports/, reports-share/), run leftovers and caches (keeps .venv)
	rm -rf reports reports-share .msc_sle-work .pytest_cache .hypothesis .bench
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV) $(FED_VENV)
