"""Every hypothesis test of msc_sle.stats against scipy on the same data, against R, or against an
independent brute-force enumeration written here.

R reference values: R 4.2.2 Patched (2022-11-10 r83330), ``stats`` package, printed with
``sprintf("%.17g", ...)``; the R call is written next to each value.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from msc_sle.stats import (expected_counts, fisher_exact, fisher_freeman_halton, friedman,
                           kruskal_wallis, mann_whitney, pearson_chi2, wilcoxon_signed_rank,
                           yates_chi2)

# Mann-Whitney data with ties (shared with the R calls below)
MW_X = [1.1, 2.2, 2.2, 3.5, 4.0, 5.1, 6.3]
MW_Y = [2.2, 3.9, 4.0, 5.5, 6.8, 7.2, 8.1, 9.0]


def _random_samples(seed, n1=12, n2=15, grid=5):
    rng = np.random.default_rng(seed)
    return rng.integers(0, grid, n1) * 0.5, rng.integers(1, grid + 1, n2) * 0.5


# --------------------------------------------------------------------------------------------
# Mann-Whitney
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_mann_whitney_is_scipy_without_continuity_correction(seed):
    x, y = _random_samples(seed)
    ref = stats.mannwhitneyu(x, y, use_continuity=False, method="asymptotic")
    r = mann_whitney(x, y)
    assert r.test == "mann_whitney" and r.df is None and r.note == ""
    assert r.statistic == ref.statistic and r.pvalue == ref.pvalue
    # z is the signed normal deviate behind the two-sided p
    assert 2 * stats.norm.sf(abs(r.zstatistic)) == pytest.approx(r.pvalue, rel=1e-12)
    assert np.sign(r.zstatistic) == np.sign(r.statistic - len(x) * len(y) / 2)


def test_mann_whitney_spss_convention_against_r():
    r = mann_whitney(MW_X, MW_Y)
    # R: wilcox.test(x, y, exact=FALSE, correct=FALSE) -> W = 11.5, p = 0.055100102368124376
    assert r.statistic == 11.5
    assert r.pvalue == pytest.approx(0.055100102368124376, rel=1e-12)
    # R's default wilcox.test(x, y) adds a continuity correction: p = 0.062890871307434162
    assert abs(r.pvalue - 0.062890871307434162) > 0.005
    assert r.zstatistic < 0  # x lies below y


def test_mann_whitney_drops_missing_values():
    assert mann_whitney(MW_X + [np.nan], [np.nan] + MW_Y) == mann_whitney(MW_X, MW_Y)


def test_mann_whitney_exact_is_scipy_exact():
    x, y = [1.2, 3.4, 0.7, 5.5, 2.8], [4.1, 6.3, 7.7, 3.9, 8.8, 5.2]
    r = mann_whitney(x, y, method="exact")
    assert r.pvalue == stats.mannwhitneyu(x, y, method="exact").pvalue
    assert r.note == "exact p"
    with pytest.raises(ValueError, match="untied"):
        mann_whitney(MW_X, MW_Y, method="exact")


def _brute_permutation_p(x, y):
    """Two-sided permutation p of U over every split of the pooled values (2 min(P(U <= u),
    P(U >= u)), capped at 1), by enumeration."""
    pooled = np.concatenate([x, y])
    ranks = stats.rankdata(pooled)
    n1 = len(x)
    us = []
    for idx in itertools.combinations(range(len(pooled)), n1):
        us.append(ranks[list(idx)].sum() - n1 * (n1 + 1) / 2)
    us = np.array(us)
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    eps = 1e-9
    return min(1.0, 2 * min(np.mean(us <= u + eps), np.mean(us >= u - eps)))


def test_mann_whitney_permutation_exact_enumeration():
    x, y = [1, 2, 2, 3, 5], [2, 4, 4, 6, 7, 7]
    r = mann_whitney(x, y, method="permutation")
    assert r.pvalue == pytest.approx(_brute_permutation_p(x, y), rel=1e-12)
    assert r.note == "exact permutation p over 462 splits"
    assert r.statistic == stats.mannwhitneyu(x, y).statistic


def test_mann_whitney_monte_carlo_needs_a_seed_and_is_reproducible():
    x, y = _random_samples(1, 20, 20)
    with pytest.raises(ValueError, match="seed"):
        mann_whitney(x, y, method="permutation", n_resamples=2000)
    a = mann_whitney(x, y, method="permutation", n_resamples=2000, seed=7)
    b = mann_whitney(x, y, method="permutation", n_resamples=2000, seed=7)
    assert a == b
    assert a.note == "permutation p from 2000 Monte Carlo resamples (seed 7)"
    assert a.pvalue == pytest.approx(mann_whitney(x, y).pvalue, abs=0.05)


def test_mann_whitney_all_tied_and_bad_input():
    r = mann_whitney([2, 2], [2, 2, 2])
    assert math.isnan(r.pvalue) and "tied" in r.note
    with pytest.raises(ValueError, match="y has 0 non-missing value"):
        mann_whitney([1, 2], [np.nan])
    with pytest.raises(ValueError, match="one-dimensional"):
        mann_whitney([[1, 2], [3, 4]], [1, 2])
    with pytest.raises(ValueError, match="unknown method"):
        mann_whitney([1, 2], [3, 4], method="approx")


# --------------------------------------------------------------------------------------------
# Kruskal-Wallis
# --------------------------------------------------------------------------------------------
def test_kruskal_wallis_is_scipy_and_r():
    z = [0.5, 2.2, 9.5, 10.1]
    r = kruskal_wallis(MW_X, MW_Y, z)
    ref = stats.kruskal(MW_X, MW_Y, z)
    assert (r.statistic, r.pvalue, r.df) == (ref.statistic, ref.pvalue, 2)
    # R: kruskal.test(list(x, y, c(0.5, 2.2, 9.5, 10.1)))
    assert r.statistic == pytest.approx(2.6292230798430998, rel=1e-12)
    assert r.pvalue == pytest.approx(0.26857863505508028, rel=1e-12)


def test_kruskal_wallis_bad_input():
    with pytest.raises(ValueError, match="at least 2 samples"):
        kruskal_wallis([1, 2, 3])
    with pytest.raises(ValueError, match="sample 2 has 0"):
        kruskal_wallis([1, 2], [])
    assert math.isnan(kruskal_wallis([1, 1], [1]).pvalue)


# --------------------------------------------------------------------------------------------
# chi-square
# --------------------------------------------------------------------------------------------
T2 = [[8, 2, 1], [3, 6, 7]]
T6 = [[12, 3], [5, 9]]


def test_pearson_chi2_is_scipy_without_correction_and_r():
    for table in (T2, T6, [[20, 31, 12], [14, 9, 30], [5, 6, 7]]):
        ref = stats.chi2_contingency(table, correction=False)
        r = pearson_chi2(table)
        assert (r.statistic, r.pvalue, r.df) == (ref.statistic, ref.pvalue, ref.dof)
    # R: chisq.test(matrix(c(8,3, 2,6, 1,7), nrow=2), correct=FALSE)
    r = pearson_chi2(T2)
    assert r.statistic == pytest.approx(8.1254519628099171, rel=1e-12)
    assert r.pvalue == pytest.approx(0.017202062640300667, rel=1e-12)
    # 2x2: no Yates correction, unlike scipy's and R's default
    assert pearson_chi2(T6).pvalue < stats.chi2_contingency(T6).pvalue


def test_expected_counts_and_small_count_note():
    np.testing.assert_allclose(expected_counts(T2),
                               stats.chi2_contingency(T2).expected_freq, rtol=1e-15)
    # by hand: rows 11, 16; columns 11, 8, 8; N = 27 -> 4.48, 3.26, 3.26 / 6.52, 4.74, 4.74
    assert pearson_chi2(T2).note == "5 of 6 expected counts < 5 (smallest 3.26)"
    assert pearson_chi2([[50, 40], [45, 52]]).note == ""


def test_yates_chi2_is_scipy_and_r():
    r = yates_chi2(T6)
    ref = stats.chi2_contingency(T6, correction=True)
    assert (r.statistic, r.pvalue, r.df) == (ref.statistic, ref.pvalue, 1)
    # R: chisq.test(matrix(c(12,5, 3,9), nrow=2)) (correct=TRUE)
    assert r.pvalue == pytest.approx(0.041110414194307082, rel=1e-12)
    with pytest.raises(ValueError, match="2x2 tables only.*2x3"):
        yates_chi2(T2)


@pytest.mark.parametrize("bad, message", [
    ([[1, -2], [3, 4]], "negative counts"),
    ([[1.5, 2], [3, 4]], "non-integer"),
    ([1, 2, 3], "two-dimensional"),
    ([[1, 2, 3]], "at least 2 rows and 2 columns"),
    ([[0, 0], [0, 0]], "empty"),
    ([[1, np.nan], [3, 4]], "missing or infinite"),
    ([["a", "b"], ["c", "d"]], "counts"),
])
def test_tables_are_checked(bad, message):
    for test in (pearson_chi2, fisher_freeman_halton, expected_counts):
        with pytest.raises(ValueError, match=message):
            test(bad)


def test_chi2_refuses_empty_margins():
    with pytest.raises(ValueError, match=r"column\(s\) \[1\].*empty"):
        pearson_chi2([[3, 0, 2], [4, 0, 5]])


# --------------------------------------------------------------------------------------------
# Fisher and Fisher-Freeman-Halton
# --------------------------------------------------------------------------------------------
# R: fisher.test(M)$p.value for the tables below (matrix() fills by column; written by row here)
R_FISHER = [
    ([[3, 1, 4], [0, 5, 2]], 0.04102564102564113),           # matrix(c(3,0, 1,5, 4,2), nrow=2)
    ([[8, 2, 1], [3, 6, 7]], 0.028202328673454825),          # matrix(c(8,3, 2,6, 1,7), nrow=2)
    ([[2, 3, 0], [1, 1, 4], [5, 0, 2]], 0.033182503770738836),  # matrix(c(2,1,5, 3,1,0, 0,4,2), 3)
    ([[3, 1], [2, 4], [0, 5], [6, 1]], 0.014209732475986118),   # matrix(c(3,2,0,6, 1,4,5,1), 4)
    ([[1, 2, 0, 3], [2, 0, 4, 1], [3, 1, 1, 0]], 0.09541030864560196),  # 3x4, by column
    ([[12, 3], [5, 9]], 0.025327687033676122),               # matrix(c(12,5, 3,9), nrow=2)
]


@pytest.mark.parametrize("table, p_r", R_FISHER, ids=lambda v: str(v))
def test_fisher_freeman_halton_matches_r(table, p_r):
    r = fisher_freeman_halton(table)
    assert r.test == "fisher_freeman_halton"
    assert r.pvalue == pytest.approx(p_r, rel=1e-9)
    assert r.note.startswith("exact p over ")
    assert math.isnan(r.statistic)


def test_fisher_exact_is_scipy_and_r():
    r = fisher_exact(T6)
    assert r.pvalue == stats.fisher_exact(T6).pvalue
    assert r.pvalue == pytest.approx(0.025327687033676122, rel=1e-12)  # R: fisher.test
    with pytest.raises(ValueError, match="fisher_freeman_halton for a 2x3"):
        fisher_exact(T2)


def test_fisher_freeman_halton_is_deterministic():
    # scipy.stats.fisher_exact on a 2x3 table draws a random permutation p; this does not
    table = [[3, 1, 4], [0, 5, 2]]
    ps = {fisher_freeman_halton(table).pvalue for _ in range(20)}
    assert len(ps) == 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 25), min_size=4, max_size=4))
def test_fisher_freeman_halton_of_2x2_is_fisher_exact(cells):
    table = np.array(cells).reshape(2, 2)
    if table.sum() == 0:
        return
    ref = stats.fisher_exact(table).pvalue
    assert fisher_freeman_halton(table).pvalue == pytest.approx(ref, rel=1e-9, abs=1e-15)
    if (table.sum(axis=0) > 0).all() and (table.sum(axis=1) > 0).all():
        assert fisher_exact(table).pvalue == ref


def _brute_ffh(table):
    """FFH p by a cell-by-cell recursion over every table with the margins, each table's
    probability as prod_j multinomial(col_j; column) / multinomial(N; rows)."""
    table = np.asarray(table)
    rows, cols = table.sum(axis=1).tolist(), table.sum(axis=0).tolist()
    r, c = len(rows), len(cols)
    n = sum(rows)
    denom = math.factorial(n)
    for v in rows:
        denom //= math.factorial(v)

    def prob(t):
        num = 1
        for j in range(c):
            m = math.factorial(cols[j])
            for i in range(r):
                m //= math.factorial(t[i][j])
            num *= m
        return num / denom

    probs = []

    def fill(t, i, j, rr, cc):
        if j == c:
            i, j = i + 1, 0
        if i == r - 1:   # last row is fixed by the column totals left
            if all(v >= 0 for v in cc) and sum(cc) == rr[i]:
                probs.append(prob(t[:i] + [list(cc)]))
            return
        if j == c - 1:   # last cell of a row is fixed by the row total left
            v = rr[i]
            if 0 <= v <= cc[j]:
                t[i][j] = v
                fill(t, i, j + 1, rr[:i] + [0] + rr[i + 1:], cc[:j] + [cc[j] - v] + cc[j + 1:])
            return
        for v in range(min(rr[i], cc[j]) + 1):
            t[i][j] = v
            fill(t, i, j + 1, rr[:i] + [rr[i] - v] + rr[i + 1:], cc[:j] + [cc[j] - v] + cc[j + 1:])

    fill([[0] * c for _ in range(r)], 0, 0, list(rows), list(cols))
    p_obs = prob(table.tolist())
    return min(1.0, sum(p for p in probs if p <= p_obs * (1 + 1e-7))), len(probs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 3), st.integers(2, 4), st.data())
def test_fisher_freeman_halton_equals_brute_force_enumeration(r, c, data):
    cells = data.draw(st.lists(st.integers(0, 4), min_size=r * c, max_size=r * c))
    table = np.array(cells).reshape(r, c)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return
    p, n_tables = _brute_ffh(table)
    res = fisher_freeman_halton(table)
    assert res.pvalue == pytest.approx(p, rel=1e-9)
    assert res.note == f"exact p over {n_tables} tables"


def test_fisher_freeman_halton_ignores_empty_levels_and_orientation():
    base = fisher_freeman_halton([[3, 1, 4], [0, 5, 2]]).pvalue
    assert fisher_freeman_halton([[3, 1, 0, 4], [0, 5, 0, 2]]).pvalue == base
    assert fisher_freeman_halton(np.array([[3, 1, 4], [0, 5, 2]]).T).pvalue == \
        pytest.approx(base, rel=1e-12)
    one = fisher_freeman_halton([[3, 0], [4, 0]])
    assert one.pvalue == 1.0 and "only one table" in one.note


def test_fisher_freeman_halton_monte_carlo_beyond_max_tables():
    table = [[8, 2, 1], [3, 6, 7]]
    a = fisher_freeman_halton(table, max_tables=10, n_resamples=20000, seed=3)
    assert a.note == ("Monte Carlo p from 20000 resamples (seed 3); more than 10 tables to "
                      "enumerate")
    assert a == fisher_freeman_halton(table, max_tables=10, n_resamples=20000, seed=3)
    assert a.pvalue == pytest.approx(0.028202328673454825, abs=0.006)
    with pytest.raises(ValueError, match="seed"):
        fisher_freeman_halton(table, max_tables=10, seed=None)


def test_fisher_freeman_halton_larger_tables_stay_exact():
    # 2 x 5 with 150 observations: about 10^5 tables, enumerated
    rng = np.random.default_rng(0)
    table = rng.integers(5, 25, size=(2, 5))
    r = fisher_freeman_halton(table)
    assert r.note.startswith("exact p over ")
    mc = stats.fisher_exact(table, method=stats.MonteCarloMethod(
        n_resamples=20000, rng=np.random.default_rng(1))).pvalue
    assert r.pvalue == pytest.approx(mc, abs=0.01)


# --------------------------------------------------------------------------------------------
# Wilcoxon signed-rank and Friedman
# --------------------------------------------------------------------------------------------
PX = [10, 12, 9, 15, 14, 8, 11, 13, 10, 16]
PY = [8, 12, 10, 11, 9, 8, 9, 10, 12, 11]


def test_wilcoxon_signed_rank_is_scipy_and_r():
    r = wilcoxon_signed_rank(PX, PY)
    d = np.subtract(PX, PY)
    ref = stats.wilcoxon(d[d != 0], zero_method="wilcox", correction=False, method="approx")
    assert r.pvalue == ref.pvalue
    # R: wilcox.test(x, y, paired=TRUE, exact=FALSE, correct=FALSE) -> V = 32,
    #    p = 0.048550746423148182 (R drops the zero differences as SPSS does)
    assert r.statistic == 32
    assert r.pvalue == pytest.approx(0.048550746423148182, rel=1e-12)
    assert r.note == "2 zero difference(s) dropped"
    assert r.zstatistic > 0 and 2 * stats.norm.sf(r.zstatistic) == pytest.approx(r.pvalue)
    # W+ is the sum of the positive ranks, by its definition
    nz = d[d != 0]
    assert r.statistic == stats.rankdata(np.abs(nz))[nz > 0].sum()
    assert wilcoxon_signed_rank(PY, PX).zstatistic == pytest.approx(-r.zstatistic)


def test_wilcoxon_signed_rank_one_sample_missing_pairs_and_bad_input():
    assert wilcoxon_signed_rank(np.subtract(PX, PY)) == wilcoxon_signed_rank(PX, PY)
    assert wilcoxon_signed_rank(PX + [np.nan, 3], PY + [4, np.nan]) == wilcoxon_signed_rank(PX, PY)
    r = wilcoxon_signed_rank([1, 2], [1, 2])
    assert math.isnan(r.pvalue) and "every difference is zero" in r.note
    with pytest.raises(ValueError, match="one length"):
        wilcoxon_signed_rank([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="0 non-missing"):
        wilcoxon_signed_rank([np.nan], [1.0])


FM = np.array([[5, 4, 2], [3, 3, 1], [4, 5, 3], [6, 5, 4], [2, 1, 1], [4, 2, 1]], dtype=float)


def test_friedman_is_scipy_and_r():
    r = friedman(*FM.T)
    ref = stats.friedmanchisquare(*FM.T)
    assert (r.statistic, r.pvalue, r.df) == (ref.statistic, ref.pvalue, 2)
    # R: friedman.test(cbind(c(5,3,4,6,2,4), c(4,3,5,5,1,2), c(2,1,3,4,1,1)))
    assert r.statistic == pytest.approx(9.3636363636363633, rel=1e-12)
    assert r.pvalue == pytest.approx(0.0092621582806466044, rel=1e-12)


def test_friedman_missing_blocks_and_bad_input():
    cols = [np.append(c, v) for c, v in zip(FM.T, (1.0, np.nan, 2.0))]
    r = friedman(*cols)
    assert r.pvalue == friedman(*FM.T).pvalue
    assert r.note == "1 block(s) with a missing value left out"
    with pytest.raises(ValueError, match="at least 3 related samples"):
        friedman([1, 2, 3], [2, 3, 4])
    with pytest.raises(ValueError, match="one length"):
        friedman([1, 2, 3], [2, 3], [1, 1, 1])
    with pytest.raises(ValueError, match="at least 2 complete blocks"):
        friedman([1], [2], [3])
    tied = friedman([1, 2], [1, 2], [1, 2])
    assert math.isnan(tied.pvalue) and "tied" in tied.note
