"""Property tests (hypothesis) of the clinical rules on small random cohorts."""
import dataclasses

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from msc_sle.contract import Cohort
from msc_sle.clinical import classify_response, doris, lldas, paper_cr, paper_lda, sledai_reduction
from msc_sle.clinical import MAJOR_ORGAN_DESCRIPTORS, SLEDAI2K_WEIGHTS, sledai2k

# The reference table typed again here, so the totals are checked against something the code did not produce.
REFERENCE_WEIGHTS = {
    **dict.fromkeys(["seizure", "psychosis", "organic_brain_syndrome", "visual_disturbance",
                     "cranial_nerve_disorder", "lupus_headache", "cva", "vasculitis"], 8),
    **dict.fromkeys(["arthritis", "myositis", "urinary_casts", "hematuria", "proteinuria", "pyuria"], 4),
    **dict.fromkeys(["rash", "alopecia", "mucosal_ulcers", "pleurisy", "pericarditis", "low_complement",
                     "increased_dna_binding"], 2),
    **dict.fromkeys(["fever", "thrombocytopenia", "leukopenia"], 1),
}
DESCRIPTORS = list(SLEDAI2K_WEIGHTS)
MONTHS = (0, 1, 3, 6, 12)
DOSES = [0.0, 2.5, 5.0, 5.1, 7.5, 7.6, 10.0, 20.0, np.nan]
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Descriptor cells: 0 = absent, 1 = present, 2 = not recorded (mostly absent, as in real visits).
CELLS = hnp.arrays(np.int8, st.tuples(st.integers(1, 25), st.just(len(DESCRIPTORS))),
                   elements=st.sampled_from([0, 0, 0, 0, 1, 1, 2]))


def descriptor_frame(cells: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({d: pd.arrays.BooleanArray(cells[:, j] == 1, cells[:, j] == 2)
                         for j, d in enumerate(DESCRIPTORS)})


@st.composite
def visit_rows(draw):
    return draw(CELLS)


@st.composite
def cohorts(draw, max_patients=5):
    n = draw(st.integers(1, max_patients))
    scheduled = draw(hnp.arrays(bool, (n, len(MONTHS))))          # which visits exist
    pid, month = np.nonzero(scheduled)
    cells = draw(hnp.arrays(np.int8, (len(pid), len(DESCRIPTORS)), elements=st.sampled_from([0, 0, 0, 0, 1, 1, 2])))
    doses = draw(hnp.arrays(np.int8, len(pid), elements=st.integers(0, len(DOSES) - 1)))
    v = descriptor_frame(cells)
    v.insert(0, "patient_id", pd.array([f"P{i}" for i in pid], dtype="string"))
    v.insert(1, "month", pd.array(np.asarray(MONTHS)[month], dtype="Int64"))
    v["prednisone_mg"] = np.asarray(DOSES)[doses]
    if draw(st.booleans()):   # unsorted rows take the general alignment path
        v = v.iloc[draw(st.permutations(range(len(v))))]
    ids = pd.array([f"P{i}" for i in range(n)], dtype="string")
    return Cohort(pd.DataFrame({"patient_id": ids}), v)


@FAST
@given(visit_rows())
def test_totals_stay_within_0_105_and_equal_the_reference_sum(cells):
    s = sledai2k(descriptor_frame(cells)).scores
    weights = np.array([REFERENCE_WEIGHTS[d] for d in DESCRIPTORS])
    for i, row in enumerate(cells):
        if (row == 2).any():
            assert pd.isna(s["total"].iloc[i])
        else:
            expected = int(weights[row == 1].sum())
            assert s["total"].iloc[i] == expected
            assert 0 <= s["total"].iloc[i] <= 105
            assert 0 <= s["clinical"].iloc[i] <= s["total"].iloc[i]
            domains = s.drop(columns=["total", "clinical"]).iloc[i]
            assert domains.sum() == expected


@FAST
@given(cohorts())
def test_with_default_thresholds_every_cr_visit_is_an_lda_visit(cohort):
    cr = classify_response(cohort, paper_cr)
    lda = classify_response(cohort, paper_lda)
    cr_met = cr.visits["met"].fillna(False).to_numpy(dtype=bool)
    lda_met = lda.visits["met"].fillna(False).to_numpy(dtype=bool)
    assert not (cr_met & ~lda_met).any()
    for col in ["met_m1", "met_m3", "met_m6", "met_m12", "ever"]:
        assert not (cr.patients[col].to_numpy(dtype=bool) & ~lda.patients[col].to_numpy(dtype=bool)).any()


def _tighten(definition, which, data):
    """A stricter variant of ``definition`` along one threshold."""
    if which == "sledai_max":
        base = 105 if definition.sledai_max is None else definition.sledai_max
        return dataclasses.replace(definition, sledai_max=max(0, base - data.draw(st.integers(1, 4))))
    if which == "prednisone_max":
        base = 1000.0 if definition.prednisone_max is None else definition.prednisone_max
        return dataclasses.replace(definition, prednisone_max=max(0.0, base - data.draw(st.sampled_from([0.1, 2.5, 5]))))
    if which == "major_organ":
        extra = data.draw(st.lists(st.sampled_from(DESCRIPTORS), max_size=4))
        return dataclasses.replace(definition, major_organ=tuple(dict.fromkeys(definition.major_organ + tuple(extra))))
    if which == "require_no_new_activity":
        return dataclasses.replace(definition, require_no_new_activity=True)
    if which == "min_reduction":
        base = 0 if definition.min_reduction is None else definition.min_reduction
        return dataclasses.replace(definition, min_reduction=base + data.draw(st.integers(1, 4)))
    if which == "use_clinical_sledai":   # SLEDAI-2K >= clinical SLEDAI: switching to it is stricter
        return dataclasses.replace(definition, use_clinical_sledai=False)
    raise AssertionError(which)


@FAST
@given(cohorts(), st.sampled_from([paper_lda, paper_cr, lldas, doris, sledai_reduction]),
       st.sampled_from(["sledai_max", "prednisone_max", "major_organ", "require_no_new_activity",
                        "min_reduction", "use_clinical_sledai"]), st.data())
def test_tightening_any_threshold_never_adds_responders(cohort, definition, which, data):
    if which == "use_clinical_sledai" and definition.min_reduction is not None:
        return   # a fall in clinical SLEDAI is not bounded by the fall in SLEDAI-2K: not a tightening
    strict = _tighten(definition, which, data)
    loose_result = classify_response(cohort, definition)
    strict_result = classify_response(cohort, strict)
    for col in ["met_m1", "met_m3", "met_m6", "met_m12", "ever"]:
        loose = loose_result.patients[col].to_numpy(dtype=bool)
        tight = strict_result.patients[col].to_numpy(dtype=bool)
        assert not (tight & ~loose).any(), (col, strict)
    assert (strict_result.patients["n_missing"] >= 0).all()


@FAST
@given(cohorts())
def test_row_order_does_not_change_the_patient_summary(cohort):
    shuffled = Cohort(cohort.patients, cohort.visits.iloc[::-1])
    a = classify_response(cohort, lldas).patients
    b = classify_response(shuffled, lldas).patients
    pd.testing.assert_frame_equal(a, b)


@FAST
@given(cohorts())
def test_major_organ_activity_is_any_listed_descriptor_present(cohort):
    v = classify_response(cohort, paper_lda).visits
    present = cohort.visits[list(MAJOR_ORGAN_DESCRIPTORS)]
    any_true = present.fillna(False).any(axis=1).to_numpy(dtype=bool)
    all_known = present.notna().all(axis=1).to_numpy()
    active = v["major_organ_active"]
    assert (active.fillna(False).to_numpy(dtype=bool) == any_true).all()
    assert (active.isna().to_numpy() == (~any_true & ~all_known)).all()
