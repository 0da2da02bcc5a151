"""Boundary tests of the clinical rules (`make mutants`): what the SLEDAI-2K, eligibility and response
modules print or refuse at the edges their tests did not reach. Expected values come from the
instrument and the paper (clinical-definitions reference), worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msc_sle.clinical import SLEDAI2K_WEIGHTS, sledai2k
from msc_sle.clinical.sledai import descriptor_arrays, score_arrays
from msc_sle.contract import DataError

DESCRIPTORS = list(SLEDAI2K_WEIGHTS)


def _visits(rows, index=None, recorded=None):
    """rows: (patient_id, month, present descriptors, missing descriptors)."""
    frame = pd.DataFrame([{"patient_id": pid, "month": month,
                           **{d: (None if d in missing else d in present) for d in DESCRIPTORS}}
                          for pid, month, present, missing in rows], index=index)
    frame = frame.astype({d: "boolean" for d in DESCRIPTORS} | {"patient_id": "string", "month": "Int64"})
    if recorded is not None:
        frame["sledai_total"] = pd.array(recorded, dtype="Int64")
    return frame


# --- SLEDAI-2K ----------------------------------------------------------------------------------

def test_the_mismatch_table_keeps_the_visits_index_and_nullable_types():
    v = _visits([("A", 0, ("fever",), ()), ("A", 1, ("arthritis",), ()), ("B", 0, (), ())],
                index=[30, 20, 10], recorded=[1, 6, 2])
    m = sledai2k(v).mismatches
    assert m.index.tolist() == [20, 10]
    assert m.dtypes.astype(str).tolist() == ["string", "Int64", "Int64", "Int64"]
    assert m.values.tolist() == [["A", 1, 6, 4], ["B", 0, 2, 0]]


def test_a_recorded_total_with_nothing_recorded_or_all_agreeing_gives_the_empty_typed_table():
    for recorded in ([None, None], [1, 4]):
        m = sledai2k(_visits([("A", 0, ("fever",), ()), ("A", 1, ("arthritis",), ())], recorded=recorded)).mismatches
        assert m.empty and m.dtypes.astype(str).tolist() == ["string", "Int64", "Int64", "Int64"]


def test_a_recorded_total_that_is_not_an_integer_is_refused_by_name():
    v = _visits([("A", 0, (), ())])
    v["sledai_total"] = ["8"]
    with pytest.raises(DataError, match=r"recorded SLEDAI-2K total must be an integer column \(got "):
        sledai2k(v)


def test_a_recorded_total_needs_the_visit_s_patient_and_month():
    v = _visits([("A", 0, (), ())], recorded=[0]).drop(columns=["month"])
    with pytest.raises(DataError, match="needed to report recorded sledai_total mismatches") as err:
        sledai2k(v)
    assert [p.column for p in err.value.problems] == ["month"]


def test_the_descriptor_problems_name_column_value_and_rule():
    v = _visits([("A", 0, (), ()), ("A", 1, (), ())]).drop(columns=["pyuria"])
    v["rash"] = [0, 1]
    with pytest.raises(DataError) as err:
        sledai2k(v)
    problems = {p.column: p for p in err.value.problems}
    assert problems["pyuria"].rule == "SLEDAI-2K descriptor column is missing"
    assert problems["rash"].rule == "SLEDAI-2K descriptor must be boolean (got dtype int64)"
    assert problems["rash"].value == 0 and problems["rash"].file == "visits"


def test_an_object_column_of_strings_is_refused_not_read_as_booleans():
    v = _visits([("A", 0, (), ())])
    v["fever"] = np.array(["yes"], dtype=object)
    with pytest.raises(DataError, match="fever"):
        sledai2k(v)
    v["fever"] = np.array([None], dtype=object)          # nothing recorded: allowed, missing
    assert pd.isna(sledai2k(v).scores["total"].iloc[0])


def test_descriptor_arrays_of_a_subset_and_the_scores_of_every_descriptor_present():
    v = _visits([("A", 0, DESCRIPTORS, ()), ("A", 1, (), ("fever",))])
    arrays = descriptor_arrays(v, ["fever", "rash"])
    assert list(arrays) == ["fever", "rash"]
    assert arrays["fever"][0].tolist() == [True, False] and arrays["fever"][1].tolist() == [False, True]
    scores = score_arrays(descriptor_arrays(v))
    # the instrument's maximum (Gladman 2002): 105, 101 without the two serological descriptors
    assert scores["total"][0].tolist()[0] == 105 and scores["clinical"][0].tolist()[0] == 101
    assert scores["total"][1].tolist() == [False, True] and scores["clinical"][1].tolist() == [False, True]
    assert scores["immunological"][1].tolist() == [False, False]
    assert scores["constitutional"][1].tolist() == [False, True]


def test_missing_serology_leaves_the_clinical_sledai_known():
    v = _visits([("A", 0, ("arthritis",), ("low_complement",))])
    s = sledai2k(v).scores
    assert pd.isna(s["total"].iloc[0]) and s["clinical"].iloc[0] == 4 and pd.isna(s["immunological"].iloc[0])
