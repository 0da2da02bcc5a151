"""Boundary tests of the two printed rules issue 24 found unguarded (`make mutants`, docs/testing.md).

- The exact-test rule (clinical-definitions reference, "How the paper tested"; SPSS's footnote): a
  2x2 or larger table goes to Fisher's exact test when an expected count is *below* 5; Cochran's
  (1954) variant when an expected count is below 1 or *more than* 20% of them are below 5. Each
  table below is built so that an expected count lands exactly on the threshold, worked out by hand
  (row total x column total / n).
- The threshold rule of `make share` (docs/disclosure.md, rule 1): a count from 1 to t - 1 is
  withheld and printed `<t`; t itself is printed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msc_sle.compare import compare_groups
from msc_sle.workbook.disclosure import MARK_C, shown_count, small_label, suppress_small_counts
from msc_sle.workbook.ledger import COMPLEMENTARY, PRIMARY, PUBLISHED, Ledger


def _frame(group_1: dict, group_2: dict) -> pd.DataFrame:
    """Patients of two groups with the level counts given (a categorical ``v``)."""
    levels = list(dict.fromkeys([*group_1, *group_2]))
    g, v = [], []
    for flag, counts in ((True, group_1), (False, group_2)):
        for level, k in counts.items():
            g += [flag] * k
            v += [level] * k
    return pd.DataFrame({"g": g, "v": pd.Categorical(v, categories=levels)})


def _test(df, rule="expected_lt_5"):
    table = compare_groups(df, "g", ["v"], test_rule=rule, n_resamples=200).table
    return table["test"].iloc[0], table["note"].iloc[0]


# --- the exact-test rule: "an expected count below 5" -----------------------------------------

def test_an_expected_count_of_exactly_5_keeps_pearson():
    # 10 + 10 patients, 10 with the level: every expected count is 10 x 10 / 20 = 5, none below 5
    test, note = _test(_frame({"yes": 5, "no": 5}, {"yes": 5, "no": 5}))
    assert (test, note) == ("chi2", "")


def test_an_expected_count_just_below_5_calls_fisher_and_says_so():
    # 10 + 10 patients, 9 with the level: expected 10 x 9 / 20 = 4.5 in both groups
    test, note = _test(_frame({"yes": 5, "no": 5}, {"yes": 4, "no": 6}))
    assert test == "fisher" and "smallest expected count 4.50 < 5" in note


def test_pearson_only_never_calls_fisher():
    assert _test(_frame({"yes": 1, "no": 9}, {"yes": 2, "no": 8}), "pearson_only") == ("chi2", "")


def _with(df, tests=None, rule="expected_lt_5"):
    row = compare_groups(df, "g", ["v"], tests=tests, test_rule=rule, n_resamples=200).table.iloc[0]
    return row["test"], row["note"]


def test_a_level_seen_in_one_patient_is_a_level():
    # 1 of 20 patients has it: a 2x2 table (expected 0.5), not "all patients: no"
    test, note = _with(_frame({"yes": 1, "no": 9}, {"yes": 0, "no": 10}))
    assert test == "fisher" and note.startswith("smallest expected count 0.50 < 5")


def test_a_test_asked_for_by_name_replaces_the_rule_and_its_reason():
    small = _frame({"yes": 1, "no": 9}, {"yes": 4, "no": 6})            # expected 2.5: the rule says Fisher
    assert _with(small, {"v": "chi2"}) == ("chi2", "")
    three = _frame({"a": 1, "b": 4, "c": 5}, {"a": 3, "b": 3, "c": 4})   # 2x3
    assert _with(three, {"v": "fisher"})[0] == "fisher_freeman_halton"   # Fisher's test of a larger table
    assert _with(three, {"v": "chi2"})[0] == "chi2"


def test_a_level_nobody_has_is_named_beside_the_rule_s_reason():
    df = _frame({"a": 1, "b": 9}, {"a": 4, "b": 6})
    df["v"] = df["v"].cat.add_categories(["c"])                          # three levels, c never observed
    test, note = _with(df)
    assert test == "fisher"
    assert note.startswith("smallest expected count 2.50 < 5; ") and note.endswith("levels never observed: c")


def test_a_group_with_nothing_recorded_is_not_tested_and_named():
    df = _frame({"a": 3, "b": 2}, {"a": 4, "b": 6})
    df["v"] = df["v"].astype(object)
    df.loc[df["g"], "v"] = None
    df["v"] = pd.Categorical(df["v"], categories=["a", "b"])
    table = compare_groups(df, "g", ["v"], n_resamples=200).table
    assert table["test"].iloc[0] == "not testable: no value recorded in group g: yes"


# --- Cochran's rule: any expected count below 1, or more than 20% below 5 ----------------------

def test_cochran_two_of_ten_small_cells_is_not_more_than_20_percent():
    # 21 + 84 patients over 5 levels of 5, 25, 25, 25, 25: expected 1.0, 5, 5, 5, 5 in the first group
    # and 4.0, 20, 20, 20, 20 in the second: 2 of 10 cells below 5 (20%, not more), the smallest is 1
    df = _frame({"a": 1, "b": 5, "c": 5, "d": 5, "e": 5}, {"a": 4, "b": 20, "c": 20, "d": 20, "e": 20})
    assert _test(df, "cochran") == ("chi2", "")
    assert _test(df)[0] == "fisher_freeman_halton"        # the textbook rule: 1.0 < 5


def test_cochran_three_of_ten_small_cells_calls_the_exact_test():
    # 20 + 80 patients over 10, 10, 10, 35, 35: expected 2, 2, 2, 7, 7 and 8, 8, 8, 28, 28: 3 of 10 (30%)
    df = _frame({"a": 2, "b": 2, "c": 2, "d": 7, "e": 7}, {"a": 8, "b": 8, "c": 8, "d": 28, "e": 28})
    test, note = _test(df, "cochran")
    assert test == "fisher_freeman_halton"
    assert "Cochran's rule: 3 of 10 expected counts < 5, smallest 2.00" in note


def test_cochran_an_expected_count_below_1_calls_the_exact_test_on_its_own():
    # 21 + 84 patients over 4, 26, 25, 25, 25: expected 0.8, 5.2, 5, 5, 5 and 3.2, 20.8, 20, 20, 20:
    # 2 of 10 cells below 5 (20%, not more) but one below 1
    df = _frame({"a": 1, "b": 5, "c": 5, "d": 5, "e": 5}, {"a": 3, "b": 21, "c": 20, "d": 20, "e": 20})
    test, note = _test(df, "cochran")
    assert test == "fisher_freeman_halton" and "2 of 10 expected counts < 5, smallest 0.80" in note


# --- the threshold rule of make share: 1 .. t-1 withheld, t printed ---------------------------

@pytest.mark.parametrize("t", [3, 5, 10])
def test_counts_from_1_to_t_minus_1_are_withheld_and_t_is_printed(t):
    assert [shown_count(v, t) for v in (1, t - 1)] == [f"<{t}"] * 2
    assert shown_count(t, t) == str(t) and shown_count(0, t) == "0"
    assert shown_count(0, t, zero=True) == f"<{t}"
    # the rest of a total is a count too: 69 - (69 - t + 1) = t - 1 is small, 69 - (69 - t) = t is not
    assert shown_count(69 - t + 1, t, of=69) == MARK_C and shown_count(69 - t, t, of=69) == str(69 - t)
    assert shown_count(69, t, of=69) == "69" and shown_count(69, t, of=69, zero=True) == MARK_C
    assert small_label(t) == f"<{t}"


def test_a_threshold_of_1_or_less_withholds_nothing_and_2_withholds_ones():
    assert shown_count(1, 1) == "1" and shown_count(0, 0, zero=True) == "0" and shown_count(0, 1, zero=True) == "0"
    table = pd.DataFrame({"n": [0, 1, 2]})
    assert suppress_small_counts(table, 1) is table
    assert suppress_small_counts(table, 1, zero=True) is table
    assert shown_count(1, 2) == "<2" and shown_count(2, 2) == "2"
    assert suppress_small_counts(table, 2)["n"].tolist() == [0, "<2", 2]


def test_table_cells_at_the_threshold():
    table = pd.DataFrame({
        "n": pd.array([4, 5, 0, 1], dtype="Int64"),
        "n (%)": ["4 (20.0%)", "5 (25.0%)", "0 (0.0%)", "1 (5.0%)"],
        "n/N (%)": ["4/20 (20.0%)", "5/20 (25.0%)", "0/20 (0.0%)", "1/20 (5.0%)"],
        "n/N": ["4/20", "5/20", "0/20", "1/20"],
        "flag": [True, False, True, None],
        "label": ["4", "x", "y", "z"],
        "percent": [4.0, 5.0, 0.0, 1.0],
        "sex": pd.Categorical(["F", "M", "F", "M"]),
    })
    out = suppress_small_counts(table, 5)
    assert out["n"].tolist() == ["<5", 5, 0, "<5"]
    assert out["n (%)"].tolist() == ["<5", "5 (25.0%)", "0 (0.0%)", "<5"]
    assert out["n/N (%)"].tolist() == ["<5/20", "5/20 (25.0%)", "0/20 (0.0%)", "<5/20"]
    assert out["n/N"].tolist() == ["<5/20", "5/20", "0/20", "<5/20"]
    assert out["flag"].tolist() == [True, False, True, None] and out["label"].tolist() == ["4", "x", "y", "z"]
    assert str(out["percent"].dtype) == "float64" and str(out["flag"].dtype) == "object"   # not counts: untouched
    assert out["percent"].tolist() == [4.0, 5.0, 0.0, 1.0] and str(out["sex"].dtype) == "category"
    zero = suppress_small_counts(table, 5, zero=True)
    assert zero["n"].tolist()[2] == "<5" and zero["n/N"].tolist()[2] == "<5/20"
    only = suppress_small_counts(table, 5, columns=["n"])
    assert only["n"].tolist()[0] == "<5" and only["n/N"].tolist()[0] == "4/20"
    assert table["n"].tolist() == [4, 5, 0, 1]           # the input is not changed


def test_the_shared_footnote_states_the_threshold():
    from msc_sle.workbook.disclosure import _footnote

    # printed under every shared table: the rule of docs/disclosure.md (rules 1, 3, 4 and 6) in one sentence
    assert _footnote(5, False) == (
        "Shared bundle: counts from 1 to 4 are shown as <5; [c]: a count withheld so that no <5 can be worked "
        "out from the others, or a percentage, p-value, effect size, median or quartile computed from a withheld "
        "count; minima and maxima are not shown; q-values (and Holm-adjusted p) take every withheld p-value as 1 "
        "(the appendix explains how).")
    assert "1 to 9 and zero counts of patients with a characteristic or response are shown as <10" in _footnote(10, True)


@pytest.mark.parametrize("t", [3, 5])
def test_the_ledger_withholds_1_to_t_minus_1(t):
    ledger = Ledger(t, zero=False)
    for v in (0, 1, t - 1, t, t + 1):
        ledger.add(("count", v), v)
    assert [ledger.sensitive(("count", v)) for v in (0, 1, t - 1, t, t + 1)] == [False, True, True, False, False]
    assert ledger.bounds(("count", 1), PRIMARY) == (1, t - 1)
    assert ledger.bounds(("count", t), COMPLEMENTARY) == (t, np.inf)
    assert ledger.bounds(("count", t), PUBLISHED) == (t, t)
    assert ledger.bounds(("count", t), "implicit") == (0, np.inf)


def test_the_ledger_withholds_zero_counts_of_patients_not_zero_missing_counts():
    from msc_sle.workbook.ledger import MISSING

    ledger = Ledger(5, zero=True)
    ledger.add(("count", "fever"), 0)
    ledger.add(("missing", "fever"), 0, kind=MISSING)
    assert ledger.sensitive(("count", "fever")) and not ledger.sensitive(("missing", "fever"))
    assert ledger.bounds(("count", "fever"), PRIMARY) == (0, 4)
    assert ledger.bounds(("missing", "fever"), PRIMARY) == (1, 4)
