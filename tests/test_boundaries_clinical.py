"""Boundary tests of the clinical rules (`make mutants`): what the SLEDAI-2K, eligibility and response
modules print or refuse at the edges their tests did not reach. Expected values come from the
instrument and the paper (clinical-definitions reference), worked out by hand."""
from __future__ import annotations

import dataclasses

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
    with pytest.raises(DataError, match=r"recorded SLEDAI-2K total must be an integer column \(got ") as err:
        sledai2k(v)
    (p,) = err.value.problems
    assert (p.file, p.column) == ("visits", "sledai_total")


def test_a_recorded_total_needs_the_visit_s_patient_and_month():
    v = _visits([("A", 0, (), ())], recorded=[0]).drop(columns=["month"])
    with pytest.raises(DataError) as err:
        sledai2k(v)
    assert [(p.file, p.column, p.rule) for p in err.value.problems] == [
        ("visits", "month", "needed to report recorded sledai_total mismatches")]


def test_the_descriptor_problems_name_column_value_and_rule():
    v = _visits([("A", 0, (), ()), ("A", 1, (), ())]).drop(columns=["pyuria"])
    v["rash"] = [0, 1]
    v["fever"] = np.array([0, 1], dtype=object)           # 0/1 held as objects: not booleans either
    v["leukopenia"] = [np.nan, np.nan]                     # nothing recorded, but a number column
    with pytest.raises(DataError) as err:
        sledai2k(v)
    problems = {p.column: p for p in err.value.problems}
    assert set(problems) == {"pyuria", "rash", "fever", "leukopenia"}   # every bad column, not the first one
    assert problems["pyuria"].rule == "SLEDAI-2K descriptor column is missing" and problems["pyuria"].file == "visits"
    assert problems["leukopenia"].value is None
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


def test_the_default_domain_grouping_is_the_instrument_s():
    from msc_sle.clinical import sledai2k_domains

    assert dict(sledai2k_domains()) == dict(sledai2k_domains("CNS"))
    assert "cva" in sledai2k_domains()["CNS"]
    with pytest.raises(TypeError, match=r"^visits must be a pandas DataFrame, got list$"):
        descriptor_arrays([])


def test_missing_serology_leaves_the_clinical_sledai_known():
    v = _visits([("A", 0, ("arthritis",), ("low_complement",))])
    s = sledai2k(v).scores
    assert pd.isna(s["total"].iloc[0]) and s["clinical"].iloc[0] == 4 and pd.isna(s["immunological"].iloc[0])


# --- eligibility (Wen 2019, section 2.1) ---------------------------------------------------------

def _cohort(spec):
    from test_eligibility import build

    return build(spec)


EIGHT = ("arthritis", "myositis")          # baseline SLEDAI-2K 4 + 4 = 8


def test_the_flow_diagram_words_each_criterion_as_section_2_1_states_it():
    from msc_sle.clinical import paper_criteria

    paper = "Wen L et al. Stem Cells Int 2019:6157612, section 2.1"
    printed = [(c.name, c.description, c.source, c.missing, c.fails) for c in paper_criteria()]
    assert printed == [
        ("adult", "age > 18 years at first MSC infusion", paper, "age missing",
         "age 18 years or younger at first MSC infusion"),
        ("acr_criteria", ">= 4 of the 11 ACR 1997 criteria", paper + " (Hochberg 1997 revision of the ACR criteria)",
         "ACR criteria count missing", "fewer than 4 of the 11 ACR 1997 criteria"),
        ("refractory", "refractory to previous treatment (CYC >= 6 months, MMF/LEF >= 3 months, or prednisone "
         ">= 20 mg/day continued)", paper, "refractoriness missing", "not refractory to previous treatment"),
        ("baseline_sledai", "SLEDAI-2K >= 8 at baseline (month 0 descriptors)", paper + "; SLEDAI-2K: Gladman 2002",
         "baseline SLEDAI missing", "SLEDAI-2K below 8 at baseline"),
        ("infusion_window", "first MSC infusion on or after 2007-03-01 and on or before 2013-12-31", paper,
         "first infusion date missing", "first MSC infusion before 2007-03-01 or after 2013-12-31"),
        ("follow_up", "follow-up >= 12 months after the first infusion", paper, "follow-up missing",
         "follow-up shorter than 12 months after the first infusion"),
    ]
    window = {c.name: c for c in paper_criteria(infusion_start=None)}["infusion_window"]
    assert (window.description, window.fails) == ("first MSC infusion on or before 2013-12-31",
                                                  "first MSC infusion after 2013-12-31")
    window = {c.name: c for c in paper_criteria(infusion_end=None, min_age_exclusive=17.5)}
    assert (window["infusion_window"].description, window["infusion_window"].fails) == (
        "first MSC infusion on or after 2007-03-01", "first MSC infusion before 2007-03-01")
    assert window["adult"].fails == "age 17.5 years or younger at first MSC infusion"
    assert [c.name for c in paper_criteria(require_refractory=False, infusion_start=None, infusion_end=None)] == [
        "adult", "acr_criteria", "baseline_sledai", "follow_up"]


def test_a_missing_value_excludes_with_the_criterion_s_own_words():
    from msc_sle.clinical import apply_eligibility

    spec = {"A": ({"acr_criteria_count": pd.NA}, EIGHT), "B": ({"refractory": pd.NA}, EIGHT),
            "C": ({"first_infusion_date": None}, EIGHT), "D": ({"follow_up_months": np.nan}, EIGHT),
            "E": ({}, EIGHT)}
    res = apply_eligibility(_cohort(spec))
    assert dict(zip(res.excluded["patient_id"], res.excluded["reason"])) == {
        "A": "ACR criteria count missing", "B": "refractoriness missing", "C": "first infusion date missing",
        "D": "follow-up missing"}
    assert res.attrition["missing"].tolist()[1:] == [0, 1, 1, 0, 1, 1]
    assert res.attrition.dtypes.astype(str).tolist() == ["string", "string", "string", "Int64", "Int64", "Int64"]
    assert res.attrition.iloc[0].tolist()[:3] == ["screened", "patients in the extract", ""]
    assert res.cohort.notes[-1] == ("eligibility: 1 of 5 patients kept (adult, acr_criteria, refractory, "
                                    "baseline_sledai, infusion_window, follow_up)")
    none = apply_eligibility(_cohort(spec), criteria=[])
    assert none.cohort.notes[-1] == "eligibility: 5 of 5 patients kept (no criteria)"


def test_an_infusion_late_on_the_last_day_is_inside_the_window():
    from msc_sle.clinical import apply_eligibility

    cohort = _cohort({"A": ({}, EIGHT), "B": ({}, EIGHT)})
    cohort.patients["first_infusion_date"] = pd.to_datetime(["2013-12-31 23:30", "2007-03-01 00:10"])
    assert apply_eligibility(cohort).attrition["remaining"].tolist()[-1] == 2


@pytest.mark.parametrize("name", ["min_age_exclusive", "min_acr_criteria", "min_baseline_sledai",
                                  "min_follow_up_months"])
def test_thresholds_must_be_non_negative_numbers(name):
    from msc_sle.clinical import paper_criteria

    assert paper_criteria(**{name: 0})                      # zero is a threshold (every value passes)
    for bad in (-1, -0.5, float("nan"), float("inf"), True, "4"):
        with pytest.raises(ValueError, match=rf"^{name} must be a non-negative number or None, got "):
            paper_criteria(**{name: bad})
    with pytest.raises(TypeError, match=r"^require_refractory must be True or False, got 'yes'$"):
        paper_criteria(require_refractory="yes")
    with pytest.raises(TypeError, match=r"^unknown eligibility threshold\(s\) \['min_age'\]; valid: "
                                        r"\['min_age_exclusive', 'min_acr_criteria'"):
        paper_criteria(min_age=16)


def test_bad_criteria_and_predicates_are_refused_with_their_names():
    from msc_sle.clinical import Criterion, apply_eligibility

    cohort = _cohort({"A": ({}, EIGHT), "B": ({}, EIGHT)})
    with pytest.raises(TypeError, match=r"^criterion 'x': predicate must be callable$"):
        Criterion("x", "d", "s", None)
    c = Criterion("x", "d", "s", lambda c: c.patients["refractory"])
    assert (c.missing, c.fails) == ("x: data missing", "not d")
    shifted = Criterion("shifted", "d", "s", lambda c: c.patients["refractory"].set_axis([5, 6]))
    with pytest.raises(ValueError, match=r"^criterion 'shifted': predicate must return a Series aligned with "
                                         r"cohort.patients$"):
        apply_eligibility(cohort, [shifted])
    with pytest.raises(ValueError, match="aligned"):
        apply_eligibility(cohort, [Criterion("list", "d", "s", lambda c: [True, True])])
    assert str(c.evaluate(cohort).dtype) == "boolean"
    with pytest.raises(TypeError, match=r"^criteria must be Criterion objects, got \['a', 'b', 'c'\]$"):
        apply_eligibility(cohort, ["a", "b", "c", "d"])
    with pytest.raises(TypeError, match=r"^apply_eligibility needs a Cohort, got list$"):
        apply_eligibility([])


def test_missing_columns_are_named_with_their_table():
    from msc_sle.clinical import apply_eligibility, baseline_sledai

    cohort = _cohort({"A": ({}, EIGHT)})
    gone = type(cohort)(cohort.patients.drop(columns=["refractory"]), cohort.visits, source="x")
    with pytest.raises(DataError) as err:
        apply_eligibility(gone)
    (p,) = err.value.problems
    assert (p.file, p.column, p.rule) == ("patients", "refractory", "column is missing (needed for eligibility)")
    for column in ("month", "patient_id"):
        no_month = type(cohort)(cohort.patients, cohort.visits.drop(columns=[column]), source="x")
        with pytest.raises(DataError) as err:
            baseline_sledai(no_month)
        (p,) = err.value.problems
        assert (p.file, p.row, p.column, p.rule) == ("visits", None, "patient_id, month", "column is missing")


def test_baseline_sledai_is_nullable_named_and_refuses_two_baselines():
    from msc_sle.clinical import baseline_sledai

    cohort = _cohort({"A": ({}, EIGHT), "B": ({}, None)})
    visits = cohort.visits.copy()
    visits.loc[visits.index[-1], "month"] = pd.NA           # a visit without its month is not a baseline
    s = baseline_sledai(type(cohort)(cohort.patients, visits, source="x"))
    assert s.name == "sledai_m0" and str(s.dtype) == "Int64" and s.tolist()[0] == 8 and pd.isna(s.tolist()[1])
    twice = pd.concat([cohort.visits, cohort.visits.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError) as err:
        baseline_sledai(type(cohort)(cohort.patients, twice, source="x"))
    (p,) = err.value.problems
    assert (p.file, p.column, p.value, p.rule) == ("visits", "patient_id", "A", "more than one baseline (month 0) visit")


# --- response definitions (Wen 2019 section 2.4; Franklyn 2016; DORIS 2021; Furie 2009) -----------

def test_each_definition_prints_its_published_criteria():
    from msc_sle.clinical import DEFINITIONS

    printed = {name: (d.describe(), d.display_label) for name, d in DEFINITIONS.items()}
    pga = " (PGA not recorded: criterion not checked)"
    assert printed == {
        "paper_lda": ("LDA: SLEDAI-2K ≤ 4, no major organ activity, prednisone ≤ 7.5 mg/day", "LDA"),
        "paper_cr": ("CR: SLEDAI-2K ≤ 2, no major organ activity, prednisone ≤ 5 mg/day", "CR"),
        "lldas": ("LLDAS: SLEDAI-2K ≤ 4, no major organ activity, no new activity since the previous visit, "
                  "prednisone ≤ 7.5 mg/day", "LLDAS" + pga),
        "doris": ("DORIS remission: clinical SLEDAI ≤ 0, prednisone ≤ 5 mg/day", "DORIS remission" + pga),
        "sledai_reduction": ("SLEDAI-4 reduction: SLEDAI-2K fall ≥ 4 points from baseline",
                             "SLEDAI-4 reduction (SLEDAI part of SRI-4 only: BILAG and PGA not recorded)"),
    }
    from msc_sle.clinical import paper_lda

    notes = paper_lda.footnotes()
    assert notes[0] == ("LDA: SLEDAI-2K ≤ 4, no major organ activity, prednisone ≤ 7.5 mg/day. Source: Wen L et al. "
                        "Stem Cells Int 2019:6157612, section 2.4: SLEDAI ≤ 4 without major organ activity and "
                        "prednisone ≤ 7.5 mg/day.")
    assert len(notes) == 3 and notes[2].startswith("LDA: Maintenance CYC, MMF and LEF are allowed")
    bare = paper_lda.with_thresholds(prednisone_max=5)
    assert dataclasses.replace(bare, source="").footnotes()[0].endswith("prednisone ≤ 5 mg/day.")


def test_a_variant_is_named_and_labelled_by_its_change():
    from msc_sle.clinical import doris, paper_cr, sledai_reduction

    v = paper_cr.with_thresholds(sledai_max=3, prednisone_max=None, min_reduction=2, major_organ=(),
                                 use_clinical_sledai=True, require_no_new_activity=True)
    assert v.name == ("paper_cr(sledai_max=3, prednisone_max=None, min_reduction=2, major_organ=(), "
                      "use_clinical_sledai=True, require_no_new_activity=True)")
    assert v.label == ("CR (clinical SLEDAI ≤ 3, clinical SLEDAI fall ≥ 2 points, major organs: none, clinical SLEDAI, "
                       "no new activity)")
    assert doris.with_thresholds(use_clinical_sledai=False, require_no_new_activity=False).label == (
        "DORIS remission (SLEDAI-2K, new activity allowed)")
    assert sledai_reduction.with_thresholds(sledai_max=None, min_reduction=6).label == "SLEDAI-4 reduction (SLEDAI-2K fall ≥ 6 points)"
    assert paper_cr.with_thresholds(major_organ=("fever", "cva")).label == "CR (major organs: fever, cva)"
    assert paper_cr.with_thresholds() is paper_cr
    with pytest.raises(ValueError, match=r"^not threshold\(s\) of a response definition: \['label'\]; valid: "
                                         r"\['sledai_max', 'prednisone_max'"):
        paper_cr.with_thresholds(label="x")


def test_definition_checks_name_the_field_and_the_rule():
    from msc_sle.clinical import ResponseDefinition

    cases = [(dict(sledai_max=-1), ValueError, r"^sledai_max must be >= 0, got -1$"),
             (dict(prednisone_max=True), TypeError, r"^prednisone_max must be a number or None, got True$"),
             (dict(min_reduction=0), ValueError, r"^min_reduction must be > 0, got 0$"),
             (dict(sledai_max=4, use_clinical_sledai=1), TypeError, r"^use_clinical_sledai must be True or False, got 1$"),
             (dict(sledai_max=4, require_no_new_activity=None), TypeError, r"^require_no_new_activity must be True or "),
             (dict(major_organ="fever"), TypeError, r"^major_organ must be a collection of descriptor names, not one"),
             (dict(major_organ=("kidney",)), ValueError, r"^major_organ holds unknown SLEDAI-2K descriptor\(s\) \['kidney'\]; "
                                                         r"valid: \['seizure'"),
             (dict(), ValueError, r"^response definition 'x' sets no criterion$")]
    for fields, error, message in cases:
        with pytest.raises(error, match=message):
            ResponseDefinition(name="x", label="X", **fields)
    assert ResponseDefinition(name="x", label="X", sledai_max=0, prednisone_max=0).sledai_max == 0
    assert ResponseDefinition(name="x", label="X", major_organ=["fever"]).major_organ == ("fever",)
    assert ResponseDefinition(name="x", label="X", require_no_new_activity=True).describe() == (
        "X: no new activity since the previous visit")
    for name in ("", None):
        with pytest.raises(ValueError, match=r"^name must be a non-empty string"):
            ResponseDefinition(name=name, label="X", sledai_max=4)


def test_definitions_by_name_and_alias():
    from msc_sle.clinical import get_definition, paper_cr

    assert get_definition("cr") is paper_cr and get_definition("paper_cr") is paper_cr
    with pytest.raises(ValueError, match=r"^unknown response definition 'remission'; valid: paper_lda, paper_cr, "
                                         r"lldas, doris, sledai_reduction, lda \(= paper_lda\), cr \(= paper_cr\)$"):
        get_definition("remission")
    with pytest.raises(TypeError, match=r"^a response definition or its name is needed, got int$"):
        get_definition(3)


def test_an_infusion_date_that_is_not_a_date_is_refused_by_name():
    from msc_sle.clinical import apply_eligibility

    cohort = _cohort({"A": ({}, EIGHT)})
    patients = cohort.patients.copy()
    patients["first_infusion_date"] = patients["first_infusion_date"].dt.strftime("%d/%m/%Y").astype(object)
    with pytest.raises(DataError) as err:
        apply_eligibility(type(cohort)(patients, cohort.visits, source="x"))
    (p,) = err.value.problems
    assert (p.file, p.row, p.column, p.value) == ("patients", None, "first_infusion_date", None)
    assert p.rule == "must be a date column (got object)"


def test_a_one_day_infusion_window_is_allowed_both_days_included():
    from msc_sle.clinical import apply_eligibility, paper_criteria

    cohort = _cohort({"A": ({"first_infusion_date": "2010-05-05"}, EIGHT),
                      "B": ({"first_infusion_date": "2010-05-06"}, EIGHT)})
    res = apply_eligibility(cohort, paper_criteria(infusion_start="2010-05-05", infusion_end="2010-05-05"))
    assert res.cohort.patients["patient_id"].tolist() == ["A"]


def test_a_baseline_with_an_unrecorded_descriptor_is_missing_and_aligned_with_any_index():
    from msc_sle.clinical import baseline_sledai

    cohort = _cohort({"A": ({}, EIGHT), "B": ({}, EIGHT), "C": ({}, ("arthritis",))})
    visits = cohort.visits.copy()
    visits.loc[(visits["patient_id"] == "B") & (visits["month"] == 0), "myositis"] = pd.NA
    # a cohort filtered by a caller keeps its patients' labels; the scores must follow them
    patients = cohort.patients.set_axis([7, 3, 5])
    s = baseline_sledai(type(cohort)(patients, visits, source="x"))
    assert s.index.tolist() == [7, 3, 5]
    assert s.tolist()[0] == 8 and pd.isna(s.tolist()[1]) and s.tolist()[2] == 4


def test_an_earlier_exclusion_keeps_its_reason_and_the_eligible_tables_keep_their_columns():
    from msc_sle.clinical import apply_eligibility, paper_criteria

    # A fails the first criterion and has a later criterion's data missing: the first reason stands
    spec = {"A": ({"age_years": 16.0, "follow_up_months": np.nan}, EIGHT), "B": ({}, EIGHT),
            "C": ({"acr_criteria_count": 2}, EIGHT)}
    cohort = _cohort(spec)
    criteria = paper_criteria()
    res = apply_eligibility(cohort, criteria)
    reasons = dict(zip(res.excluded["patient_id"], res.excluded["reason"]))
    assert reasons == {"A": criteria[0].fails, "C": criteria[1].fails}
    assert res.criteria == tuple(criteria)
    assert res.cohort.patients.columns.tolist() == cohort.patients.columns.tolist()
    assert res.cohort.visits.columns.tolist() == cohort.visits.columns.tolist()


def test_the_excluded_table_keeps_the_extract_s_order_within_each_criterion():
    from msc_sle.clinical import apply_eligibility

    # enough patients that an unstable sort would reorder them (numpy sorts short arrays stably anyway)
    spec = {f"P{i:02d}": ({"acr_criteria_count": 2} if i % 2 else {"age_years": 16.0}, EIGHT) for i in range(40)}
    res = apply_eligibility(_cohort(spec))
    ids = res.excluded["patient_id"].tolist()
    assert ids == [f"P{i:02d}" for i in range(0, 40, 2)] + [f"P{i:02d}" for i in range(1, 40, 2)]


def test_a_prednisone_column_missing_or_not_numeric_is_refused_by_name():
    from msc_sle.clinical import classify_response
    from test_outcomes import SCORE, frame, visit

    visits = frame(visit("A", 0, SCORE[12], 20.0), visit("A", 1, SCORE[2], 5.0))
    with pytest.raises(DataError) as err:
        classify_response(visits.drop(columns=["prednisone_mg"]), "lda")
    (p,) = err.value.problems
    assert (p.file, p.row, p.column, p.value, p.rule) == (
        "visits", None, "prednisone_mg", None, "column is missing (the definition limits prednisone)")
    for dtype in ("object", "bool"):
        bad = visits.astype({"prednisone_mg": dtype})
        with pytest.raises(DataError) as err:
            classify_response(bad, "lda")
        (p,) = err.value.problems
        assert (p.file, p.row, p.column, p.value, p.rule) == (
            "visits", None, "prednisone_mg", None, f"prednisone dose must be numeric (got {dtype})")


def test_the_summary_counts_every_patient_and_the_caveat_counts_visits_and_patients():
    from msc_sle.clinical import classify_response, get_definition
    from test_outcomes import SCORE, cohort, visit

    # A in LDA at every visit, C at month 1 only, B never; C and D not seen at month 12 (D not at month 6 either)
    rows = [visit(p, 0, SCORE[12], 20.0) for p in "ABCD"]
    rows += [visit("A", m, SCORE[2], 5.0) for m in (1, 3, 6, 12)]
    rows += [visit("B", m, SCORE[12], 20.0) for m in (1, 3, 6, 12)]
    rows += [visit("C", 1, SCORE[2], 5.0)] + [visit("C", m, SCORE[12], 20.0) for m in (3, 6)]
    rows += [visit("D", m, SCORE[12], 20.0) for m in (1, 3)]
    res = classify_response(cohort(*rows), "lda")
    assert res.definition is get_definition("lda")
    s = res.summary()
    assert s.index.tolist() == ["met_m1", "met_m3", "met_m6", "met_m12", "ever"]
    assert s["n"].tolist() == [2, 1, 1, 1, 2] and s["patients"].tolist() == [4] * 5
    assert s["percent"].tolist() == [50.0, 25.0, 25.0, 25.0, 50.0]
    assert res.caveats[-1] == ("3 follow-up visit(s) of 2 patient(s) are missing or lack data the definition "
                               "needs; they count as not met.")


def test_a_variant_s_label_words_its_loosened_prednisone_and_its_score_limit():
    from msc_sle.clinical import paper_lda, sledai_reduction

    assert paper_lda.with_thresholds(prednisone_max=10).label == "LDA (prednisone ≤ 10 mg/day)"
    # the reduction dropped for a plain score limit: only the limit that is applied is worded
    assert sledai_reduction.with_thresholds(min_reduction=None, sledai_max=4).label == "SLEDAI-4 reduction (SLEDAI-2K ≤ 4)"


def test_a_footnote_states_the_criteria_once_whatever_the_label_holds():
    from msc_sle.clinical import doris, paper_cr

    assert doris.footnotes()[0].startswith("DORIS remission: clinical SLEDAI ≤ 0, prednisone ≤ 5 mg/day. Source: ")
    # a variant's label holds ": " itself ("major organs: ...")
    own_organs = paper_cr.with_thresholds(major_organ=("fever", "cva"))
    assert own_organs.footnotes()[0].startswith(
        "CR (major organs: fever, cva): SLEDAI-2K ≤ 2, no major organ activity, prednisone ≤ 5 mg/day. Source: ")


def test_caveats_given_as_a_list_are_kept_as_a_tuple_so_the_definition_stays_hashable():
    from msc_sle.clinical import ResponseDefinition

    d = ResponseDefinition(name="x", label="X", sledai_max=4, caveats=["PGA not recorded"])
    assert d.caveats == ("PGA not recorded",) and hash(d) == hash(dataclasses.replace(d))


def test_a_cohort_without_patients_summarises_to_zero_of_zero_without_a_warning():
    import warnings

    from msc_sle.clinical import classify_response
    from msc_sle.contract import Cohort
    from test_outcomes import SCORE, cohort, visit

    full = cohort(visit("A", 0, SCORE[12], 20.0))
    empty = Cohort(full.patients.iloc[:0], full.visits.iloc[:0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")    # a warning would print under the notebook's table
        s = classify_response(empty, "lda").summary()
    assert s["n"].tolist() == [0] * 5 and s["patients"].tolist() == [0] * 5
    assert s["percent"].isna().all()      # no percent of nobody


def test_classify_response_names_what_it_was_given_instead_of_visits():
    from msc_sle.clinical import classify_response

    with pytest.raises(TypeError, match=r"^classify_response needs a Cohort or a visits DataFrame, got list$"):
        classify_response([], "lda")


def test_the_paper_s_sledai_counts_serology_and_doris_does_not():
    from msc_sle.clinical import doris, paper_lda
    from test_outcomes import met_at

    # arthritis 4 + low complement 2 + increased DNA binding 2: SLEDAI-2K 8, clinical SLEDAI 4
    with_serology = ("arthritis", "low_complement", "increased_dna_binding")
    assert not met_at(paper_lda, with_serology, 5.0)
    assert met_at(paper_lda.with_thresholds(use_clinical_sledai=True), with_serology, 5.0)
    assert not met_at(doris, ("low_complement", "arthritis"), 5.0)


def test_a_definition_s_own_major_organs_replace_the_lldas_reading():
    from msc_sle.clinical import classify_response, paper_cr, sledai_reduction
    from test_outcomes import met_at, visit, cohort, SCORE

    # pleurisy (2 points) is major-organ activity in the LLDAS reading, not when only fever is listed
    assert not met_at(paper_cr, ("pleurisy",), 5.0)
    assert met_at(paper_cr.with_thresholds(major_organ=("fever",)), ("pleurisy",), 5.0)
    assert not met_at(paper_cr.with_thresholds(major_organ=("fever",)), ("fever",), 5.0)
    # a definition that does not check organs still shows the LLDAS reading in its visits table
    c = cohort(visit("A", 0, SCORE[12], 20.0), visit("A", 1, ("pleurisy",), 5.0))
    assert classify_response(c, sledai_reduction).visits["major_organ_active"].tolist() == [False, True]


def test_major_organ_activity_is_unknown_when_an_item_is_unrecorded_and_none_is_present():
    from msc_sle.clinical import classify_response, paper_lda
    from test_outcomes import cohort, visit

    c = cohort(visit("A", 1, (), 5.0, missing=("seizure",)),                  # none present, one unknown
               visit("B", 1, ("pleurisy",), 5.0, missing=("seizure",)),       # one present: active whatever
               visit("C", 1, (), 5.0, missing=("fever",)),
               visit("D", 1, (), 5.0, missing=("rash",)),                      # not a major-organ item
               visit("E", 1, (), 5.0))
    active = classify_response(c, "lda").visits["major_organ_active"]
    assert active.isna().tolist() == [True, False, True, False, False]
    assert active.tolist()[1] == True and active.tolist()[3:] == [False, False]   # noqa: E712
    # a variant without a score limit decides on organs alone: unknown, active, unknown, inactive, inactive
    met = classify_response(c, paper_lda.with_thresholds(sledai_max=None)).visits["met"]
    assert met.isna().tolist() == [True, False, True, False, False]
    assert met.tolist()[1] == False and met.tolist()[3:] == [True, True]          # noqa: E712


def test_an_unrecorded_item_at_a_patient_s_first_visit_may_be_new_activity():
    from msc_sle.clinical import classify_response, lldas
    from test_outcomes import cohort, visit

    # one patient per descriptor, seen once, that descriptor not recorded and nothing present
    c = cohort(*[visit(f"P{i:02d}", 1, (), 5.0, missing=(d,)) for i, d in enumerate(DESCRIPTORS)])
    v = classify_response(c, lldas).visits
    assert v["new_activity"].isna().all() and v["met"].isna().all()


def test_each_patient_s_fall_is_measured_from_their_own_baseline():
    from msc_sle.clinical import classify_response, sledai_reduction
    from test_outcomes import SCORE, cohort, visit

    c = cohort(visit("A", 0, SCORE[12], 20.0), visit("A", 1, SCORE[8], 5.0),     # 12 -> 8: fall 4
               visit("B", 0, SCORE[4], 20.0), visit("B", 1, SCORE[4], 5.0),      # 4 -> 4: fall 0
               visit("C", 1, SCORE[0], 5.0))                                     # no baseline: unknown
    r = classify_response(c, sledai_reduction)
    fall = r.visits["sledai_fall"]
    assert fall.isna().tolist() == [False] * 4 + [True] and fall.tolist()[:4] == [0, 4, 0, 0]
    assert r.visits["met"].isna().tolist() == [False] * 4 + [True]
    assert r.patients["ever"].tolist() == [True, False, False]


def test_without_a_dose_column_the_visits_table_shows_the_dose_as_a_missing_number():
    from msc_sle.clinical import classify_response, sledai_reduction
    from test_outcomes import SCORE, frame, visit

    # the SLEDAI-4 reduction needs no dose: it is shown as not recorded (NaN), as a recorded-but-missing dose is
    visits = frame(visit("A", 0, SCORE[12], 20.0), visit("A", 1, SCORE[8], 5.0)).drop(columns=["prednisone_mg"])
    dose = classify_response(visits, sledai_reduction).visits["prednisone_mg"]
    assert str(dose.dtype) == "float64" and dose.isna().all()


def test_doses_typed_as_whole_numbers_give_the_same_visits_table_as_the_same_doses_as_decimals():
    from msc_sle.clinical import classify_response
    from test_outcomes import SCORE, frame, visit

    visits = frame(visit("A", 0, SCORE[12], 20.0), visit("A", 1, SCORE[4], 5.0), visit("A", 3, SCORE[2], 7.0))
    as_decimals = classify_response(visits, "lda").visits
    for dtype in ("int64", "Int64"):
        pd.testing.assert_frame_equal(classify_response(visits.astype({"prednisone_mg": dtype}), "lda").visits, as_decimals)
