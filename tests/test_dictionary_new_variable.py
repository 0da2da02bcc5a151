"""A variable added to a copy of data/dictionary.csv, and its column to a copy of the bundled
extract, is validated by the loader, labelled, and tabulated in Table 1 and Table 2 with no code
changed: the dictionary is the one place a variable is described."""
from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest

from msc_sle.clinical import analysis_frame, load_cohort
from msc_sle.compare import compare_groups, table_variables
from msc_sle.contract import BUNDLED_DATA, DICTIONARY_PATH, DataError, DataWarning, read_extract
from msc_sle.present.tables import comparison_table, table_one

NEW = ("patients,haemoglobin,Haemoglobin,number,g/L,30-250,no,Clinical and biological symptoms,"
       "mann_whitney,,,,baseline,Haemoglobin at baseline\n")
RESPONDER, OTHER = 100, 140  # g/L: the new column's value for a CR responder and for everyone else


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """(dictionary copy, extract copy): the dictionary with one more patients variable, the bundled
    extract with its column; responders (CR during the year, bundled cohort) read 100 g/L, the others 140."""
    root = tmp_path_factory.mktemp("extended")
    dictionary = root / "dictionary.csv"
    shutil.copy(DICTIONARY_PATH, dictionary)
    with open(dictionary, "a", encoding="utf-8") as f:
        f.write(NEW)
    extract = root / "extract"
    shutil.copytree(BUNDLED_DATA, extract)
    frame = analysis_frame(load_cohort())
    responders = set(frame.loc[frame["cr_ever"].fillna(False).astype(bool), "patient_id"])
    patients = pd.read_csv(extract / "patients.csv", dtype=str, keep_default_na=False)
    patients["haemoglobin"] = [str(RESPONDER if pid in responders else OTHER) for pid in patients["patient_id"]]
    patients.to_csv(extract / "patients.csv", index=False)
    return dictionary, extract, len(responders)


def test_the_copy_makes_the_column_a_variable(extended):
    dictionary, extract, _ = extended
    cohort = read_extract(extract, dictionary=dictionary)
    assert cohort.patients["haemoglobin"].dtype == "float64"
    assert set(cohort.patients["haemoglobin"]) == {RESPONDER, OTHER}
    assert "haemoglobin" not in cohort.extract_names
    # the repository's own dictionary does not know it: the column is set aside, with a warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = read_extract(extract)
    assert "haemoglobin" not in plain.patients and "haemoglobin" in plain.extract_names
    assert any("unexpected column(s) ignored: haemoglobin" in str(w.message) for w in caught
               if issubclass(w.category, DataWarning))


def test_a_value_outside_the_new_range_is_refused(extended, tmp_path):
    dictionary, extract, _ = extended
    bad = tmp_path / "bad"
    shutil.copytree(extract, bad)
    patients = pd.read_csv(bad / "patients.csv", dtype=str, keep_default_na=False)
    patients.loc[2, "haemoglobin"] = "400"
    patients.to_csv(bad / "patients.csv", index=False)
    with pytest.raises(DataError) as err:
        read_extract(bad, dictionary=dictionary)
    (problem,) = err.value.problems
    # row 4 of the file: the header is row 1, and the spoiled row is the third patient
    assert str(problem) == "patients.csv, row 4, column 'haemoglobin': value '400': outside the allowed range 30-250 g/L"


def test_table_one_labels_and_tabulates_it(extended):
    dictionary, extract, n_cr = extended
    frame = analysis_frame(load_cohort(extract, dictionary=dictionary))
    assert "haemoglobin" in table_variables(frame, dictionary)
    body = table_one(frame, dictionary=dictionary).body
    rows = list(body["Variables"])
    row = body.iloc[rows.index("Haemoglobin (g/L), median (range)")]
    # fewer than half the screened patients respond, so the median is the others' value
    assert n_cr < len(frame) / 2
    assert row[f"n = {len(frame)}"] == f"{OTHER} ({RESPONDER}-{OTHER})"
    # under its dictionary section, after the section's last variable of the repository's dictionary
    section = rows.index("Clinical and biological symptoms")
    assert section < rows.index("Haemoglobin (g/L), median (range)")
    assert rows.index("Low complement") < rows.index("Haemoglobin (g/L), median (range)")


def test_table_two_compares_it_with_the_dictionary_test(extended):
    dictionary, extract, n_cr = extended
    frame = analysis_frame(load_cohort(extract, dictionary=dictionary))
    result = compare_groups(frame, "cr_ever", dictionary=dictionary)
    tidy = result.table.set_index("variable").loc["haemoglobin"]
    assert (tidy["label"], tidy["test"], tidy["unit"]) == ("Haemoglobin", "mann_whitney", "g/L")
    body = comparison_table(result).body
    row = body[body["Variables"].str.startswith("Haemoglobin")].iloc[0]
    assert row.iloc[1] == f"{RESPONDER} ({RESPONDER}-{RESPONDER})"
    assert row.iloc[2] == f"{OTHER} ({OTHER}-{OTHER})"
    assert n_cr > 0
