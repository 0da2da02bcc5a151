"""Hostile extracts (issue 15): numbers whose reading depends on a convention, the manifest read like
data, one file per table, and every loader error path ending in one DataError (never another
exception). The corpus in tests/fixtures holds one extract per case; these tests vary the details.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

from cohort_builder import default_rows, write_rows
from msc_sle import DataError, DataWarning, load_cohort
from msc_sle.contract import Cohort, write_cohort

FIXTURES = Path(__file__).parent / "fixtures"


def extract(folder: Path, *, delimiter=",", dose=None, manifest=None) -> Path:
    """Three patients; the first visit's prednisone cell written as ``dose``."""
    patients, visits = default_rows(3)
    if isinstance(manifest, dict) and manifest.get("decimal", "," if manifest.get("thousands") == "." else ".") == ",":
        for row in patients + visits:  # the other numbers follow the declared convention too
            for key in ("cyc_induction_dose_g", "prednisone_mg"):
                if key in row:
                    row[key] = row[key].replace(".", ",")
    if dose is not None:
        visits[0]["prednisone_mg"] = dose
    write_rows(folder, "patients.csv", patients, delimiter=delimiter)
    write_rows(folder, "visits.csv", visits, delimiter=delimiter)
    if manifest is not None:
        (folder / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    return folder


def first_dose(folder: Path) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        cohort = load_cohort(folder)
    return float(cohort.visits.loc[(cohort.visits["patient_id"] == "P001") & (cohort.visits["month"] == 0),
                                   "prednisone_mg"].iloc[0])


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        load_cohort(folder)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("delimiter, cell, value", [
    (",", "7.5", 7.5), (",", "0.125", 0.125), (",", "999.5", 999.5), (",", "1.1250", 1.125), (",", "20 mg", 20),
    (";", "7,5", 7.5), (";", "7.5", 7.5), (";", "0,125", 0.125), ("\t", "7.5", 7.5),
])
def test_numbers_with_one_reading_are_read(tmp_path, delimiter, cell, value):
    assert first_dose(extract(tmp_path, delimiter=delimiter, dose=cell)) == value


@pytest.mark.parametrize("delimiter, cell, rule", [
    (",", "1.000", "ambiguous thousands separator: 1 with '.' as decimal mark or 1000"),
    (";", "1.000", "ambiguous thousands separator: 1 with '.' as decimal mark or 1000"),
    ("\t", "12.500", "ambiguous thousands separator: 12.5 with '.' as decimal mark or 12500"),
    (";", "1,000", "ambiguous thousands separator: 1 with ',' as decimal mark or 1000"),
    (";", "1.000.000", "ambiguous thousands separator: 1000000 with '.' as thousands separator"),
    (",", "7,5", "ambiguous decimal comma in a comma-delimited file"),
    ("\t", "7,5", "ambiguous decimal comma in a tab-delimited file"),
    (";", "1.000,5", "ambiguous number: both '.' and ','"),
    (";", "1 000", "digits grouped with spaces"),
])
def test_a_number_whose_reading_depends_on_a_convention_is_refused(tmp_path, delimiter, cell, rule):
    found = problems_of(extract(tmp_path, delimiter=delimiter, dose=cell))
    assert any(rule in p and "row 2, column 'prednisone_mg'" in p and "manifest.json" in p for p in found), found


@pytest.mark.parametrize("delimiter, manifest, cell, value", [
    (";", {"decimal": ",", "thousands": "."}, "1.000", 1000), (";", {"decimal": ",", "thousands": "."}, "7,5", 7.5),
    (";", {"decimal": ","}, "1,5", 1.5), (",", {"decimal": "."}, "1.000", 1.0),
    (",", {"decimal": ".", "thousands": ","}, "1,000.0", 1000), (";", {"thousands": " "}, "1 000", 1000),
    (";", {"decimal": ",", "thousands": " "}, "1\u00a0000,0", 1000), ("\t", {"decimal": ","}, "7,5", 7.5),
])
def test_a_declared_convention_decides(tmp_path, delimiter, manifest, cell, value):
    assert math.isclose(first_dose(extract(tmp_path, delimiter=delimiter, dose=cell, manifest=manifest)), value)


@pytest.mark.parametrize("manifest, cell", [({"decimal": ",", "thousands": "."}, "1.5"),
                                            ({"decimal": ","}, "7.5"), ({"decimal": "."}, "1,000")])
def test_a_value_against_the_declared_convention_is_refused(tmp_path, manifest, cell):
    found = problems_of(extract(tmp_path, delimiter=";", dose=cell, manifest=manifest))
    assert any("not a number in the declared convention" in p for p in found), found


def test_the_declaring_manifest_is_part_of_the_fingerprint(tmp_path):
    a = load_cohort(extract(tmp_path / "a", delimiter=";", dose="7,5", manifest={"decimal": ","}))
    b = load_cohort(extract(tmp_path / "b", delimiter=";", dose="7,5", manifest={"decimal": ",", "thousands": "."}))
    assert a.fingerprint != b.fingerprint
    assert load_cohort(extract(tmp_path / "c")).fingerprint == load_cohort(
        extract(tmp_path / "d", manifest={"synthetic": False})).fingerprint  # no convention: tables only


@pytest.mark.parametrize("flag, synthetic", [(True, True), (False, False), ("false", False), ("FALSE", False),
                                             ("no", False), ("0", False), (0, False), ("yes", True), ("Y", True),
                                             (1, True)])
def test_the_synthetic_flag_follows_the_yes_no_rules(tmp_path, flag, synthetic):
    assert load_cohort(extract(tmp_path, manifest={"synthetic": flag})).synthetic is synthetic


@pytest.mark.parametrize("manifest, fragment", [
    ('{"synthetic": "false",}', "manifest.json, row 1: not valid JSON"),
    ('["synthetic"]', "manifest.json: must be a JSON object"),
    ({"synthetic": "maybe"}, "manifest.json, row 1, key 'synthetic': value 'maybe': not a yes/no value"),
    ({"synthetic": 2}, "key 'synthetic': value 2: not a yes/no value"),
    ({"decimal": ",", "thousands": ","}, "key 'thousands': value ',': the thousands separator must differ"),
    ({"Synthetic": True}, "key 'Synthetic': unknown key (known keys: synthetic, decimal, thousands"),
    ({"seed": "12"}, "key 'seed': value '12': not a whole number"),
    (b"\xff\xfe{}", "manifest.json: not a UTF-8 text file"),
])
def test_a_bad_manifest_is_one_clear_message(tmp_path, manifest, fragment):
    folder = extract(tmp_path)
    if isinstance(manifest, bytes):
        (folder / "manifest.json").write_bytes(manifest)
    else:
        (folder / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    assert any(fragment in p for p in problems_of(folder)), problems_of(folder)


def test_the_bundled_manifest_is_valid_and_synthetic():
    assert load_cohort().synthetic is True


def test_writer_output_has_one_reading(tmp_path):
    patients, visits = default_rows(2)
    extract(tmp_path / "src")
    cohort = load_cohort(tmp_path / "src")
    visits = cohort.visits.copy()
    visits["prednisone_mg"] = [1.125, 12.5, 123.456, 999.125, 0.125] * (len(visits) // 5)
    write_cohort(Cohort(cohort.patients, visits), tmp_path / "out")
    text = (tmp_path / "out" / "visits.csv").read_text()
    assert ",1.1250," in text and ",123.4560," in text and ",999.1250," in text and ",12.5," in text
    back = load_cohort(tmp_path / "out")
    assert back.visits["prednisone_mg"].tolist() == visits["prednisone_mg"].tolist()


def test_one_workbook_can_be_given_as_the_extract_itself():
    workbook = FIXTURES / "one_workbook_both_sheets" / "extract.xlsx"
    cohort, base = load_cohort(workbook), load_cohort(FIXTURES / "base")
    pd.testing.assert_frame_equal(cohort.patients, base.patients)
    assert cohort.raw_files == (str(workbook.resolve()),)


def test_a_workbook_and_a_named_file_for_the_same_table_are_two_candidates(tmp_path):
    folder = extract(tmp_path)
    patients, visits = default_rows(3)
    with pd.ExcelWriter(folder / "export.xlsx") as xl:
        pd.DataFrame(visits).to_excel(xl, sheet_name="visits", index=False)
    found = problems_of(folder)
    assert any("visits.csv, export.xlsx [sheet visits]: 2 files hold the visits table" in p for p in found), found


@pytest.mark.parametrize("content", [b"", b"\n\n   \n", b"\x00\x01\x02" * 100, "é".encode("utf-16"),
                                     b"patient_id\n\"P001\n" + b"x" * 200_000, b"a;b\n1;2\n", b"\r\r\r"])
def test_any_patients_file_ends_in_a_data_error(tmp_path, content):
    folder = extract(tmp_path)
    (folder / "patients.csv").write_bytes(content)
    assert problems_of(folder)  # a DataError, never another exception


def test_a_data_warning_points_at_the_callers_line_never_at_the_library():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_cohort(FIXTURES / "distinctive_ids_every_warning")
    data = [w for w in caught if issubclass(w.category, DataWarning)]
    assert len(data) == 3 and {Path(w.filename).name for w in data} == {Path(__file__).name}


# --------------------------------------------------------------------------- issue 22: hostile input
def mapped_cyc(folder: Path, cells: list[str]) -> Path:
    """Three patients whose CYC induction dose is written in mg, in a column mapping.yml converts to g."""
    patients, visits = default_rows(3)
    for row, cell in zip(patients, cells):
        del row["cyc_induction_dose_g"]
        row["CYC_MG"] = cell
    write_rows(folder, "patients.csv", patients)
    write_rows(folder, "visits.csv", visits)
    (folder / "mapping.yml").write_text("patients:\n  columns:\n    cyc_induction_dose_g: {column: CYC_MG, unit: mg}\n")
    return folder


def test_a_mapped_unit_is_read_by_the_same_rules_and_messages_show_the_files_text(tmp_path):
    # '1.200' mg: 1.2 or 1200? Refused as without a mapping, and the message shows '1.200', not 0.0012
    found = problems_of(mapped_cyc(tmp_path / "a", ["1.200", "1200", "800"]))
    assert len(found) == 1 and "row 2, column 'cyc_induction_dose_g': value '1.200': ambiguous thousands" in found[0]
    # out of range once converted: the file's 12000 (mg), the dictionary's range (g), the mapping's line
    found = problems_of(mapped_cyc(tmp_path / "b", ["12000", "1200", "800"]))
    assert len(found) == 1 and "value '12000': outside the allowed range 0.1-5 g once converted (x0.001)" in found[0]
    assert "[mapping.yml line 3]" in found[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        cohort = load_cohort(mapped_cyc(tmp_path / "c", ["1200", "1500", "800"]))
    assert cohort.patients["cyc_induction_dose_g"].tolist() == [1.2, 1.5, 0.8]


@pytest.mark.parametrize("cell, value", [("٢٠", 20.0), ("２０", 20.0), ("７．５", 7.5), ("۱۵ mg", 15.0), ("２０ ｍｇ", 20.0)])
def test_digits_of_another_script_are_read_as_the_same_number_with_a_note(tmp_path, cell, value):
    folder = extract(tmp_path, dose=cell)
    assert first_dose(folder) == value  # never missing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        notes = load_cohort(folder).notes
    assert any("'prednisone_mg' had 1 value(s) written with non-ASCII digits" in n for n in notes), notes


@pytest.mark.parametrize("cell", ["٢٠¹", "2⁰", "２,０", "½"])
def test_a_non_ascii_cell_that_is_not_a_number_is_refused_never_missing(tmp_path, cell):
    found = problems_of(extract(tmp_path, dose=cell))
    assert len(found) == 1 and "column 'prednisone_mg'" in found[0] and repr(cell) in found[0], found


@pytest.mark.parametrize("invisible", ["\u200b", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u202e"])
def test_an_invisible_character_in_a_patient_id_is_refused(tmp_path, invisible):
    patients, visits = default_rows(2)
    patients[1]["patient_id"] = "P00" + invisible + "1"
    write_rows(tmp_path, "patients.csv", patients)
    write_rows(tmp_path, "visits.csv", [v for v in visits if v["patient_id"] == "P001"])
    found = problems_of(tmp_path)
    assert any("row 3, column 'patient_id'" in p and f"U+{ord(invisible):04X}" in p for p in found), found


def test_dates_outside_the_span_are_one_message_from_an_spss_file_too(tmp_path):
    import datetime as dt

    import pyreadstat

    patients, visits = default_rows(3)
    write_rows(tmp_path, "visits.csv", visits)
    frame = pd.DataFrame(patients)
    for column in frame.columns:
        if column not in ("patient_id", "sex", "msc_source", "ln_class", "first_infusion_date"):
            frame[column] = pd.to_numeric(frame[column])
    frame["first_infusion_date"] = [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2010, 5, 3)]
    pyreadstat.write_sav(frame, str(tmp_path / "patients.sav"))
    found = problems_of(tmp_path)
    assert found == ["patients.sav, row 1, column 'first_infusion_date': value '0001-01-01': date before 2000-01-01",
                     "patients.sav, row 2, column 'first_infusion_date': value '9999-12-31': date is in the future"]


@pytest.mark.parametrize("case", ["mapping_alias_bomb", "mapping_alias_to_itself"])
def test_an_alias_bomb_is_refused_before_anything_is_expanded(case, monkeypatch):
    """Bounded work, not a timing: the mapping is refused from the parser's events up to the first
    alias, and no YAML node or Python object (where 9^10 strings would be built) is ever made."""
    import yaml

    from msc_sle.contract import mapping

    def never(*_args, **_kwargs):
        raise AssertionError("the mapping was expanded")

    for name in ("compose", "compose_all", "load", "safe_load", "full_load", "unsafe_load"):
        monkeypatch.setattr(yaml, name, never)
    monkeypatch.setattr(mapping, "_nodes", never)
    parse, seen = yaml.parse, []

    def counted(text, *args, **kwargs):
        for event in parse(text, *args, **kwargs):
            seen.append(event)
            yield event

    monkeypatch.setattr(yaml, "parse", counted)
    folder = Path(__file__).parent / "fixtures" / case
    problems: list = []
    assert mapping.read_mapping(folder, problems) is None
    (problem,) = problems
    assert problem.file == "mapping.yml" and "an alias" in problem.rule and "is not allowed" in problem.rule
    # the events read stop at the first alias: a few per line of the file above it
    assert isinstance(seen[-1], yaml.AliasEvent) and len(seen) <= 10 * problem.row
