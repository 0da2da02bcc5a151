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
    and a REDCap export (repeating visits; and longitudinal with <form>_complete columns): every table the paper's notebooks print is byte-identical to the CSV run's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = _tables(BUNDLED_DATA, tmp_path / "csv")
        assert {"table1_baseline.csv", "table2_cr.csv", "attrition.csv", "response_rates.csv"} <= set(reference)
        as_exported = lambda folder: fb.write_redcap(folder, events=True, complete=True)  # noqa: E731
        for name, write in (("sav", fb.write_sav), ("dta", fb.write_dta), ("redcap", fb.write_redcap),
                            ("redcap-longitudinal", as_exported)):
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


# --------------------------------------------------------------------------- REDCap as exported (issue 22)
BASE = FIXTURES / "base"


def _cells(path: Path, edits: dict) -> None:
    """Set cells of a REDCap CSV export: {(line, column): text}, a new column added when absent."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    for (line, column), text in edits.items():
        if column not in rows[0]:
            for row in rows:
                row.append(column if row is rows[0] else "")
        rows[line - 1][rows[0].index(column)] = text
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def _declare_codes(folder: Path, codes: str = "NI, No information | UNK, Unknown | ASKU, Asked but unknown") -> None:
    text = (folder / "mapping.yml").read_text()
    (folder / "mapping.yml").write_text(text.replace("  visit_instrument: visits\n",
                                                     f"  visit_instrument: visits\n  missing_codes: '{codes}'\n"))


def test_a_raw_export_with_complete_columns_reads_the_same_as_the_one_without(tmp_path):
    """Every raw export REDCap writes has a <form>_complete column after each form's fields."""
    plain = load_cohort(fb.write_redcap(tmp_path / "plain", source=BASE))
    folder = fb.write_redcap(tmp_path / "complete", source=BASE, complete=True)
    header = (folder / "MSC_DATA.csv").read_text().splitlines()[0].split(",")
    assert {"baseline_complete", "visits_complete"} <= set(header)
    complete = load_cohort(folder)
    pd.testing.assert_frame_equal(complete.patients, plain.patients)
    pd.testing.assert_frame_equal(complete.visits, plain.visits)
    assert any("2 column(s) REDCap adds to an export" in n for n in complete.notes)
    _cells(folder / "MSC_DATA.csv", {(2, "baseline_complete"): "7"})  # not a status REDCap writes
    with pytest.raises(DataError) as err:
        load_cohort(folder)
    (problem,) = err.value.problems
    assert (problem.row, problem.column, problem.value) == (2, "baseline_complete", "7")


def test_a_longitudinal_export_reads_like_the_repeating_instrument_one(tmp_path):
    repeating = load_cohort(fb.write_redcap(tmp_path / "repeating", source=BASE))
    folder = fb.write_redcap(tmp_path / "events", source=BASE, events=True, complete=True)
    assert "redcap_event_name" in (folder / "MSC_DATA.csv").read_text().splitlines()[0]
    events = load_cohort(folder)
    pd.testing.assert_frame_equal(events.patients, repeating.patients)
    pd.testing.assert_frame_equal(events.visits, repeating.visits)
    # without the events listed, one message says what to add
    text = (folder / "mapping.yml").read_text()
    (folder / "mapping.yml").write_text("".join(line for line in text.splitlines(keepends=True)
                                                if "_arm_1:" not in line and "events:" not in line))
    with pytest.raises(DataError) as err:
        load_cohort(folder)
    (problem,) = err.value.problems
    assert problem.column == "redcap_event_name" and "under redcap: events" in problem.rule


def test_a_record_on_a_second_arm_is_one_message_naming_the_arm(tmp_path):
    folder = fb.write_redcap(tmp_path / "arms", source=BASE, events=True, complete=True)
    lines = (folder / "MSC_DATA.csv").read_text().splitlines()
    moved = lines[-1].split(",")[0] + ","
    n_rows = sum(line.startswith(moved) for line in lines)
    (folder / "MSC_DATA.csv").write_text("\n".join(
        line.replace("_arm_1,", "_arm_2,") if line.startswith(moved) else line for line in lines) + "\n")
    with pytest.raises(DataError) as err:
        load_cohort(folder)
    (problem,) = err.value.problems  # not one 'required value missing' per field of the record
    assert problem.value == "baseline_arm_2" and problem.row == len(lines) - n_rows + 1
    assert f"arm 2 (events baseline, month_1, month_3, month_6, month_12; {n_rows} row(s))" in problem.rule


def test_declared_missing_data_codes_are_missing_with_their_reason(tmp_path):
    base = load_cohort(BASE)
    folder = fb.write_redcap(tmp_path / "codes", source=BASE, complete=True)
    lines = (folder / "MSC_DATA.csv").read_text().splitlines()
    header = lines[0].split(",")
    record_lines = [i + 1 for i, line in enumerate(lines)
                    if i and line.split(",")[header.index("redcap_repeat_instrument")] == ""]
    first, second = record_lines[0], record_lines[1]
    _declare_codes(folder)
    _cells(folder / "MSC_DATA.csv", {(first, "cyc_induction_dose_g"): "ASKU",  # an optional field
                                     (first, "antibodies___unk"): "0", (second, "antibodies___unk"): "0"})
    cohort = load_cohort(folder)
    assert pd.isna(cohort.patients.at[0, "cyc_induction_dose_g"]) and base.patients.at[0, "cyc_induction_dose_g"] > 0
    pd.testing.assert_frame_equal(cohort.patients.drop(columns="cyc_induction_dose_g"),
                                  base.patients.drop(columns="cyc_induction_dose_g"))
    assert (first, "cyc_induction_dose_g", "ASKU") in {(p.row, p.column, p.value) for p in cohort.details}
    assert any("1 cell(s) held a REDCap missing-data code, read as missing with its reason "
               "(ASKU Asked but unknown: 1)" in n for n in cohort.notes)
    # a checkbox marked UNK: its choices are missing, not 'absent' (0); they are required, so each
    # is refused with the code named; and a code where a number is required likewise
    _cells(folder / "MSC_DATA.csv", {(second, "antibodies___unk"): "1", (first, "age_years"): "NI"})
    with pytest.raises(DataError) as err:
        load_cohort(folder)
    said = {(p.row, p.column, p.rule) for p in err.value.problems}
    unk = "required value missing (REDCap missing-data code 'UNK' (Unknown))"
    antibodies = ["antinuclear_antibodies", "anti_dsdna", "anti_sm", "anti_ssa", "anti_ssb"]
    assert said == {(second, name, unk) for name in antibodies} | {
        (first, "age_years", "required value missing (REDCap missing-data code 'NI' (No information))")}


def test_missing_codes_and_events_in_the_mapping_are_checked_with_their_line(tmp_path):
    folder = fb.write_redcap(tmp_path / "bad", source=BASE, events=True)
    text = (folder / "mapping.yml").read_text().replace("month_3_arm_1: 3", "month_3_arm_1: three")
    (folder / "mapping.yml").write_text(text + "")
    _declare_codes(folder, "UNK Unknown")  # no comma between code and label
    with pytest.raises(DataError) as err:
        load_cohort(folder)
    said = {(p.column, p.rule.split(",")[0]) for p in err.value.problems}
    assert ("redcap.events.month_3_arm_1", "the month of the event's visit") in said
    assert any(c == "redcap.missing_codes" for c, _ in said)
    assert all(p.file == "mapping.yml" and p.row for p in err.value.problems)


def test_a_patient_field_given_on_two_events_with_two_values_is_refused(tmp_path):
    folder = fb.write_redcap(tmp_path / "twice", source=BASE, events=True)
    lines = (folder / "MSC_DATA.csv").read_text().splitlines()
    event = lines[0].split(",").index("redcap_event_name")
    baseline = next(i + 1 for i, line in enumerate(lines) if line.split(",")[event] == "baseline_arm_1")
    month_1 = next(i + 1 for i, line in enumerate(lines) if line.split(",")[event] == "month_1_arm_1")
    assert lines[baseline - 1].split(",")[0] == lines[month_1 - 1].split(",")[0]  # the same record
    sex = lines[baseline - 1].split(",")[lines[0].split(",").index("sex")]
    _cells(folder / "MSC_DATA.csv", {(month_1, "sex"): "2" if sex == "1" else "1"})
    with pytest.raises(DataError) as err:
        load_cohort(folder)
    (problem,) = err.value.problems
    assert (problem.row, problem.column) == (month_1, "sex")
    assert f"the record's event 'baseline' of arm 1 (line {baseline}) gives '{sex}'" in problem.rule
    _cells(folder / "MSC_DATA.csv", {(month_1, "sex"): sex})  # the same value twice is one value
    pd.testing.assert_frame_equal(load_cohort(folder).patients, load_cohort(BASE).patients)


def test_rows_of_another_repeating_instrument_are_set_aside_with_a_note(tmp_path):
    folder = fb.write_redcap(tmp_path / "other", source=BASE, complete=True)
    path = folder / "MSC_DATA.csv"
    lines = path.read_text().splitlines()
    width = len(lines[0].split(","))
    record = lines[1].split(",")[0]
    extra = [",".join([record, "adverse_events", str(i)] + [""] * (width - 3)) for i in (1, 2)]
    path.write_text("\n".join(lines[:2] + extra + lines[2:]) + "\n")
    cohort = load_cohort(folder)  # not two more patient rows under the same id
    pd.testing.assert_frame_equal(cohort.patients, load_cohort(BASE).patients)
    assert any("2 row(s) of another repeating instrument not read" in n for n in cohort.notes)
