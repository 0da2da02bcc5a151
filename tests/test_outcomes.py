"""Response definitions on hand-worked visits, at and around every threshold."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from msc_sle.contract import Cohort, DataError
from msc_sle.clinical import (DEFINITIONS, ResponseDefinition, classify_response, doris, get_definition, lldas, paper_cr, paper_lda, sledai_reduction)
from msc_sle.clinical import SLEDAI2K_WEIGHTS

# Descriptor sets with a known SLEDAI-2K, none of them major-organ activity (weights worked by hand):
SCORE = {
    0: (),
    2: ("rash",),                                   # 2
    3: ("rash", "thrombocytopenia"),                # 2 + 1
    4: ("arthritis",),                              # 4
    5: ("arthritis", "leukopenia"),                 # 4 + 1
    8: ("arthritis", "myositis"),                   # 4 + 4
    9: ("arthritis", "myositis", "leukopenia"),     # 4 + 4 + 1
    12: ("arthritis", "myositis", "alopecia", "rash"),  # 4 + 4 + 2 + 2
}


def visit(pid, month, present=(), prednisone=0.0, missing=()):
    rec = {"patient_id": pid, "month": month}
    rec.update({d: (None if d in missing else d in present) for d in SLEDAI2K_WEIGHTS})
    rec["prednisone_mg"] = prednisone
    return rec


def frame(*rows):
    v = pd.DataFrame(list(rows))
    return v.astype({d: "boolean" for d in SLEDAI2K_WEIGHTS} | {"patient_id": "string", "month": "Int64",
                                                               "prednisone_mg": "float64"})


def cohort(*rows, patients=None):
    v = frame(*rows)
    ids = patients if patients is not None else list(dict.fromkeys(v["patient_id"]))
    return Cohort(pd.DataFrame({"patient_id": pd.array(ids, dtype="string")}), v)


def met_at(definition, present, prednisone, baseline=SCORE[12], baseline_prednisone=20.0):
    """Is the definition met at month 1 after a baseline visit (SLEDAI 12, prednisone 20)?"""
    c = cohort(visit("A", 0, baseline, baseline_prednisone), visit("A", 1, present, prednisone))
    return bool(classify_response(c, definition).patients["met_m1"].iloc[0])


# ---------------------------------------------------------------- paper CR: SLEDAI < 3, prednisone <= 5

@pytest.mark.parametrize("sledai, prednisone, expected", [
    (2, 5.0, True), (3, 5.0, False), (4, 5.0, False), (0, 0.0, True),
    (2, 5.1, False), (2, 4.9, True), (2, 7.5, False),
])
def test_paper_cr_thresholds(sledai, prednisone, expected):
    assert met_at(paper_cr, SCORE[sledai], prednisone) is expected


# ---------------------------------------------------------------- paper LDA: SLEDAI <= 4, prednisone <= 7.5

@pytest.mark.parametrize("sledai, prednisone, expected", [
    (4, 7.5, True), (5, 7.5, False), (3, 7.5, True), (2, 5.0, True),
    (4, 7.6, False), (4, 5.1, True), (4, 10.0, False),
])
def test_paper_lda_thresholds(sledai, prednisone, expected):
    assert met_at(paper_lda, SCORE[sledai], prednisone) is expected


@pytest.mark.parametrize("descriptor", ["pleurisy", "pericarditis", "fever"])
def test_major_organ_activity_blocks_lda_and_cr_even_at_low_sledai(descriptor):
    # pleurisy / pericarditis score 2 and fever 1: low enough for CR by score, but major organ activity
    assert not met_at(paper_cr, (descriptor,), 0.0)
    assert not met_at(paper_lda, (descriptor,), 0.0)
    assert met_at(paper_lda.with_thresholds(major_organ=()), (descriptor,), 0.0)


def test_minor_activity_at_low_sledai_is_allowed():
    assert met_at(paper_cr, ("alopecia",), 5.0)            # 2 points, mucocutaneous
    assert met_at(paper_lda, ("low_complement", "increased_dna_binding"), 7.5)  # 4 points, serology


# ---------------------------------------------------------------- patient summary

def test_patient_summary_months_first_month_ever_and_missing():
    c = cohort(
        visit("A", 0, SCORE[12], 20), visit("A", 1, SCORE[9], 15), visit("A", 3, SCORE[4], 7.5),
        visit("A", 6, SCORE[5], 5), visit("A", 12, SCORE[2], 5),
        # B: LDA only at month 12; month 6 missing
        visit("B", 0, SCORE[12], 20), visit("B", 1, SCORE[8], 20), visit("B", 3, SCORE[8], 10),
        visit("B", 12, SCORE[4], 5),
        # C: meets LDA at baseline only (baseline does not count)
        visit("C", 0, SCORE[2], 5), visit("C", 1, SCORE[8], 5),
    )
    lda = classify_response(c, "lda").patients.set_index("patient_id")
    assert lda.loc["A", ["met_m1", "met_m3", "met_m6", "met_m12"]].tolist() == [False, True, False, True]
    assert lda.loc["A", "first_month"] == 3 and lda.loc["A", "ever"] and lda.loc["A", "n_missing"] == 0
    assert lda.loc["B", ["met_m1", "met_m3", "met_m6", "met_m12"]].tolist() == [False, False, False, True]
    assert lda.loc["B", "first_month"] == 12 and lda.loc["B", "n_missing"] == 1
    assert not lda.loc["C", "ever"] and pd.isna(lda.loc["C", "first_month"])
    assert lda.loc["C", "n_missing"] == 3
    cr = classify_response(c, "cr").patients.set_index("patient_id")
    assert cr["ever"].tolist() == [True, False, False]
    assert cr.loc["A", "first_month"] == 12
    assert list(classify_response(c, "lda").patients.columns) == [
        "patient_id", "met_m1", "met_m3", "met_m6", "met_m12", "first_month", "ever", "n_missing"]


def test_patient_without_any_follow_up_still_gets_a_row():
    c = cohort(visit("A", 0, SCORE[12], 20), visit("A", 1, SCORE[2], 5), patients=["A", "Z", "Y"])
    p = classify_response(c, "cr").patients
    assert p["patient_id"].tolist() == ["A", "Z", "Y"]
    assert p["ever"].tolist() == [True, False, False]
    assert p["n_missing"].tolist() == [3, 4, 4]
    assert str(p["first_month"].dtype) == "Int64" and str(p["ever"].dtype) == "boolean"


def test_missing_data_at_a_visit_is_never_a_response():
    c = cohort(
        visit("A", 0, SCORE[12], 20),
        visit("A", 1, SCORE[2], np.nan),                        # prednisone unknown: unclassified
        visit("A", 3, SCORE[2], 5, missing=("proteinuria",)),   # a major-organ item unknown
        visit("A", 6, SCORE[8], np.nan),                        # SLEDAI 8 fails whatever the dose
        visit("A", 12, SCORE[2], 5),
    )
    r = classify_response(c, "lda")
    met = r.visits["met"]
    assert met.isna().tolist() == [False, True, True, False, False]
    assert met.fillna(True).tolist() == [False, True, True, False, True]   # month 6: known False
    p = r.patients.iloc[0]
    assert [p["met_m1"], p["met_m3"], p["met_m6"], p["met_m12"]] == [False, False, False, True]
    assert p["n_missing"] == 2   # months 1 and 3 could not be classified
    assert any("count as not met" in text for text in r.caveats)


def test_per_visit_table_for_plots():
    c = cohort(visit("A", 0, SCORE[12] + ("fever",), 20), visit("A", 1, SCORE[4], 7.5))
    v = classify_response(c, "lda").visits
    assert list(v.columns) == ["patient_id", "month", "sledai", "clinical_sledai", "major_organ_active",
                               "prednisone_mg", "met"]
    assert v["sledai"].tolist() == [13, 4]
    assert v["major_organ_active"].tolist() == [True, False]
    assert v["met"].tolist() == [False, True]


# ---------------------------------------------------------------- LLDAS: no new activity

def test_lldas_requires_no_new_activity_since_previous_visit():
    c = cohort(
        visit("A", 0, ("arthritis", "myositis"), 20), visit("A", 1, ("arthritis",), 5),   # nothing new
        visit("B", 0, ("arthritis", "myositis"), 20), visit("B", 1, ("rash",), 5),        # rash is new
        # C: month 1 missing, so month 3 is compared with month 0
        visit("C", 0, ("rash", "arthritis", "myositis"), 20), visit("C", 3, ("rash",), 5),
    )
    r = classify_response(c, lldas)
    assert r.patients.set_index("patient_id")["ever"].to_dict() == {"A": True, "B": False, "C": True}
    new = r.visits["new_activity"]
    # baselines hold activity with no earlier visit to compare with: unknown
    assert new.isna().tolist() == [True, False, True, False, True, False]
    assert new.tolist()[1::2] == [False, True, False]
    # the paper's LDA does not look at new activity: B meets it
    assert classify_response(c, "lda").patients["ever"].tolist() == [True, True, True]


def test_lldas_first_recorded_visit_with_activity_is_unclassified():
    c = cohort(visit("A", 1, ("rash",), 5), visit("B", 1, (), 5))
    v = classify_response(c, lldas).visits
    assert pd.isna(v["met"].iloc[0])        # rash may or may not be new: cannot tell
    assert v["met"].iloc[1] == True         # noqa: E712  nothing active, nothing new


def test_lldas_and_doris_say_pga_is_not_in_the_data():
    for d in (lldas, doris):
        caveats = classify_response(cohort(visit("A", 0)), d).caveats
        assert any("PGA" in text for text in caveats)


# ---------------------------------------------------------------- DORIS: clinical SLEDAI = 0

def test_doris_ignores_serology_but_not_clinical_activity():
    serology = ("low_complement", "increased_dna_binding")
    assert met_at(doris, serology, 5.0)                 # SLEDAI-2K 4 but clinical 0
    assert not met_at(doris, serology, 5.1)
    assert not met_at(doris, ("leukopenia",), 0.0)      # clinical SLEDAI 1
    c = cohort(visit("A", 0, SCORE[12], 20), visit("A", 1, (), 5, missing=serology))
    assert classify_response(c, doris).patients["met_m1"].iloc[0]   # serology unknown: no matter


# ---------------------------------------------------------------- SLEDAI-4 reduction

def test_sledai_reduction_counts_a_fall_of_at_least_4_from_baseline():
    assert met_at(sledai_reduction, SCORE[8], 40.0)      # 12 -> 8: fall 4
    assert not met_at(sledai_reduction, SCORE[9], 0.0)   # 12 -> 9: fall 3
    assert met_at(sledai_reduction, SCORE[0], 0.0, baseline=SCORE[4])
    c = cohort(visit("A", 1, (), 0))                       # no baseline visit
    assert not classify_response(c, sledai_reduction).patients["ever"].iloc[0]
    assert any("SRI-4" in text for text in sledai_reduction.caveats)


def test_sledai_reduction_shows_the_fall_per_visit():
    c = cohort(visit("A", 0, SCORE[12], 20), visit("A", 1, SCORE[3], 5))
    assert classify_response(c, sledai_reduction).visits["sledai_fall"].tolist() == [0, 9]


# ---------------------------------------------------------------- definitions as objects

def test_paper_definitions_hold_the_published_thresholds():
    assert (paper_lda.sledai_max, paper_lda.prednisone_max) == (4, 7.5)
    assert (paper_cr.sledai_max, paper_cr.prednisone_max) == (2, 5.0)
    assert "2.4" in paper_lda.source and "2.4" in paper_cr.source
    assert set(DEFINITIONS) == {"paper_lda", "paper_cr", "lldas", "doris", "sledai_reduction"}


def test_get_definition_names_aliases_and_objects():
    assert get_definition("lda") is paper_lda and get_definition("cr") is paper_cr
    assert get_definition("doris") is doris and get_definition(lldas) is lldas
    with pytest.raises(ValueError) as err:
        get_definition("remission")
    for name in ("paper_lda", "paper_cr", "lldas", "doris", "sledai_reduction", "lda", "cr"):
        assert name in str(err.value)
    with pytest.raises(TypeError):
        get_definition(4)


def test_threshold_variants_for_what_if_questions():
    loose = paper_lda.with_thresholds(prednisone_max=10)
    assert loose.prednisone_max == 10 and loose.sledai_max == 4
    assert loose.name != paper_lda.name and "prednisone_max=10" in loose.name
    assert met_at(loose, SCORE[4], 10.0) and not met_at(paper_lda, SCORE[4], 10.0)
    assert dataclasses.replace(paper_cr, sledai_max=3).sledai_max == 3
    assert met_at(dataclasses.replace(paper_cr, sledai_max=3), SCORE[3], 5.0)
    with pytest.raises(ValueError, match="label"):
        paper_lda.with_thresholds(label="x")
    assert paper_lda.prednisone_max == 7.5            # the original is untouched (frozen)
    with pytest.raises(dataclasses.FrozenInstanceError):
        paper_lda.prednisone_max = 10


@pytest.mark.parametrize("changes, error", [
    ({"sledai_max": -1}, ValueError), ({"prednisone_max": float("nan")}, TypeError),
    ({"prednisone_max": "7.5"}, TypeError), ({"major_organ": ("kidney",)}, ValueError),
    ({"major_organ": "fever"}, TypeError), ({"min_reduction": 0}, ValueError),
    ({"use_clinical_sledai": "yes"}, TypeError),
])
def test_bad_thresholds_are_refused(changes, error):
    with pytest.raises(error):
        paper_lda.with_thresholds(**changes)


def test_a_definition_must_set_a_criterion():
    with pytest.raises(ValueError, match="no criterion"):
        ResponseDefinition(name="nothing", label="Nothing")


def test_major_organ_list_from_a_widget_becomes_a_tuple():
    d = paper_lda.with_thresholds(major_organ=["fever", "seizure"])
    assert d.major_organ == ("fever", "seizure") and hash(d)


# ---------------------------------------------------------------- inputs

def test_visits_dataframe_input_and_row_order_do_not_matter():
    rows = [visit("B", 0, SCORE[12], 20), visit("A", 0, SCORE[12], 20), visit("A", 1, SCORE[2], 5),
            visit("B", 3, SCORE[4], 7.5), visit("B", 1, SCORE[8], 10), visit("A", 3, SCORE[8], 5)]
    p = classify_response(frame(*rows), "lda").patients.set_index("patient_id").sort_index()
    assert p["first_month"].tolist() == [1, 3]
    assert p["n_missing"].tolist() == [2, 2]


def test_visit_of_unknown_patient_duplicate_visit_and_unscheduled_month_are_errors():
    with pytest.raises(DataError, match="not in the patients table"):
        classify_response(cohort(visit("A", 0), visit("Q", 1), patients=["A"]), "lda")
    with pytest.raises(DataError, match="duplicate visit"):
        classify_response(cohort(visit("A", 1), visit("A", 1)), "lda")
    with pytest.raises(DataError, match="schedule"):
        classify_response(cohort(visit("A", 0), visit("A", 9)), "lda")
    with pytest.raises(DataError, match="duplicate patient_id"):
        classify_response(cohort(visit("A", 0), patients=["A", "A"]), "lda")


def test_another_follow_up_schedule_is_a_parameter():
    c = cohort(visit("A", 0, SCORE[12], 20), visit("A", 9, SCORE[2], 5))
    p = classify_response(c, "cr", follow_up_months=(3, 9)).patients
    assert list(p.columns[1:3]) == ["met_m3", "met_m9"]
    assert p["first_month"].iloc[0] == 9 and p["n_missing"].iloc[0] == 1


def test_missing_prednisone_column_is_an_error_only_when_needed():
    v = frame(visit("A", 0, SCORE[12], 20), visit("A", 1, SCORE[4], 0)).drop(columns="prednisone_mg")
    with pytest.raises(DataError, match="prednisone_mg"):
        classify_response(v, "lda")
    assert classify_response(v, sledai_reduction).patients["ever"].iloc[0]


def test_summary_counts_responders():
    c = cohort(visit("A", 0, SCORE[12], 20), visit("A", 1, SCORE[2], 5), visit("B", 0, SCORE[12], 20))
    s = classify_response(c, "cr").summary()
    assert s.loc["ever", "n"] == 1 and s.loc["ever", "percent"] == 50.0


def test_new_activity_with_an_unrecorded_descriptor():
    c = cohort(
        visit("A", 0, ("rash",), 20), visit("A", 1, (), 5, missing=("rash",)),   # present before: not new
        visit("B", 0, (), 20), visit("B", 1, (), 5, missing=("rash",)),          # absent before: may be new
    )
    new = classify_response(c, lldas).visits["new_activity"]
    assert new.isna().tolist() == [True, False, False, True]
    assert new.iloc[1] == False   # noqa: E712


def test_accepts_sledai_reads_the_score_threshold():
    assert [paper_cr.accepts_sledai(s) for s in (2, 3)] == [True, False]
    assert [paper_lda.accepts_sledai(s) for s in (4, 5)] == [True, False]
    assert sledai_reduction.accepts_sledai(105)          # no score threshold
