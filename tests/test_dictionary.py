"""The data dictionary read once into typed Variable records (contract/dictionary.py)."""
from __future__ import annotations

import csv
import pickle
import shutil

import pandas as pd
import pytest

from msc_sle.contract import DICTIONARY_PATH, DataError, Variable, read_dictionary, variable, variables


def _rows(path=DICTIONARY_PATH):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _copy(tmp_path, edit=None):
    rows = _rows()
    if edit:
        edit(rows)
    path = tmp_path / "dictionary.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_every_row_is_one_variable_in_file_order():
    rows = _rows()
    got = variables()
    assert [(v.table, v.name) for v in got] == [(r["table"], r["name"]) for r in rows]
    assert {v.table for v in variables("visits")} == {"visits"}
    assert len(variables("patients")) + len(variables("visits")) + len(variables("derived")) == len(rows)


def test_fields_are_typed():
    sex = variable("sex")
    assert (sex.kind, sex.levels, sex.show_level, sex.required, sex.section) == \
        ("category", ("F", "M"), "F", True, "Demographics")
    age = variable("age_years")
    assert (age.kind, age.unit, age.value_range, age.levels, age.default_test) == \
        ("number", "years", (0.0, 120.0), None, "mann_whitney")
    assert variable("month").levels == (0, 1, 3, 6, 12)
    assert variable("first_infusion_date").date_range == ("2000-01-01", "today")
    assert variable("cyc_induction_dose_group").applies_if == "cyc_induction"
    assert variable("ln_class").applies_to == "biopsied"
    assert variable("sledai_m3").timing == "follow-up"
    assert variable("sledai_m3", "derived").required is False


@pytest.mark.parametrize("name, measure", [("sex", "categorical"), ("refractory", "categorical"),
                                           ("age_years", "continuous"), ("acr_criteria_count", "continuous"),
                                           ("patient_id", None), ("first_infusion_date", None)])
def test_measure_is_how_a_variable_is_analysed(name, measure):
    assert variable(name).measure == measure


def test_dtype_is_the_loaders():
    assert variable("sex").dtype == pd.CategoricalDtype(["F", "M"])
    assert variable("month").dtype == "Int64"
    assert variable("fever").dtype == "boolean"


def test_one_lookup_rule_patients_then_derived_then_visits():
    # fever is a baseline symptom (patients) and a SLEDAI-2K descriptor (visits)
    assert variable("fever").table == "patients"
    assert variable("fever", "visits").table == "visits"
    assert variable("fever", "visits").description != variable("fever").description
    assert variable("sledai_m0").table == "derived"
    assert variable("prednisone_mg").table == "visits"
    with pytest.raises(KeyError, match="not in table 'visits' of the data dictionary"):
        variable("sex", "visits")
    with pytest.raises(KeyError, match=r"'no_such' is not in the data dictionary \(dictionary.csv\)"):
        variable("no_such")


def test_records_pickle_and_compare():
    d = read_dictionary()
    back = pickle.loads(pickle.dumps(d))
    assert back == d and back.variable("fever") == d.variable("fever")
    assert pickle.loads(pickle.dumps(variable("sex"))) == variable("sex")
    with pytest.raises(AttributeError):
        variable("sex").label = "Women"


def test_a_copy_is_read_from_its_own_path(tmp_path):
    def relabel(rows):
        next(r for r in rows if r["name"] == "age_years")["label"] = "Age at infusion/years"
    path = _copy(tmp_path, relabel)
    assert variable("age_years", dictionary=path).label == "Age at infusion/years"
    assert variable("age_years").label == "Age/years"  # the repository's dictionary untouched


def test_an_edited_copy_is_read_again(tmp_path):
    path = tmp_path / "dictionary.csv"
    shutil.copy(DICTIONARY_PATH, path)
    assert "new_score" not in read_dictionary(path)
    with open(path, "a", encoding="utf-8") as f:
        f.write("patients,new_score,New score,integer,points,0-10,no,Demographics,auto,,,,baseline,A test\n")
    assert read_dictionary(path).variable("new_score").value_range == (0.0, 10.0)


@pytest.mark.parametrize("column, value, rule", [
    ("type", "text", "not one of string, date, integer"),
    ("allowed", "ten-twenty", "a range is written lo-hi"),
    ("table", "labs", "not one of patients, visits, derived"),
])
def test_a_malformed_row_is_named(tmp_path, column, value, rule):
    def spoil(rows):
        next(r for r in rows if r["name"] == "age_years")[column] = value
    path = _copy(tmp_path, spoil)
    with pytest.raises(DataError) as e:
        read_dictionary(path)
    (p,) = e.value.problems
    assert (p.file, p.row, p.column, p.value) == ("dictionary.csv", 4, column, value)
    assert rule in p.rule


def test_a_category_show_level_must_be_a_level(tmp_path):
    def spoil(rows):
        next(r for r in rows if r["name"] == "sex")["show_level"] = "W"
    with pytest.raises(DataError, match="show_level'.*'W'.*not one of the levels F, M"):
        read_dictionary(_copy(tmp_path, spoil))
