"""The declared parameter table: validation messages, command-line parsing, and agreement with the
notebooks' parameters cells and with the library's response definitions."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from msc_sle.clinical import PREDNISONE_CUT_MG, get_definition, paper_cr, paper_lda
from msc_sle.workbook.params import (PARAMETERS, ParameterError, check_parameters, parameter_help, parse_assignments)
from msc_sle.tools.runner import NOTEBOOKS, NOTEBOOKS_DIR, PARAMETERS_NAME, declared_parameters

RESERVED = ("JOBS", "LIST_PARAMS", "SHARE_MIN")


def test_defaults_are_the_paper_definitions():
    # The table's LDA/CR defaults must be the thresholds the library applies by default
    # (section 2.4: LDA SLEDAI <= 4 and prednisone <= 7.5; CR SLEDAI < 3 and prednisone <= 5).
    p = check_parameters()
    assert (p["lda_sledai_max"], p["lda_prednisone_max"]) == (4, 7.5)
    assert (p["cr_sledai_max"], p["cr_prednisone_max"]) == (2, 5.0)
    assert (paper_lda.sledai_max, paper_lda.prednisone_max) == (p["lda_sledai_max"], p["lda_prednisone_max"])
    assert (paper_cr.sledai_max, paper_cr.prednisone_max) == (p["cr_sledai_max"], p["cr_prednisone_max"])
    assert p["alpha"] == 0.05 and p["outcome"] == "cr" and p["data_dir"] is None


def test_every_outcome_choice_is_a_library_definition():
    for choice in PARAMETERS["outcome"].choices:
        assert get_definition(choice).name  # raises for an unknown name


def test_result_is_read_only_and_complete():
    p = check_parameters(outcome="lda")
    assert set(p) == set(PARAMETERS)
    with pytest.raises(TypeError):
        p["outcome"] = "cr"  # type: ignore[index]


@pytest.mark.parametrize("values, fragment", [
    ({"alpha": 0}, "alpha (ALPHA) = 0: out of range"),          # open lower bound
    ({"alpha": 0.6}, "out of range"),
    ({"alpha": "0.05"}, "expected a number"),                    # no silent coercion from text
    ({"decimals": 1.5}, "expected a whole number"),
    ({"decimals": True}, "expected a number"),                  # a bool is not a count
    ({"lda_prednisone_max": float("nan")}, "finite"),
    ({"outcome": "remission"}, "not one of the choices"),
    ({"data_dir": ""}, "expected a folder path"),
    ({"small_cell_min": -1}, "out of range"),
])
def test_bad_values_are_named(values, fragment):
    with pytest.raises(ParameterError) as err:
        check_parameters(**values)
    message = str(err.value)
    assert fragment in message
    name = next(iter(values))
    assert PARAMETERS[name].allowed() in message  # the message says what is allowed


def test_whole_floats_and_ints_are_accepted_where_exact():
    p = check_parameters(decimals=2.0, lda_prednisone_max=10)
    assert p["decimals"] == 2 and isinstance(p["decimals"], int)
    assert p["lda_prednisone_max"] == 10.0 and isinstance(p["lda_prednisone_max"], float)


def test_unknown_name_lists_valid_parameters():
    with pytest.raises(ParameterError) as err:
        check_parameters(outcom="lda")
    assert "unknown parameter(s): outcom" in str(err.value)
    assert "outcome" in str(err.value) and "lda_prednisone_max" in str(err.value)


def test_cr_looser_than_lda_is_rejected():
    with pytest.raises(ParameterError, match="CR thresholds must not be looser"):
        check_parameters(cr_prednisone_max=10.0)
    check_parameters(cr_prednisone_max=10.0, lda_prednisone_max=10.0)  # equal is allowed


def test_command_line_assignments():
    params, options = parse_assignments(["DATA=x/y", "OUT=r", "JOBS=3", "OUTCOME=lda", "ALPHA=0.01",
                                         "DECIMALS=2", "LDA_PREDNISONE_MAX=10"], reserved=RESERVED)
    assert params["data_dir"] == "x/y" and params["out_dir"] == "r"
    assert params["outcome"] == "lda" and params["alpha"] == 0.01 and params["decimals"] == 2
    assert params["lda_prednisone_max"] == 10.0
    assert options == {"JOBS": "3"}


def test_command_line_errors_are_collected_and_explained():
    with pytest.raises(ParameterError) as err:
        parse_assignments(["FOO=1", "BAR=2", "OUTCOME=lda"], reserved=RESERVED)
    message = str(err.value)
    assert "FOO, BAR" in message and "OUTCOME" in message and "LIST_PARAMS" in message
    with pytest.raises(ParameterError, match="use a dot for decimals"):
        parse_assignments(["ALPHA=0,05"], reserved=RESERVED)
    with pytest.raises(ParameterError, match="expected a whole number"):
        parse_assignments(["DECIMALS=two"], reserved=RESERVED)


def test_help_lists_every_parameter_with_its_default():
    text = parameter_help()
    for p in PARAMETERS.values():
        assert p.make_name in text
    assert "default 7.5 mg/day" in text and "DATA" in text


# --------------------------------------------------------------------------- the notebooks agree

def _notebook_source(name: str):
    return json.loads((NOTEBOOKS_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_takes_the_whole_parameter_set(name):
    """One dict, empty by default: every default lives in the parameter table, and the runner hands
    every notebook the same validated values (so no two pages of a bundle differ in a threshold),
    of the parameters its ``reads`` declares (tests/test_notebook_reads.py)."""
    declared = declared_parameters(NOTEBOOKS_DIR / f"{name}.ipynb")
    assert declared[PARAMETERS_NAME] == {} and set(declared) == {PARAMETERS_NAME, "reads"}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_validation_call_right_after_the_parameters_cell(name):
    nb = _notebook_source(name)
    cells = nb["cells"]
    index = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    following = [c for c in cells[index + 1:] if c["cell_type"] == "code"
                 and "injected-parameters" not in c.get("metadata", {}).get("tags", [])][0]
    tree = ast.parse("".join(following["source"]))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "check_parameters"]
    assert calls, f"{name}: the first code cell after the parameters must call check_parameters"
    assert [ast.unparse(k) for k in calls[0].keywords] == [f"**{PARAMETERS_NAME}"] and not calls[0].args


def test_defaults_are_written_once():
    """The clinical thresholds' defaults are the library's definitions themselves, not copies."""
    for name in ("lda_sledai_max", "lda_prednisone_max", "cr_sledai_max", "cr_prednisone_max", "prednisone_cut"):
        assert PARAMETERS[name].default is not None
    assert PARAMETERS["prednisone_cut"].default == PREDNISONE_CUT_MG
    for name in NOTEBOOKS:  # no notebook restates a default
        text = (NOTEBOOKS_DIR / f"{name}.py").read_text()
        for p in PARAMETERS.values():
            assert not re.search(rf"^{p.name}\s*=", text, flags=re.M), f"{name} assigns {p.name}"


def test_params_object_is_read_only_picklable_and_names_its_definitions():
    import pickle

    p = check_parameters(lda_prednisone_max=10, outcome="lda")
    assert p.lda_prednisone_max == 10.0 and p["outcome"] == "lda"
    with pytest.raises(TypeError):
        p.outcome = "cr"
    assert pickle.loads(pickle.dumps(p)) == p
    assert p.changed() == {"outcome": "lda", "lda_prednisone_max": 10.0}
    assert p.lda().prednisone_max == 10.0 and p.lda().sledai_max == paper_lda.sledai_max
    assert p.cr() == paper_cr and p.outcome_definition() == p.lda()
    assert check_parameters(outcome="lldas").outcome_definition().name == "lldas"


def test_a_bad_value_in_jupyterlab_is_one_short_message():
    """IPython (JupyterLab's kernel) shows the ParameterError's own rendering: the message, no traceback."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    with capture_output() as captured:
        shell.run_cell("from msc_sle.workbook.params import check_parameters\ncheck_parameters(alpha=2)")
    text = captured.stdout + captured.stderr
    assert "ParameterError: parameter alpha (ALPHA) = 2: out of range" in text
    assert "Traceback" not in text and "File " not in text


def test_make_lab_allows_root_only_as_root_and_opens_the_first_notebook():
    from msc_sle.tools.lab import lab_arguments

    assert "--allow-root" in lab_arguments(True) and "--allow-root" not in lab_arguments(False)
    assert lab_arguments(False)[-1].endswith(f"notebooks/{NOTEBOOKS[0]}.ipynb")
    # the server prints its default URL: pasted into a browser it must open the notebook, not the Launcher
    assert f"--LabApp.default_url=/lab/tree/notebooks/{NOTEBOOKS[0]}.ipynb" in lab_arguments(False)


# --------------------------------------------------------------------------- the models stage's parameters

def test_predictors_parse_from_the_command_line_and_from_a_list():
    params, _ = parse_assignments(["PREDICTORS=age_years,arthralgia_arthritis", "N_BOOTSTRAP=200", "SEED=3"],
                                  reserved=RESERVED)
    assert params["predictors"] == "age_years,arthralgia_arthritis"
    assert params["n_bootstrap"] == 200 and params["seed"] == 3
    p = check_parameters(predictors=[" age_years", "prior_cyc "])  # a list in JupyterLab; spaces trimmed
    assert p.predictors == "age_years,prior_cyc" and p.names("predictors") == ("age_years", "prior_cyc")
    assert p.changed() == {"predictors": "age_years,prior_cyc"}
    with pytest.raises(ValueError, match="not a list of names"):
        p.names("outcome")


@pytest.mark.parametrize("value, fragment", [
    ("age_years,foo", "not baseline variable(s): foo"),
    ("sledai_m12", "not baseline variable(s): sledai_m12"),       # measured after treatment
    ("second_infusion", "not baseline variable(s): second_infusion"),  # decided after the first infusion
    ("cr_ever", "not baseline variable(s): cr_ever"),             # an outcome
    ("age_years,,sex", "an empty name"),
    ("age_years,age_years", "named twice: age_years"),
    (",".join(PARAMETERS["predictors"].choices[:9]), "9 names"),
    (3, "expected comma-separated names"),
])
def test_bad_predictors_are_named(value, fragment):
    with pytest.raises(ParameterError) as err:
        check_parameters(predictors=value)
    assert fragment in str(err.value) and PARAMETERS["predictors"].allowed() in str(err.value)


def test_default_predictors_are_baseline_variables_and_the_bootstrap_defaults():
    from msc_sle.clinical import baseline_predictors

    p = check_parameters()
    names = p.names("predictors")
    assert set(names) <= set(baseline_predictors()) and len(names) <= PARAMETERS["predictors"].high
    assert p["n_bootstrap"] == 1000 and isinstance(p["seed"], int)
    for bad in ({"n_bootstrap": -1}, {"n_bootstrap": 10001}, {"seed": -1}, {"seed": 1.5}):
        with pytest.raises(ParameterError):
            check_parameters(**bad)
    assert check_parameters(n_bootstrap=0)["n_bootstrap"] == 0  # apparent performance only


def test_response_definitions_cover_every_outcome_with_this_runs_thresholds():
    from msc_sle.workbook.params import OUTCOMES

    p = check_parameters(cr_prednisone_max=2.5)
    defs = p.response_definitions()
    assert tuple(defs) == OUTCOMES
    assert defs["cr"].prednisone_max == 2.5 and defs["lda"] == paper_lda and defs["lldas"].name == "lldas"


def test_the_makefile_accepts_exactly_the_workbooks_names():
    """make refuses every other command-line name before anything runs (tests/test_runner.py), so its
    list must follow the parameters: a new parameter not added there could not be set by make."""
    from msc_sle.tools.runner import REPO_ROOT, RUNNER_OPTIONS

    line = next(x for x in (REPO_ROOT / "Makefile").read_text().splitlines()
                if x.startswith("override MAKE_NAMES :="))
    listed = line.split(":=", 1)[1].split()
    wanted = {p.make_name for p in PARAMETERS.values()} | set(RUNNER_OPTIONS) | {"PYTHON"}
    assert len(listed) == len(set(listed)) and set(listed) == wanted, (
        f"Makefile MAKE_NAMES: add {sorted(wanted - set(listed))}, remove {sorted(set(listed) - wanted)}")
