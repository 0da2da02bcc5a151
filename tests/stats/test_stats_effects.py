"""Odds ratio and Hodges-Lehmann shift against scipy, statsmodels, R and published output."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio

from msc_sle.stats import hodges_lehmann, hodges_lehmann_ranks, odds_ratio
from msc_sle.stats.batch import kth_pairwise_differences


# --------------------------------------------------------------------------------------------
# odds ratio
# --------------------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=4, max_size=4), st.sampled_from([0.9, 0.95, 0.99]))
def test_odds_ratio_is_scipy_sample_or_with_woolf_ci(cells, conf):
    a, b, c, d = cells
    ref = scipy_odds_ratio([[a, b], [c, d]], kind="sample")
    ci = ref.confidence_interval(confidence_level=conf)
    e = odds_ratio(a, b, c, d, confidence=conf)
    assert e.name == "odds ratio" and e.note == "" and e.confidence == conf
    assert e.estimate == pytest.approx(ref.statistic, rel=1e-12)
    assert (e.ci_low, e.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_odds_ratio_haldane_anscombe_against_statsmodels_and_r():
    from statsmodels.stats.contingency_tables import Table2x2

    e = odds_ratio(0, 5, 3, 9)
    assert e.note == "Haldane-Anscombe correction applied (zero cell)"
    # statsmodels' Woolf interval of the table with 0.5 added to every cell (its own
    # shift_zeros=True adds 0.5 to the zero cells only, which is not Haldane-Anscombe)
    t = Table2x2(np.array([[0.5, 5.5], [3.5, 9.5]]), shift_zeros=False)
    assert e.estimate == pytest.approx(t.oddsratio, rel=1e-12)
    assert (e.ci_low, e.ci_high) == pytest.approx(t.oddsratio_confint(alpha=0.05), rel=1e-10)
    # R 4.2.2: logistic regression on the corrected counts, whose Wald CI is Woolf's:
    #   d <- data.frame(g=factor(c("a","b"), levels=c("b","a")), s=c(0.5, 3.5), f=c(5.5, 9.5))
    #   fit <- glm(cbind(s, f) ~ g, family=binomial, data=d,
    #              control=glm.control(epsilon=1e-15, maxit=100))
    #   exp(c(coef(fit)[2], confint.default(fit)[2, ]))
    assert (e.estimate, e.ci_low, e.ci_high) == pytest.approx(
        (0.24675324675324681, 0.010639984777151458, 5.722486080433046), rel=1e-9)


def test_odds_ratio_bad_input():
    with pytest.raises(ValueError, match="b must be a non-negative integer count"):
        odds_ratio(1, -2, 3, 4)
    with pytest.raises(ValueError, match="non-negative integer"):
        odds_ratio(1.5, 2, 3, 4)
    with pytest.raises(ValueError, match="confidence"):
        odds_ratio(1, 2, 3, 4, confidence=95)


# --------------------------------------------------------------------------------------------
# Hodges-Lehmann
# --------------------------------------------------------------------------------------------
def test_hodges_lehmann_published_sas_moses_example():
    # Hollander, Wolfe & Chicken's two-sample example data as analysed with SAS PROC NPAR1WAY
    # (HL option, refclass = B) on the PHUSE CAMIS page "Non-parametric point estimation in SAS"
    # (psiaims.github.io/CAMIS/SAS/nparestimate.html): "Location Shift (A - B) 0.5600",
    # "Asymptotic (Moses) -0.3700 1.1830". (Its exact limits, -0.22 and 1.082, need the exact
    # null distribution, which this function does not use.)
    a = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    b = [0.878, 0.647, 0.598, 2.050, 1.060, 1.290, 1.060, 3.140, 1.290]
    e = hodges_lehmann(a, b)
    assert e.name == "Hodges-Lehmann shift"
    assert (e.estimate, e.ci_low, e.ci_high) == pytest.approx((0.56, -0.37, 1.183), abs=5e-5)


# R 4.2.2: w <- wilcox.test(x, y, conf.int=TRUE, exact=TRUE); c(w$estimate, w$conf.int).
# Untied samples whose sizes give the same rank for the exact limit, qwilcox(0.025, m, n), as
# the large-sample C (5x5: 3, 7x7: 9, 9x9: 18), so R's exact CI takes the same order statistics.
R_HL = [
    ([0.31, 0.77, 0.52, 1.08, 0.95], [0.44, 0.12, 0.27, 0.63, 0.05],
     (0.45000000000000007, -0.10999999999999999, 0.89999999999999991)),
    ([3.1, 4.7, 2.2, 6.9, 5.3, 8.4, 1.6], [2.05, 0.93, 3.38, 1.27, 4.41, 0.12, 2.74],
     (2.1699999999999999, -0.2799999999999998, 5.1799999999999997)),
    ([12.3, 15.1, 9.8, 14.2, 11.7, 16.9, 13.4, 10.6, 18.05],
     [10.15, 8.72, 12.96, 9.41, 11.08, 7.63, 13.77, 8.19, 10.84],
     (3.129999999999999, 0.44999999999999929, 6.0099999999999998)),
]


@pytest.mark.parametrize("x, y, ref", R_HL, ids=["5x5", "7x7", "9x9"])
def test_hodges_lehmann_matches_r_exact_interval(x, y, ref):
    e = hodges_lehmann(x, y)
    assert (e.estimate, e.ci_low, e.ci_high) == pytest.approx(ref, rel=1e-12, abs=1e-12)


def test_hodges_lehmann_rank_by_hand_and_brute_force():
    # m = 10, n = 8: C = floor(80/2 - 1.959964 * sqrt(80 * 19 / 12)) = floor(17.94) = 17 by hand;
    # R's exact limit takes rank qwilcox(0.025, 10, 8) = 18, one rank tighter.
    assert hodges_lehmann_ranks(10, 8) == ([40, 41], 17)
    assert hodges_lehmann_ranks(9, 9) == ([41], 18)
    x = [0.8, 1.9, 2.4, 3.1, 4.6, 5.2, 6.7, 7.3, 9.0, 10.5]
    y = [-1.2, 0.3, 1.1, 1.7, 2.6, 3.4, 4.9, 5.8]
    diffs = sorted(xi - yj for xi in x for yj in y)
    e = hodges_lehmann(x, y)
    assert e.estimate == (diffs[39] + diffs[40]) / 2
    assert (e.ci_low, e.ci_high) == (diffs[16], diffs[80 - 17])
    # R: wilcox.test(x, y, conf.int=TRUE, exact=TRUE) -> 2.7, -0.3, 5.8 = ranks 18 and 63
    assert e.estimate == pytest.approx(2.7000000000000002)
    assert (diffs[17], diffs[62]) == pytest.approx((-0.30000000000000004, 5.7999999999999998))


def test_hodges_lehmann_small_samples_and_bad_input():
    e = hodges_lehmann([1, 2], [3])
    assert e.estimate == -1.5 and math.isnan(e.ci_low) and math.isnan(e.ci_high)
    assert e.note == "samples too small for a 95% CI"
    assert hodges_lehmann([1, 2, np.nan], [3, np.nan]) == e
    with pytest.raises(ValueError, match="x has 0 non-missing"):
        hodges_lehmann([], [1, 2])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.integers(0, 2**32 - 1), st.booleans())
def test_kth_pairwise_difference_selection_equals_sorting(m, n, seed, ties):
    rng = np.random.default_rng(seed)
    if ties:
        a, b = np.sort(rng.integers(0, 6, m) * 0.5), np.sort(rng.integers(0, 6, n) * 0.5)
    else:
        a, b = np.sort(rng.normal(size=m)), np.sort(rng.normal(1, 2, size=n))
    ks = sorted({1, m * n, (m * n + 1) // 2, int(rng.integers(1, m * n + 1))})
    ref = np.sort(np.subtract.outer(a, b).ravel())
    got = kth_pairwise_differences(a, b, ks, brute_pairs=7)  # force the bisection path
    assert got == [float(ref[k - 1]) for k in ks]
