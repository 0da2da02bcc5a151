"""Valid extracts whose analysis degenerates: the pipeline answers 'not testable', never crashes.

Uses the corpus cases no_one_reaches_cr, every_patient_responds and single_patient.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import msc_sle as ms

FIXTURES = Path(__file__).parent / "fixtures"


def frame_of(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ms.DataWarning)
        cohort = ms.load_cohort(FIXTURES / case)
    return ms.analysis_frame(ms.apply_eligibility(cohort).cohort)


@pytest.mark.parametrize("case, n_eligible, n_cr", [
    # hand count from tests/fixtures/build.py: every base patient is eligible (age 29-49, 6 ACR
    # criteria, refractory, baseline SLEDAI >= 8, infused 2010, 24 months follow-up)
    ("no_one_reaches_cr", 6, 0),        # prednisone 20 mg/day at every visit: never <= 5
    ("every_patient_responds", 6, 6),   # no descriptor and 5 mg/day at every follow-up visit
    ("single_patient", 1, 1),           # P001 alone, CR from month 3
])
def test_an_empty_comparison_group_gives_not_testable_rows(case, n_eligible, n_cr):
    frame = frame_of(case)
    assert len(frame) == n_eligible and int(frame["cr_ever"].sum()) == n_cr
    result = ms.compare_groups(frame, by="cr_ever").table
    assert len(result) > 0
    assert result["test"].str.startswith("not testable:").all()
    assert result["p_value"].isna().all()  # explicit 'not testable', so the NaN is not silent


def test_base_extract_is_testable():
    frame = frame_of("base")
    result = ms.compare_groups(frame, by="cr_ever").table
    # base: P001, P002 reach CR; the other four do not (hand-worked in tests/fixtures/build.py)
    assert int(frame["cr_ever"].sum()) == 2
    assert (~result["test"].str.startswith("not testable")).any()
