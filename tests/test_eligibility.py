"""Eligibility (section 2.1): each criterion excludes its patient, in order, with an attrition table."""
import numpy as np
import pandas as pd
import pytest

from msc_sle.clinical import Criterion, apply_eligibility, baseline_sledai, paper_criteria
from msc_sle.contract import BUNDLED_DATA, Cohort, DataError
from msc_sle.clinical import load_cohort
from msc_sle.clinical import SLEDAI2K_WEIGHTS

ELIGIBLE = dict(age_years=32.0, acr_criteria_count=6, refractory=True, first_infusion_date="2010-05-03",
                follow_up_months=24.0)
BASELINE_8 = ("arthritis", "myositis")          # 4 + 4 = 8
BASELINE_6 = ("arthritis", "rash")              # 4 + 2 = 6
BASELINE_7 = ("arthritis", "rash", "fever")     # 4 + 2 + 1 = 7


def build(spec):
    """spec: {patient_id: (patient overrides, baseline descriptors or None for no month-0 visit)}."""
    patients, visits = [], []
    for pid, (overrides, baseline) in spec.items():
        patients.append({"patient_id": pid, **ELIGIBLE, **overrides})
        months = ([0] if baseline is not None else []) + [1, 3, 6, 12]
        for m in months:
            present = baseline if m == 0 else ()
            visits.append({"patient_id": pid, "month": m, **{d: d in present for d in SLEDAI2K_WEIGHTS},
                           "prednisone_mg": 20.0 if m == 0 else 5.0})
    p = pd.DataFrame(patients).astype({"patient_id": "string", "age_years": "float64",
                                       "acr_criteria_count": "Int64", "refractory": "boolean",
                                       "follow_up_months": "float64"})
    p["first_infusion_date"] = pd.to_datetime(p["first_infusion_date"])
    v = pd.DataFrame(visits).astype({d: "boolean" for d in SLEDAI2K_WEIGHTS} | {"patient_id": "string",
                                                                                 "month": "Int64"})
    return Cohort(p, v, source="hand-built")


SPEC = {
    "P01": ({}, BASELINE_8),
    "P02": ({"age_years": 18.0}, BASELINE_8),                       # adult: age must be > 18
    "P03": ({"acr_criteria_count": 3}, BASELINE_8),                 # ACR: needs >= 4
    "P04": ({"refractory": False}, BASELINE_8),                     # not refractory
    "P05": ({}, BASELINE_7),                                        # baseline SLEDAI 7 < 8
    "P06": ({"first_infusion_date": "2007-02-28"}, BASELINE_8),     # before March 2007
    "P07": ({"first_infusion_date": "2014-01-01"}, BASELINE_8),     # after December 2013
    "P08": ({"follow_up_months": 11.9}, BASELINE_8),                # under one year
    "P09": ({}, None),                                              # no baseline visit: SLEDAI missing
    "P10": ({"age_years": 18.5, "acr_criteria_count": 4, "first_infusion_date": "2007-03-01",
             "follow_up_months": 12.0}, BASELINE_8),                # every boundary, eligible
    "P11": ({"first_infusion_date": "2013-12-31"}, BASELINE_8),     # last day of the window, eligible
    "P12": ({"age_years": np.nan}, BASELINE_8),                     # age missing
    "P13": ({"age_years": 16.0, "acr_criteria_count": 2}, BASELINE_6),  # fails several: counted once
}


@pytest.fixture(scope="module")
def result():
    return apply_eligibility(build(SPEC))


def test_attrition_in_the_papers_order_with_hand_counts(result):
    a = result.attrition
    assert a["criterion"].tolist() == ["screened", "adult", "acr_criteria", "refractory", "baseline_sledai",
                                       "infusion_window", "follow_up"]
    # adult: P02, P12 (missing), P13 | ACR: P03 | refractory: P04 | SLEDAI: P05, P09 | window: P06, P07 | P08
    assert a["excluded"].tolist()[1:] == [3, 1, 1, 2, 2, 1]
    assert a["missing"].tolist()[1:] == [1, 0, 0, 1, 0, 0]
    assert a["remaining"].tolist() == [13, 10, 9, 8, 6, 4, 3]
    assert pd.isna(a["excluded"].iloc[0])
    assert list(a.columns) == ["criterion", "description", "exclusion", "excluded", "missing", "remaining"]


def test_each_patient_is_excluded_by_the_first_criterion_failed(result):
    by = dict(zip(result.excluded["patient_id"], result.excluded["criterion"]))
    assert by == {"P02": "adult", "P12": "adult", "P13": "adult", "P03": "acr_criteria", "P04": "refractory",
                  "P05": "baseline_sledai", "P09": "baseline_sledai", "P06": "infusion_window",
                  "P07": "infusion_window", "P08": "follow_up"}


def test_missing_data_excludes_and_says_so(result):
    reason = dict(zip(result.excluded["patient_id"], result.excluded["reason"]))
    assert reason["P09"] == "baseline SLEDAI missing"
    assert reason["P12"] == "age missing"
    assert reason["P05"] == "SLEDAI-2K below 8 at baseline"


def test_exclusion_reasons_in_clinical_words_and_the_criteria_order(result):
    """What the flow diagram and the reasons table print: the failed rule said as a clinician says
    it (not "not age > 18 years"), one row per patient in the order of the criteria."""
    reason = dict(zip(result.excluded["patient_id"], result.excluded["reason"]))
    assert reason["P02"] == "age 18 years or younger at first MSC infusion"
    assert reason["P03"] == "fewer than 4 of the 11 ACR 1997 criteria"
    assert reason["P04"] == "not refractory to previous treatment"
    assert reason["P06"] == "first MSC infusion before 2007-03-01 or after 2013-12-31"
    assert reason["P08"] == "follow-up shorter than 12 months after the first infusion"
    assert result.excluded["criterion"].tolist() == ["adult"] * 3 + ["acr_criteria", "refractory"] + \
        ["baseline_sledai"] * 2 + ["infusion_window"] * 2 + ["follow_up"]
    assert result.attrition["exclusion"].tolist()[1:3] == [reason["P02"], reason["P03"]]


def test_eligible_cohort_keeps_patients_and_their_visits_only(result):
    eligible = result.cohort
    assert eligible.patients["patient_id"].tolist() == ["P01", "P10", "P11"]
    assert sorted(set(eligible.visits["patient_id"])) == ["P01", "P10", "P11"]
    assert len(eligible.visits) == 3 * 5
    assert eligible.source == "hand-built"
    assert "3 of 13" in eligible.notes[-1]


def test_baseline_sledai_is_computed_from_month_0_descriptors():
    c = build({"A": ({}, BASELINE_8), "B": ({}, BASELINE_6), "C": ({}, None)})
    assert baseline_sledai(c).tolist() == [8, 6, pd.NA]


def test_parameters_change_the_thresholds():
    c = build(SPEC)
    looser = apply_eligibility(c, paper_criteria(min_age_exclusive=17, min_baseline_sledai=7,
                                                 min_follow_up_months=11.5))
    kept = set(looser.cohort.patients["patient_id"])
    assert {"P02", "P05", "P08"} <= kept
    assert "P13" not in kept                     # 16 years old


def test_a_criterion_can_be_dropped():
    c = build(SPEC)
    no_refractory = apply_eligibility(c, paper_criteria(require_refractory=False))
    assert "refractory" not in no_refractory.attrition["criterion"].tolist()
    assert "P04" in set(no_refractory.cohort.patients["patient_id"])
    no_window = paper_criteria(infusion_start=None, infusion_end=None, min_follow_up_months=None)
    assert [k.name for k in no_window] == ["adult", "acr_criteria", "refractory", "baseline_sledai"]


def test_open_ended_infusion_window():
    c = build(SPEC)
    since = apply_eligibility(c, paper_criteria(infusion_end=None)).cohort.patients["patient_id"].tolist()
    assert "P07" in since and "P06" not in since


def test_criteria_describe_their_thresholds_and_sources():
    criteria = paper_criteria()
    assert all(k.source and k.description for k in criteria)
    assert "> 18" in criteria[0].description and ">= 4" in criteria[1].description
    assert "2007-03-01" in criteria[4].description and "2013-12-31" in criteria[4].description


def test_custom_criterion():
    c = build({"A": ({}, BASELINE_8), "B": ({}, BASELINE_8)})
    women = Criterion("only_a", "patient A only", "test", lambda k: k.patients["patient_id"] == "A")
    r = apply_eligibility(c, [women])
    assert r.attrition["remaining"].tolist() == [2, 1]
    assert r.excluded["patient_id"].tolist() == ["B"]


def test_bad_predicates_and_arguments_are_refused():
    c = build({"A": ({}, BASELINE_8)})
    with pytest.raises(ValueError, match="aligned"):
        apply_eligibility(c, [Criterion("x", "x", "test", lambda k: pd.Series([True, False]))])
    with pytest.raises(TypeError, match="booleans"):
        apply_eligibility(c, [Criterion("x", "x", "test", lambda k: k.patients["age_years"])])
    with pytest.raises(TypeError, match="Cohort"):
        apply_eligibility(c.patients)
    with pytest.raises(ValueError, match="before"):
        paper_criteria(infusion_start="2014-01-01", infusion_end="2013-01-01")
    with pytest.raises(ValueError, match="distinct"):
        apply_eligibility(c, paper_criteria() + paper_criteria()[:1])


def test_missing_column_is_a_data_error():
    c = build({"A": ({}, BASELINE_8)})
    c = Cohort(c.patients.drop(columns="follow_up_months"), c.visits)
    with pytest.raises(DataError, match="follow_up_months"):
        apply_eligibility(c)


# ---------------------------------------------------------------- the bundled SYNTHETIC cohort

def _bundled():
    if not (BUNDLED_DATA / "patients.csv").exists():
        pytest.skip("the bundled synthetic cohort is not there yet")
    return load_cohort()


def test_bundled_attrition_ends_at_the_published_n():
    from msc_sle.paper.published import load_published, select_published
    cohort = _bundled()
    n = select_published(load_published(), source="Table 1", variable="n", statistic="n")["value"].iloc[0]
    attrition = apply_eligibility(cohort).attrition
    assert attrition["remaining"].iloc[-1] == n
    assert (attrition["excluded"].iloc[1:] >= 1).all()     # every criterion excludes someone


def test_bundled_response_counts_match_the_published_ones():
    from msc_sle.clinical import analysis_frame
    from msc_sle.paper.published import load_published, select_published
    frame = analysis_frame(apply_eligibility(_bundled()).cohort)
    published = select_published(load_published(), source="Section 3.2",
                                  variable=["cr_ever", "lda_ever", "cr_m12", "lda_m12"], statistic="n")
    assert len(published) == 4
    for row in published.itertuples():
        assert int(frame[row.variable].sum()) == row.value, row.variable
