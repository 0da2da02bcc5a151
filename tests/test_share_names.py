"""make share prints no column name that is not a variable of the data dictionary (issue 22).

An extract's own headers can say what a column holds ('clinician_notes', 'hiv_status'), and a
mapping names the centre's columns; the loader's notes name them for the care team (make run),
the shared bundle says how many there were instead.
"""
from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from cohort_builder import write_extract
from msc_sle.clinical import apply_eligibility, load_cohort
from msc_sle.tools.runner import run_workbook
from msc_sle.workbook.disclosure import flow_plan, unnamed
from msc_sle.workbook.params import check_parameters

EXTRA, RENAMED = "clinician_notes", "AGE_AT_MSC"


def _extract(folder: Path) -> Path:
    """A small valid extract with an extra column and a column under the centre's own name."""
    write_extract(folder, n_patients=8)
    path = folder / "patients.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[0] = [RENAMED if h == "age_years" else h for h in rows[0]] + [EXTRA]
    for row in rows[1:]:
        row.append("seen in clinic")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    (folder / "mapping.yml").write_text(f"patients:\n  columns:\n    age_years: {RENAMED}\n")
    return folder


def _texts(out: Path):
    """Every file of the bundle as text; an .xlsx/.docx through each member of its zip."""
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if path.suffix in (".xlsx", ".docx"):
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    yield f"{path.name}:{member}", z.read(member).decode("utf-8", "replace")
        else:
            yield path.name, path.read_bytes().decode("utf-8", "replace")


@pytest.mark.filterwarnings("ignore")
def test_notes_name_the_extract_columns_for_the_care_team_only(tmp_path):
    cohort = load_cohort(_extract(tmp_path / "extract"))
    assert {EXTRA, RENAMED} <= set(cohort.extract_names)
    assert not set(cohort.extract_names) & {"patient_id", "age_years", "month"}
    said = [n for n in cohort.notes if EXTRA in n or RENAMED in n]
    assert said, cohort.notes  # the run names them ...
    eligibility = apply_eligibility(cohort)
    run = flow_plan(cohort, eligibility, check_parameters(small_cell_min=1))
    assert [run.text(n) for n in said] == said
    shared = flow_plan(cohort, eligibility, check_parameters(small_cell_min=5))
    shown = [shared.text(n) for n in said]  # ... a shared page counts them
    assert not [n for n in shown if EXTRA in n or RENAMED in n]
    assert any("ignored: [1 column not in the data dictionary]" in n for n in shown)
    assert any("renamed (age_years)" in n for n in shown)


def test_unnamed_replaces_whole_names_and_counts_a_list():
    names = ("clinician_notes", "ward", "Patient ID")
    assert (unnamed("p.csv: unexpected column(s) ignored: clinician_notes, ward", names)
            == "p.csv: unexpected column(s) ignored: [2 columns not in the data dictionary]")
    assert unnamed("('Patient ID' -> 'patient_id')", names) == "('[1 column not in the data dictionary]' -> 'patient_id')"
    assert unnamed("wards, ward.csv, backward", names) == "wards, ward.csv, backward"  # only whole names
    assert unnamed("2 column(s) renamed (patient_id <- ward, age_years <- Patient ID)", names) \
        == "2 column(s) renamed (patient_id, age_years)"


def test_the_share_bundle_prints_no_column_name_outside_the_dictionary(tmp_path, monkeypatch):
    from msc_sle.workbook import disclosure

    # 8 patients are too few to share (rule 8 refuses them); this test reads the names a bundle prints,
    # so the refusal is bypassed as in test_runner's test of where data_issues.csv goes
    monkeypatch.setattr(disclosure, "share_refusal", lambda cohort, params: None)
    data = _extract(tmp_path / "extract")
    out = tmp_path / "shared"
    run_workbook(dict(check_parameters(data_dir=str(data), small_cell_min=5)), out, jobs=1, share=True,
                 notebooks=("01_cohort",), progress=lambda _m: None)
    texts = dict(_texts(out))
    assert any("not in the data dictionary]" in t for t in texts.values())  # the note was printed
    leaked = sorted(name for name, text in texts.items() if EXTRA in text or RENAMED in text)
    assert not leaked
