"""The headless runner: parameters and data checked before any notebook runs, one readable error,
atomic output folders, provenance in every page, raw input never modified.

Most tests use two tiny notebooks (one kernel start each) so they stay fast; one test runs the full
workbook on the bundled data (marked slow).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from cohort_builder import write_extract
from msc_sle.contract import BUNDLED_DATA
from msc_sle.clinical import load_cohort
from msc_sle.workbook.notebook import RECORD_MIMETYPE
from msc_sle.workbook.params import PARAMETERS, check_parameters
from msc_sle.tools.runner import MARKER, REPO_ROOT, RunError, main, run_workbook

PY = sys.executable


def _checksums(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _notebook(path: Path, body: str, params: str = "overrides = {}\n") -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"),
                nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, str(path))


OK_BODY = """
from msc_sle.workbook.notebook import RECORD_MIMETYPE
from msc_sle.workbook.params import PARAMETERS, check_parameters
from msc_sle.workbook.notebook import open_cohort, save_table, record
params = check_parameters(**overrides)
cohort = open_cohort(params)
save_table(cohort.patients[["sex"]].value_counts().rename("n").reset_index(), "sex", params["out_dir"])
record("reproduction_score", "7 of 9")
"""


@pytest.fixture()
def tiny(tmp_path):
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _notebook(nbdir / "ok.ipynb", OK_BODY)
    _notebook(nbdir / "boom.ipynb", "raise ValueError('the third cell broke')")
    return nbdir


@pytest.fixture()
def data_copy(tmp_path):
    """A small valid extract (6 patients, every scheduled visit), built by hand for the tests."""
    return write_extract(tmp_path / "extract", n_patients=6)


def _previous_out(out: Path) -> dict:
    out.mkdir()
    (out / MARKER).write_text("previous run\n")
    (out / "index.html").write_text("<p>previous</p>")
    return _checksums(out)


def test_success_builds_the_bundle_atomically(tiny, data_copy, tmp_path):
    out = tmp_path / "out"
    before_out = _previous_out(out)
    before_data = _checksums(data_copy)
    result = run_workbook(dict(check_parameters(data_dir=str(data_copy))), out, jobs=1, notebooks=("ok",),
                          notebooks_dir=tiny, progress=lambda _msg: None)
    assert _checksums(data_copy) == before_data  # raw input never modified
    assert _checksums(out) != before_out
    for rel in ("index.html", "provenance.json", MARKER, "notebooks/ok.ipynb", "html/ok.html",
                "html/ok.clinical.html", "tables/sex.csv", "tables/sex.xlsx"):
        assert (out / rel).is_file(), rel
    fingerprint = load_cohort(data_copy).fingerprint
    for page in ("html/ok.html", "html/ok.clinical.html"):
        text = (out / page).read_text(encoding="utf-8")
        assert fingerprint in text and "Provenance" in text and "Workbook commit" in text and "pandas" in text
    assert "import msc_sle" not in (out / "html/ok.clinical.html").read_text(encoding="utf-8").replace(
        "msc_sle.tools.runner", "")  # code hidden for clinicians
    nb = nbformat.read(str(out / "notebooks/ok.ipynb"), as_version=4)
    assert nb.metadata["msc_sle"]["data_fingerprint"] == fingerprint
    assert result.records["reproduction_score"] == "7 of 9"
    assert "7 of 9" in (out / "index.html").read_text(encoding="utf-8")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no build/old leftovers


def test_failing_notebook_leaves_previous_out_intact(tiny, data_copy, tmp_path):
    out = tmp_path / "out"
    before = _previous_out(out)
    with pytest.raises(RunError) as err:
        run_workbook(dict(check_parameters(data_dir=str(data_copy))), out, jobs=2, notebooks=("ok", "boom"),
                     notebooks_dir=tiny, progress=lambda _msg: None)
    assert "boom" in str(err.value) and "ValueError: the third cell broke" in str(err.value)
    assert _checksums(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no partial build left


def test_out_not_written_by_the_runner_is_refused(tiny, tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.docx").write_text("precious")
    with pytest.raises(RunError, match="was not written by 'make run'"):
        run_workbook(dict(check_parameters()), out, notebooks=("ok",), notebooks_dir=tiny,
                     progress=lambda _msg: None)
    assert (out / "chapter1.docx").read_text() == "precious"


def test_out_inside_data_is_refused(tiny, data_copy):
    with pytest.raises(RunError, match="overlaps DATA"):
        run_workbook(dict(check_parameters(data_dir=str(data_copy))), data_copy / "reports",
                     notebooks=("ok",), notebooks_dir=tiny, progress=lambda _msg: None)


def test_bad_parameter_is_one_message_and_nothing_runs(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["run", f"OUT={out}", "JOBS=2", "OUTCOME=remission"])
    err = capsys.readouterr().err
    assert status == 2 and "outcome (OUTCOME) = 'remission'" in err and "cr | lda" in err
    assert "Traceback" not in err and not out.exists()
    status = main(["run", f"OUT={out}", "ALPH=0.01"])
    err = capsys.readouterr().err
    assert status == 2 and "unknown parameter(s): ALPH" in err and "ALPHA" in err and not out.exists()


def test_bad_extract_is_one_message_with_every_problem(tmp_path, capsys, data_copy):
    patients = data_copy / "patients.csv"
    lines = patients.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    age = header.index("age_years")
    row = lines[1].split(",")
    row[age] = "two hundred"
    lines[1] = ",".join(row)
    lines.append(lines[2])  # a duplicated patient
    patients.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = _checksums(data_copy)
    out = tmp_path / "out"
    status = main(["run", f"DATA={data_copy}", f"OUT={out}"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert "age_years" in err and "two hundred" in err and "patient_id" in err  # both problems, together
    assert _checksums(data_copy) == before and not out.exists()


def test_cli_lists_parameters_and_rejects_bad_jobs(capsys):
    assert main(["run", "LIST_PARAMS=1"]) == 0
    text = capsys.readouterr().out
    assert "LDA_PREDNISONE_MAX" in text and "OUTCOME" in text
    assert main(["run", "JOBS=zero"]) == 2
    assert "JOBS='zero'" in capsys.readouterr().err
    assert main(["refresh", "OUTCOME=lda"]) == 2


def test_command_line_exit_status_without_traceback(tmp_path):
    # the real entry point, as make calls it
    proc = subprocess.run([PY, "-m", "msc_sle.tools.runner", "run", f"OUT={tmp_path / 'o'}", "DECIMALS=ten"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 2
    assert "decimals (DECIMALS) = 'ten'" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_full_workbook_on_the_bundled_data(tmp_path):
    """make run end to end: every notebook, both HTML versions, tables, figures, index, score."""
    before = _checksums(BUNDLED_DATA)
    out = tmp_path / "reports"
    proc = subprocess.run([PY, "-m", "msc_sle.tools.runner", "run", f"DATA={BUNDLED_DATA}", f"OUT={out}", "JOBS=2"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from msc_sle.tools.runner import NOTEBOOKS
    assert "Reproduction score:" in proc.stdout and f"[{len(NOTEBOOKS)}/{len(NOTEBOOKS)}]" in proc.stdout
    assert _checksums(BUNDLED_DATA) == before
    fingerprint = load_cohort().fingerprint
    for name in NOTEBOOKS:
        for page in (f"html/{name}.html", f"html/{name}.clinical.html"):
            assert fingerprint in (out / page).read_text(encoding="utf-8")
        assert (out / "notebooks" / f"{name}.ipynb").is_file()
    tables = {p.name for p in (out / "tables").iterdir()}
    for stem in ("attrition", "table1_baseline", "table2_cr", "response_rates", "reproduction", "paper_audit",
                 "model_cr", "model_sensitivity"):
        assert {f"{stem}.csv", f"{stem}.xlsx"} <= tables, stem
    assert {"model_cr.docx", "model_sensitivity.docx"} <= tables
    figures = {p.name for p in (out / "figures").iterdir()}
    for stem in ("consort_flow", "figure1_sledai_over_time", "response_rates", "cumulative_response", "forest_cr",
                 "calibration_cr", "time_to_cr", "trajectories_cr"):
        assert {f"{stem}.png", f"{stem}.svg"} <= figures, stem
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" in index and "html/05_explore.clinical.html" in index
    provenance = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["data_fingerprint"] == fingerprint and provenance["synthetic"] is True


def test_share_bundle_has_reports_only_and_says_so(tiny, data_copy, tmp_path):
    out = tmp_path / "shared"
    run_workbook(dict(check_parameters(data_dir=str(data_copy), small_cell_min=5)), out, jobs=1,
                 share=True, notebooks=("ok",), notebooks_dir=tiny, progress=lambda _msg: None)
    assert (out / "html/ok.clinical.html").is_file() and not (out / "html/ok.html").exists()
    assert not (out / "notebooks").exists()
    page = (out / "html/ok.clinical.html").read_text(encoding="utf-8")
    assert "counts below 5 shown as" in page
    assert "(shared bundle)" in (out / "index.html").read_text(encoding="utf-8")


#: The parameters several pages share: each must reach every page that shows what it changes.
SHARED = {"lda_sledai_max": 5, "lda_prednisone_max": 10.0, "cr_sledai_max": 1, "cr_prednisone_max": 2.5,
          "prednisone_cut": 15.0}


@pytest.mark.slow
def test_every_page_of_a_run_applies_the_same_thresholds(tmp_path):
    """make run LDA_PREDNISONE_MAX=10 (and every other shared parameter changed at once): Table 1,
    the response rates, Table 2, the explorer's headline and the reproduction all count the same
    LDA and CR responders, and Table 1 and Table 2 split prednisone at the same cut."""
    from msc_sle.clinical import analysis_frame, apply_eligibility, classify_response
    from msc_sle.tools.runner import NOTEBOOKS

    params = check_parameters(**SHARED)
    assert all(params[k] != PARAMETERS[k].default for k in SHARED), "each shared parameter must differ here"
    out = tmp_path / "reports"
    run_workbook(dict(params), out, jobs=2, progress=lambda _m: None)
    cohort = apply_eligibility(load_cohort()).cohort
    expected = {"LDA": int(classify_response(cohort, params.lda()).patients["ever"].sum()),
                "CR": int(classify_response(cohort, params.cr()).patients["ever"].sum())}
    tables = out / "tables"
    t1 = pd.read_csv(tables / "table1_baseline.csv").set_index("variable")
    assert int(t1.loc["lda_ever", "all_count"]) == expected["LDA"]
    assert int(t1.loc["cr_ever", "all_count"]) == expected["CR"]
    rates = pd.read_csv(tables / "response_rates.csv")
    during = rates[rates["when"] == "during the year"].set_index("response")["n"]
    assert {k.split(" [")[0]: int(v) for k, v in during.items()} == expected
    t2 = pd.read_csv(tables / "table2_cr.csv")
    assert int(t2["g1_n"].iloc[0]) == expected["CR"]
    repro = pd.read_csv(tables / "reproduction.csv", keep_default_na=False)
    for variable, name in (("lda_ever", "LDA"), ("cr_ever", "CR")):
        rows = repro[(repro["variable"] == variable) & (repro["statistic"] == "n") & (repro["group"] == "all")]
        assert len(rows) and set(rows["computed"].astype(float)) == {float(expected[name])}
    explore = nbformat.read(str(out / "notebooks" / "05_explore.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in explore.cells for o in c.get("outputs", []))
    assert f"LDA during the year: {expected['LDA']}/" in text and f"CR during the year: {expected['CR']}/" in text
    # the prednisone split at 15 mg/day in both tables
    frame = analysis_frame(cohort, params.definitions(), prednisone_cut=params["prednisone_cut"])
    low = int((frame["prednisone_dose_group"] == "<15").sum())
    assert int(t1[t1["level"] == "<15"]["all_count"].iloc[0]) == low
    split = t2[t2["variable"] == "prednisone_dose_group"].set_index("level")
    assert int(split.loc["<15", "g1_count"]) + int(split.loc["<15", "g2_count"]) == low
    for name in NOTEBOOKS:
        nb = nbformat.read(str(out / "notebooks" / f"{name}.ipynb"), as_version=4)
        record = next(o["data"][RECORD_MIMETYPE]["value"] for c in nb.cells for o in c.get("outputs", [])
                      if RECORD_MIMETYPE in o.get("data", {}) and o["data"][RECORD_MIMETYPE]["name"] == "provenance")
        for k, v in SHARED.items():
            assert record["parameters"][k] == v, (name, k)
