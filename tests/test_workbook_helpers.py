"""Notebook helpers (msc_sle.workbook, msc_sle.rates) and the figures: Wilson intervals, response rates, small-cell
suppression, forest-plot rows, deterministic figure files. Expected values are worked by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from msc_sle.rates import cumulative_response, wilson_interval
from msc_sle.present.figures import forest_data
from msc_sle.present.tables import rounded_rates
from msc_sle.workbook.explorer import response_rates
from msc_sle.workbook.disclosure import share_safe, suppress_small_counts


def test_wilson_interval_by_hand():
    # k=5, n=10, z=1.959964: centre = (0.5 + z^2/20) / (1 + z^2/10) = 0.5;
    # half = z * sqrt(0.025 + z^2/400) / (1 + z^2/10) = 1.959964 * 0.186020 / 1.384146 = 0.263407
    # (the textbook 0.2366-0.7634 for 5/10)
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.5 - 0.263407, abs=1e-5) and hi == pytest.approx(0.5 + 0.263407, abs=1e-5)
    # k=0: lower bound 0, upper = z^2/n / (1 + z^2/n) = 3.841459/20 / (1 + 3.841459/20) = 0.161125
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.161125, abs=1e-5)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


class _Definition:
    label = display_label = "LDA"


class _Result:
    """The shape of msc_sle.clinical.ResponseResult that response_rates reads."""

    def __init__(self):
        self.definition = _Definition()
        # 4 patients: A meets at 1 and 12, B at 3 only, C never, D never with month 6 missing
        self.patients = pd.DataFrame({
            "patient_id": ["A", "B", "C", "D"],
            "met_m1": [True, False, False, False], "met_m3": [False, True, False, False],
            "met_m6": [False, False, False, False], "met_m12": [True, False, False, False],
            "first_month": pd.array([1, 3, None, None], dtype="Int64"),
            "ever": [True, True, False, False], "n_missing": [0, 0, 0, 1]})
        rows = [(p, m) for p in "ABCD" for m in (0, 1, 3, 6, 12) if not (p == "D" and m == 6)]
        self.visits = pd.DataFrame(rows, columns=["patient_id", "month"])
        self.visits["met"] = pd.array([None if m == 0 else False for _, m in rows], dtype="boolean")


def test_response_rates_by_hand():
    rates = rounded_rates(response_rates(_Result()), decimals=1).set_index("when")
    assert rates.loc["month 1", "n"] == 1 and rates.loc["month 1", "patients"] == 4
    assert rates.loc["month 1", "shown"].startswith("1/4 (25.0%; 95% CI")
    assert rates.loc["during the year", "n"] == 2 and rates.loc["during the year", "percent"] == 50.0
    assert rates.loc["month 6", "missing visits"] == 1 and rates.loc["month 3", "missing visits"] == 0
    assert rates.loc["during the year", "missing visits"] == 1


def test_rates_round_half_up_like_the_tables():
    """1 of 16 is 6.25%: the tables print 6.3 (half up); Python's round would print 6.2."""
    raw = pd.DataFrame({"response": ["CR"], "when": ["month 1"], "n": [1], "patients": [16], "missing visits": [0],
                        "percent": [100 / 16], "ci_low": [0.3125], "ci_high": [28.25]})
    shown = rounded_rates(raw, decimals=1).iloc[0]
    assert round(100 / 16, 1) == 6.2                      # what the old f-string / round printed
    assert shown["percent"] == 6.3 and shown["shown"] == "1/16 (6.3%; 95% CI 0.3-28.3)"
    assert raw["percent"].iloc[0] == 6.25                 # the numbers themselves stay unrounded


def test_rate_table_rounds_the_cumulative_curve_too():
    cum = rounded_rates(cumulative_response(_Result()), decimals=1).set_index("month")
    assert cum.loc[1, "percent"] == 25.0 and cum.loc[1, "shown"].startswith("1/4 (25.0%; 95% CI")


def test_cumulative_response_by_hand():
    cum = cumulative_response(_Result()).set_index("month")["n"]
    assert cum.to_dict() == {0: 0, 1: 1, 3: 2, 6: 2, 12: 2}


def test_small_counts_are_suppressed_but_zero_and_large_are_kept():
    table = pd.DataFrame({"n": [0, 3, 5, 12], "shown": ["0 (0.0%)", "3 (4.3%)", "5/69 (7.2%; 95% CI 3-16)", "12/69"],
                          "p": [0.5, 0.01, 0.2, 0.03]})
    out = suppress_small_counts(table, 5)
    assert out["n"].tolist() == [0, "<5", 5, 12]
    assert out["shown"].tolist() == ["0 (0.0%)", "<5", "5/69 (7.2%; 95% CI 3-16)", "12/69"]
    assert out["p"].tolist() == [0.5, 0.01, 0.2, 0.03]  # p-values untouched
    assert suppress_small_counts(pd.DataFrame({"s": ["2/69"]}), 5)["s"].iloc[0] == "<5/69"
    assert suppress_small_counts(table, 0) is table


def test_share_safe_suppresses_publication_tables_body_and_numbers():
    from msc_sle.compare import compare_groups
    from msc_sle.present.tables import comparison_table

    data = pd.DataFrame({"grp": [True] * 10 + [False] * 10,
                         "fever": [True] * 2 + [False] * 8 + [True] * 6 + [False] * 4})
    shared = share_safe(comparison_table(compare_groups(data, by="grp", variables=["fever"])), 5)
    row = shared.body[shared.body.iloc[:, 0] == "fever"] if (shared.body.iloc[:, 0] == "fever").any() \
        else shared.body.iloc[[-1]]
    cells = row.iloc[0, 1:3].tolist()
    # 2 of 10 is small; 6 of 10 would leave 4 without fever, small too: withheld as [c]
    assert cells == ["<5", "[c]"]
    assert shared.tidy["g1_count"].iloc[0] == "<5" and shared.tidy["g1_pct"].iloc[0] is None
    assert shared.tidy["g2_count"].iloc[0] == "[c]" and shared.tidy["p_value"].iloc[0] == "[c]"
    assert any("shown as <5" in note for note in shared.footnotes)


def test_forest_rows_one_per_variable_with_test_and_q():
    result = pd.DataFrame({
        "variable": ["sex", "fever", "dose", "dose", "pred"],
        "label": ["Female", "Fever", "Dose", "Dose", "Prednisone use"],
        "level": ["F", True, "<20", ">=20", True],
        "effect": ["odds ratio", "odds ratio", "odds ratio", "odds ratio", ""],
        "effect_estimate": [2.0, 0.5, 3.0, 1 / 3, np.nan], "effect_ci_low": [0.5, 0.1, 1.0, 0.1, np.nan],
        "effect_ci_high": [8.0, 2.5, 9.0, 1.0, np.nan], "p_value": [0.3, 0.0004, 0.05, 0.05, np.nan],
        "q_value": [0.4, 0.002, 0.1, 0.1, np.nan], "test": ["fisher", "chi2", "chi2", "chi2", "not testable: x"]})
    rows = forest_data(result)
    assert rows["label"].tolist() == ["Female", "Fever", "Dose: <20"]  # reciprocal level dropped
    # p and q as Table 2 prints them (two decimals, three below 0.01)
    assert rows["annotation"].tolist() == ["p = 0.30 (Fisher's exact); q = 0.40", "p < 0.001 (Pearson chi-square); q = 0.002",
                                           "p = 0.05 (Pearson chi-square); q = 0.10"]


def test_saved_figures_are_byte_identical_across_runs(tmp_path):
    import matplotlib.pyplot as plt

    from msc_sle.present.figures import response_rate_figure, save_figure, use_print_style

    use_print_style()
    rates = response_rates(_Result())
    for run in ("a", "b"):
        fig = response_rate_figure(rates)
        save_figure(fig, "rates", tmp_path / run)
        plt.close(fig)
    for ext in ("png", "svg"):
        a = (tmp_path / "a" / "figures" / f"rates.{ext}").read_bytes()
        assert a == (tmp_path / "b" / "figures" / f"rates.{ext}").read_bytes(), ext
    svg = (tmp_path / "a" / "figures" / "rates.svg").read_text()
    assert "<dc:date>" not in svg and "Patients meeting the definition (%, of n = 4)" in svg


def test_suppressed_rates_blank_the_percentages_that_give_counts_back():
    from msc_sle.workbook.disclosure import suppress_rates

    rates = rounded_rates(response_rates(_Result()))  # n = 1 at month 1 of 4 patients
    shared = suppress_rates(rates, 5).set_index("when")
    assert shared.loc["month 1", "n"] == "<5" and shared.loc["month 1", "shown"].startswith("<5/4")
    assert math.isnan(shared.loc["month 1", "percent"]) and math.isnan(shared.loc["month 1", "ci_high"])
    assert shared.loc["month 6", "n"] == 0 and shared.loc["month 6", "percent"] == 0.0  # zero is shown


def test_explorer_compares_every_variable_it_offers_including_not_applicable_ones():
    """Every baseline variable the explorer's dropdown offers can be compared; the CYC induction dose
    group applies to induced patients only, so its applicability column must travel with it (it
    once raised KeyError in the explorer, found by bench_widgets)."""
    from msc_sle.clinical import analysis_frame, load_cohort
    from msc_sle.workbook.explorer import explore, variable_choices

    cohort = load_cohort()
    frame = analysis_frame(cohort)
    names = [name for _, name in variable_choices(frame)]
    assert "cyc_induction_dose_group" in names
    for name in names:
        assert explore(cohort, frame, variable=name).comparison is not None, name
    body = explore(cohort, frame, variable="cyc_induction_dose_group").comparison.body
    text = body.to_string()
    assert "induced" in text and "Missing" not in text  # not-applicable patients are not missing
