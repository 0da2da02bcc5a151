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


# ---------------------------------------------------------------- nobody eligible (issue 15)

def eligible_of(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ms.DataWarning)
        cohort = ms.load_cohort(FIXTURES / case)
    return cohort, ms.apply_eligibility(cohort)


def test_nobody_eligible_gives_zero_attrition_and_no_exception():
    """Every patient aged 18 (section 2.1: older than 18): each step computes, each says why it is empty."""
    import matplotlib.pyplot as plt

    from msc_sle.compare import paired_over_time
    from msc_sle.present import figures
    from msc_sle.present.format import friedman_text
    from msc_sle.present.tables import comparison_table, rounded_rates, table_one
    from msc_sle.rates import cumulative_response, response_rates

    cohort, eligibility = eligible_of("nobody_eligible")
    assert int(eligibility.attrition["remaining"].iloc[-1]) == 0
    frame = ms.analysis_frame(eligibility.cohort)
    assert len(frame) == 0
    assert "Not computable: no patient to describe (n = 0)." in table_one(frame).footnotes
    text = friedman_text(paired_over_time(frame))
    assert text.endswith("not computable: no patient (n = 0)")
    results = [ms.classify_response(eligibility.cohort, d) for d in ("lda", "cr")]
    rates = response_rates(results)
    assert (rounded_rates(rates)["shown"] == "0/0 (not computable: no patient)").all()
    result = ms.compare_groups(frame, by="cr_ever")
    assert result.table["test"].eq(
        "not testable: no patient in groups 'CR during 1 year: yes' and 'CR during 1 year: no'").all()
    notes = comparison_table(result).footnotes
    assert any("every variable: no patient in groups" in n for n in notes)
    for fig in (figures.sledai_over_time_figure(ms.clinical.sledai_long(frame)), figures.response_rate_figure(rates),
                figures.cumulative_response_figure(cumulative_response(results)),
                figures.forest_plot(figures.forest_data(result))):
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert any(t.startswith("Not computable") for t in texts), texts
        plt.close(fig)


def test_nobody_eligible_reproduction_says_why():
    from msc_sle.paper.reproduction import NO_ELIGIBLE, reproduction_table

    cohort, _ = eligible_of("nobody_eligible")
    result = reproduction_table(cohort)
    assert result.n_eligible == 0 and (result.table["status"] == "not computed").all()
    assert result.table["note"].str.contains(NO_ELIGIBLE, regex=False).all()
    assert result.headline().endswith(f"({NO_ELIGIBLE})")


def test_analysed_cohort_says_first_that_nobody_is_eligible(monkeypatch):
    from msc_sle.workbook import notebook

    shown = []
    monkeypatch.setattr(notebook, "_display", shown.append)
    cohort, _ = eligible_of("nobody_eligible")
    assert len(notebook.analysed_cohort(cohort).patients) == 0
    assert notebook.NO_ELIGIBLE in shown[0]["text/markdown"] and "all 6 patients" in shown[0]["text/plain"]
    shown.clear()
    base, _ = eligible_of("base")
    assert len(notebook.analysed_cohort(base).patients) == 6 and shown == []  # nothing said otherwise


def test_zero_responders_name_the_empty_group():
    from msc_sle.present.tables import comparison_table

    frame = frame_of("no_one_reaches_cr")
    result = ms.compare_groups(frame, by="cr_ever")
    notes = comparison_table(result).footnotes
    assert any("every variable: no patient in group 'CR during 1 year: yes'" in n for n in notes), notes
