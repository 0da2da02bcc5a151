"""Wilson interval against statsmodels and R; p-value adjustment against statsmodels, scipy, R."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import false_discovery_control
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from msc_sle.stats import adjust_pvalues, wilson_interval


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500), st.data(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_is_statsmodels_wilson(n, data, conf):
    k = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(k, n, confidence=conf)
    ref = proportion_confint(k, n, alpha=1 - conf, method="wilson")
    assert (lo, hi) == pytest.approx(ref, rel=1e-10, abs=1e-14)


def test_wilson_against_r_prop_test():
    # R 4.2.2: prop.test(3, 10, correct=FALSE)$conf.int (the Wilson score interval)
    assert wilson_interval(3, 10) == pytest.approx((0.10779126740630104, 0.60322185253885452),
                                                   rel=1e-12)
    # R 4.2.2: prop.test(0, 12, correct=FALSE)$conf.int
    assert wilson_interval(0, 12) == pytest.approx((0.0, 0.24249400665524079), rel=1e-12)


def test_wilson_edge_cases_and_bad_input():
    lo, hi = wilson_interval(0, 0)
    assert math.isnan(lo) and math.isnan(hi)
    lo, hi = wilson_interval(5, 5)
    assert hi == 1.0
    with pytest.raises(ValueError, match="k must be within 0..n"):
        wilson_interval(6, 5)
    with pytest.raises(ValueError, match="non-negative integer"):
        wilson_interval(-1, 5)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 5, confidence=1.0)


P = [0.01, 0.04, 0.03, 0.2, 0.005, 0.5]


def _pvalue_lists():
    rng = np.random.default_rng(5)
    cases = [[0.5], [0.0, 1.0, 0.0], [0.01, 0.01, 0.02, 0.02, 0.9]]
    for _ in range(6):  # few: statsmodels' holm runs gc.collect() on every call
        m = int(rng.integers(1, 40))
        cases.append(np.round(rng.uniform(0, 1, m) ** 3, int(rng.integers(2, 6))).tolist())
    return cases


@pytest.mark.parametrize("method, sm", [("bh", "fdr_bh"), ("holm", "holm")])
def test_adjust_is_statsmodels(method, sm):
    for p in _pvalue_lists():  # rounded, so with ties
        ref = multipletests(p, method=sm)[1]
        np.testing.assert_allclose(adjust_pvalues(p, method), ref, rtol=1e-12, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_bh_is_scipy_false_discovery_control(p):
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), false_discovery_control(p, method="bh"),
                               rtol=1e-12, atol=1e-15)


def test_adjust_against_r_p_adjust():
    # R 4.2.2: p.adjust(c(0.01, 0.04, 0.03, 0.2, 0.005, 0.5), "BH") and "holm"
    np.testing.assert_allclose(adjust_pvalues(P, "bh"), [0.03, 0.06, 0.06, 0.24, 0.03, 0.5],
                               rtol=1e-12)
    np.testing.assert_allclose(adjust_pvalues(P, "holm"), [0.05, 0.12, 0.12, 0.4, 0.03, 0.5],
                               rtol=1e-12)


def test_adjust_passes_nan_through_and_keeps_series_index():
    s = pd.Series([0.01, np.nan, 0.04, 0.03], index=list("abcd"), name="p")
    q = adjust_pvalues(s, "holm")
    assert isinstance(q, pd.Series) and list(q.index) == list("abcd") and q.name == "p"
    assert math.isnan(q["b"])
    np.testing.assert_allclose(q.drop("b"), multipletests([0.01, 0.04, 0.03], method="holm")[1])
    arr = adjust_pvalues(np.array([[0.01, 0.02], [np.nan, 0.5]]))
    assert arr.shape == (2, 2) and math.isnan(arr[1, 0])
    assert adjust_pvalues([], "bh").size == 0


def test_adjust_bad_input():
    with pytest.raises(ValueError, match="unknown p-value adjustment 'bonferroni'"):
        adjust_pvalues(P, "bonferroni")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([0.5, 1.2])


def test_wilson_ends_are_exact_at_zero_and_all():
    """k = 0 and k = n put the interval's end at 0 and 1 exactly (no 3e-16 left by rounding)."""
    from msc_sle.stats import wilson_interval

    assert wilson_interval(0, 69)[0] == 0.0 and wilson_interval(69, 69)[1] == 1.0
