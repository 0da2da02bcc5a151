"""Extracts held in a statistical package or exported from REDCap (issue 16).

The files are written by the libraries that write those formats (pyreadstat; the csv module for
REDCap's CSV, laid out as REDCap's raw export and data dictionary are documented), never by the
workbook's reader. The broken cases live in the fixture corpus (tests/fixtures/foreign_*,
tests/test_extract_corpus.py); here: user-missing codes, value labels, the draft mapping, and the
whole workbook run on each format printing the same tables as on the CSV files.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

import foreign_builder as fb
from msc_sle.clinical import load_cohort
from msc_sle.contract import BUNDLED_DATA, DataError
from msc_sle.tools import draft
from msc_sle.tools.runner import main, run_workbook
from msc_sle.workbook.params import check_parameters

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def bundled():
    return load_cohort(BUNDLED_DATA)


def test_spss_user_missing_codes_are_missing_never_numbers(tmp_path, bundled):
    folder = fb.write_sav(tmp_path / "sav")
    import pyreadstat

    raw, _ = pyreadstat.read_sav(str(folder / "patients.sav"), user_missing=True)
    n_codes = int((raw["cyc_induction_dose_g"] == fb.USER_MISSING).sum())
    assert n_codes == int(bundled.patients["cyc_induction_dose_g"].isna().sum()) > 0  # the file holds the codes
    cohort = load_cohort(folder)
    assert cohort.patients["cyc_induction_dose_g"].isna().sum() == n_codes
    assert not (cohort.patients["cyc_induction_dose_g"] == fb.USER_MISSING).any()
    assert any(f"{n_codes} cell(s) held a code declared missing in SPSS" in n for n in cohort.notes)
    pd.testing.assert_frame_equal(cohort.patients, bundled.patients)


def test_value_labels_stand_for_levels_without_a_mapping(tmp_path, bundled):
    import pyreadstat

    folder = fb.write_sav(tmp_path / "sav")
    (folder / "mapping.yml").unlink()
    data, _ = pyreadstat.read_sav(str(folder / "patients.sav"), user_missing=True)
    pyreadstat.write_sav(data, folder / "patients.sav", variable_value_labels={"sex": {1: "F", 2: "M"}},
                         missing_ranges={"cyc_induction_dose_g": [fb.USER_MISSING]})
    cohort = load_cohort(folder)
    pd.testing.assert_frame_equal(cohort.patients, bundled.patients)
    assert any("value labels used for sex" in n for n in cohort.notes)


def test_a_labelled_code_in_a_numeric_column_is_not_read_as_a_number(tmp_path):
    import pyreadstat

    folder = fb.write_sav(tmp_path / "sav")
    data, _ = pyreadstat.read_sav(str(folder / "patients.sav"), user_missing=True)
    data.loc[0, "baseline_prednisone_mg"] = 999.0  # labelled "unknown" but not declared missing
    pyreadstat.write_sav(data, folder / "patients.sav",
                         variable_value_labels={"sex": {1: "female", 2: "male"},
                                                "baseline_prednisone_mg": {999: "unknown"}},
                         missing_ranges={"cyc_induction_dose_g": [fb.USER_MISSING]})
    with pytest.raises(DataError) as err:
        load_cohort(folder)
    (problem,) = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == ("patients.sav", 1, "baseline_prednisone_mg", "999")
    assert "labelled 'unknown'" in problem.rule


def test_a_dose_given_as_methylprednisolone_is_converted_to_prednisone(tmp_path, bundled):
    folder = fb.write_dta(tmp_path / "dta")
    import pyreadstat

    data, _ = pyreadstat.read_dta(str(folder / "patients.dta"))
    # 4 mg methylprednisolone = 5 mg prednisone (Buttgereit 2002; the clinical reference table)
    data["MP_MG"] = data.pop("baseline_prednisone_mg") * 4 / 5
    pyreadstat.write_dta(data, folder / "patients.dta")
    text = (folder / "mapping.yml").read_text().replace(
        "    patient_id: PATID\n", "    patient_id: PATID\n    baseline_prednisone_mg: {column: MP_MG, drug: methylprednisolone}\n", 1)
    (folder / "mapping.yml").write_text(text)
    cohort = load_cohort(folder)
    pd.testing.assert_series_equal(cohort.patients["baseline_prednisone_mg"], bundled.patients["baseline_prednisone_mg"])
    assert any("methylprednisolone -> prednisone equivalent, x1.25" in n for n in cohort.notes)


def test_make_mapping_drafts_matches_and_todos_and_never_overwrites(tmp_path, capsys):
    folder = fb.write_dta(tmp_path / "dta")
    (folder / "mapping.yml").unlink()
    assert draft.main([f"DATA={folder}"]) == 0
    text = (folder / "mapping.yml").read_text()
    assert "    sex: sex    # same name" in text
    for name in ("patient_id", "age_years", "cyc_induction_dose_g"):  # held under the centre's names
        assert f"# TODO {name}:" in text
    assert "# not used by the workbook: PATID, AGE_M, CYC_MG" in text
    before = text
    assert draft.main([f"DATA={folder}"]) == 2
    assert "never overwritten" in capsys.readouterr().err
    assert (folder / "mapping.yml").read_text() == before
    with pytest.raises(DataError, match="required column missing"):  # the draft is read, its TODOs still to do
        load_cohort(folder)


def test_a_broken_mapping_is_one_message_no_traceback_nothing_written(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["run", f"DATA={FIXTURES / 'foreign_spss_label_set_does_not_map'}", f"OUT={out}"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert "patients.sav, row 1, column 'sex': value '1': code (label 'woman') not among the mapping's values" in err
    assert "[mapping.yml line 4]" in err
    assert not out.exists() and not (tmp_path / ".msc_sle-work").exists()


TABLE_NOTEBOOKS = ("01_cohort", "02_baseline", "03_response", "04_predictors")


def _tables(data: Path, out: Path) -> dict[str, bytes]:
    run_workbook(dict(check_parameters(data_dir=str(data))), out, jobs=2, notebooks=TABLE_NOTEBOOKS,
                 progress=lambda _m: None)
    return {p.name: p.read_bytes() for p in sorted((out / "tables").glob("*.csv"))}


def test_every_format_prints_the_same_tables_as_the_csv_files(tmp_path):
    """The bundled cohort as .sav (value labels, user-missing codes), .dta (other names, other units)
    and a REDCap export: every table the paper's notebooks print is byte-identical to the CSV run's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = _tables(BUNDLED_DATA, tmp_path / "csv")
        assert {"table1_baseline.csv", "table2_cr.csv", "attrition.csv", "response_rates.csv"} <= set(reference)
        for name, write in (("sav", fb.write_sav), ("dta", fb.write_dta), ("redcap", fb.write_redcap)):
            got = _tables(write(tmp_path / f"extract-{name}"), tmp_path / f"out-{name}")
            differ = sorted(k for k in reference if got.get(k) != reference[k])
            assert set(got) == set(reference) and not differ, f"{name}: {differ}"


def test_sas_transport_files_read_like_the_csv(tmp_path):
    """SAS .xpt (version 8: long names) written by pyreadstat. pyreadstat cannot write .sas7bdat, so
    that reader (the same pyreadstat call path) has no file of its own here."""
    import pyreadstat

    base = load_cohort(FIXTURES / "base")
    folder = tmp_path / "xpt"
    folder.mkdir()
    for table in ("patients", "visits"):
        frame = fb.typed(getattr(base, table))
        pyreadstat.write_xport(frame, folder / f"{table}.xpt", file_format_version=8, table_name=table)
    cohort = load_cohort(folder)
    pd.testing.assert_frame_equal(cohort.patients, base.patients)
    pd.testing.assert_frame_equal(cohort.visits, base.visits)
    assert any("SAS transport file" in n for n in cohort.notes)
