"""The notebooks as documents: reading order, structure, paired scripts, short code cells, clean
stored outputs, and no patient-level rows displayed. No kernel is started here (nbval re-executes
the stored notebooks in `make test`)."""
from __future__ import annotations

import ast
import re

import jupytext
import nbformat
import pytest

from msc_sle.tools.runner import NOTEBOOKS, NOTEBOOKS_DIR

#: Longest code cell allowed: anything longer belongs in lib/ with a test.
MAX_CODE_LINES = 15
#: Expressions that are patient-level tables; a cell must not end by displaying one.
PATIENT_LEVEL = re.compile(r"^(frame|cohort\.(patients|visits)|eligibility\.excluded|\w+\.patients|\w+\.visits)"
                           r"(\.(head|tail|sample)\(.*\)|\[.*\])?$")


def _nb(name):
    return nbformat.read(str(NOTEBOOKS_DIR / f"{name}.ipynb"), as_version=4)


def test_notebooks_are_numbered_in_reading_order():
    on_disk = sorted(p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert on_disk == sorted(NOTEBOOKS) and list(NOTEBOOKS) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_structure(name):
    cells = _nb(name).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith(f"# {name[:2]} ")
    assert len(cells[0].source.split()) > 30, "the opening cell must say what the notebook shows"
    assert "parameters" in cells[1].metadata.get("tags", []), "second cell: the parameters"
    setup = cells[2].source if cells[2].cell_type == "code" else cells[3].source
    assert "check_parameters(" in setup and "open_cohort(" in setup, \
        "validate, then load the data with its SYNTHETIC banner and provenance"
    n_markdown = sum(c.cell_type == "markdown" for c in cells)
    n_code = sum(c.cell_type == "code" for c in cells)
    assert n_markdown >= n_code / 2, "each step is explained in markdown"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_code_cells_are_short_calls_into_the_library(name):
    for i, cell in enumerate(_nb(name).cells):
        if cell.cell_type != "code":
            continue
        lines = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        assert len(lines) <= MAX_CODE_LINES, f"{name} cell {i}: {len(lines)} lines; move the logic to lib/"
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defs, f"{name} cell {i} defines functions; they belong in lib/ with a test"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_patient_level_rows_are_displayed(name):
    for i, cell in enumerate(_nb(name).cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        last = ast.parse(cell.source).body[-1]
        if isinstance(last, ast.Expr):
            text = ast.unparse(last.value)
            assert not PATIENT_LEVEL.match(text), f"{name} cell {i} displays patient-level rows: {text}"
        assert "patient_id" not in "".join(
            str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in cell.get("outputs", [])
        ), f"{name} cell {i}: a patient identifier column in the stored output"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_paired_script_matches_the_notebook(name):
    nb = _nb(name)
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    script = jupytext.read(NOTEBOOKS_DIR / f"{name}.py")
    pairs = list(zip([c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])],
                     script.cells, strict=True))
    for a, b in pairs:
        assert (a.cell_type, a.source.strip()) == (b.cell_type, b.source.strip())


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_stored_outputs_are_clean(name):
    nb = _nb(name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("outputs") is not None for c in code)
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), \
        "stored outputs come from one top-to-bottom run (make notebooks)"
    for c in code:
        for out in c.outputs:
            assert out.output_type != "error", f"{name}: a stored error"
            assert not (out.output_type == "stream" and out.name == "stderr"), \
                f"{name}: stderr in a stored output (warnings make nbval brittle): {out.text[:200]}"
    assert "papermill" not in nb.metadata and not any("injected-parameters" in c.metadata.get("tags", [])
                                                      for c in nb.cells)


@pytest.mark.slow
def test_nbval_fails_when_one_descriptor_changes(tmp_path):
    """The regression check can fail: in a copy of the workbook, one SLEDAI descriptor is set on a
    visit that met LDA at month 12, and nbval on 03_response must report changed outputs."""
    import csv
    import shutil
    import subprocess
    import sys

    from msc_sle import apply_eligibility, classify_response, load_cohort
    from msc_sle.tools.runner import REPO_ROOT

    copy = tmp_path / "workbook"
    for part in ("lib", "data"):
        shutil.copytree(REPO_ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (copy / "notebooks").mkdir()
    for name in ("03_response.ipynb", "nbval_sanitize.cfg"):
        shutil.copy(NOTEBOOKS_DIR / name, copy / "notebooks" / name)
    met = classify_response(apply_eligibility(load_cohort()).cohort, "lda").patients
    pid = met.loc[met["met_m12"], "patient_id"].iloc[0]
    visits = copy / "data" / "synthetic" / "visits.csv"
    with open(visits, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    row = next(r for r in rows if r["patient_id"] == pid and r["month"] == "12")
    assert row["proteinuria"] == "0"  # LDA at month 12 means no renal activity
    row["proteinuria"] = "1"  # now a major organ is active: no LDA at month 12
    if row.get("sledai_total"):
        row["sledai_total"] = str(int(row["sledai_total"]) + 4)
    with open(visits, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    env = dict(__import__("os").environ, PYTHONPATH=str(copy / "lib"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval",
                           "notebooks/03_response.ipynb", "--nbval-sanitize-with", "notebooks/nbval_sanitize.cfg",
                           "-rf"], cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0, "nbval passed although a descriptor changed"
    failed = {line.split("::")[1].split(" ")[0] + " " + line.split("::")[1].split(" ")[1]
              for line in proc.stdout.splitlines() if line.startswith("FAILED")}
    code = [c.source for c in _nb("03_response").cells if c.cell_type == "code"]
    rates_cell = next(i for i, src in enumerate(code) if "response_rates(" in src)
    assert "Cell 1" in failed, proc.stdout[-3000:]  # the provenance (data fingerprint)
    assert f"Cell {rates_cell}" in failed, proc.stdout[-3000:]  # the LDA rate at month 12
