"""Stratified tests against R: ``mantelhaen.test`` for the Cochran-Mantel-Haenszel test (2 x 2 x K
and the generalized I x J x K) and, for van Elteren's test, base R's Wilcoxon test (one stratum)
and the CMH row-mean-score statistic with modified ridit scores (several strata), and a
published worked example (Lehmann's blocks, as SAS printed van Elteren's test for them).
Reference values: tests/stats/data/reference_stratified.R (run it to reproduce them); the published
example's data and printed values: tests/stats/data/van_elteren_lehmann*.csv."""
from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msc_sle.stats import TESTS
from msc_sle.stats.stratified import (CMHResult, CMHSums, StratumRankSum, VanElterenSums,
                                      cmh_stratum_sums, cochran_mantel_haenszel,
                                      cochran_mantel_haenszel_from_sums, stratum_rank_sum, van_elteren,
                                      van_elteren_from_strata, van_elteren_from_sums,
                                      van_elteren_stratum_sums)

DATA = Path(__file__).parent / "data"

UCB = [[[512, 89], [313, 19]], [[353, 17], [207, 8]], [[120, 202], [205, 391]],
       [[138, 131], [279, 244]], [[53, 94], [138, 299]], [[22, 24], [351, 317]]]
RABBITS = [[[0, 6], [0, 5]], [[3, 3], [0, 6]], [[6, 0], [2, 4]], [[5, 1], [6, 0]],
           [[2, 0], [5, 0]]]
SMALL_DELTA = [[[3, 2], [2, 4]], [[2, 3], [3, 2]]]

# (tables, correct, statistic, p, odds ratio, ci low, ci high) printed by R
R_2X2 = [
    (UCB, True, 1.42694622859, 0.232263462817, 0.904696828259, 0.771907361759, 1.06032976444),
    (UCB, False, 1.52460666044, 0.216923697056, 0.904696828259, 0.771907361759, 1.06032976444),
    (RABBITS, True, 3.92857142857, 0.0474722551429, 7.0, 1.02671268846, 47.7251333802),
    (RABBITS, False, 5.65714285714, 0.0173844203521, 7.0, 1.02671268846, 47.7251333802),
    # |O - E| < 1/2: R leaves the correction out even with correct = TRUE
    (SMALL_DELTA, True, 0.0359138068635, 0.849693600496, 1.17985611511, 0.22144745106,
     6.28618864519),
]

R_GENERAL = [
    ([[[1, 3, 11, 2], [2, 3, 17, 3], [0, 1, 8, 5], [0, 2, 4, 2]],
      [[1, 1, 2, 1], [0, 3, 5, 1], [0, 0, 7, 3], [0, 1, 9, 6]]], 10.2000887578, 9,
     0.334531183398),
    ([[[5, 7], [8, 3], [2, 9]], [[4, 2], [6, 8], [6, 3]], [[10, 5], [3, 2], [4, 6]]],
     2.34852849248, 2, 0.309046278022),
    ([[[6, 3, 1], [2, 5, 7]], [[4, 2, 5], [4, 6, 3]]], 3.41342756184, 2, 0.181461134913),
]


@pytest.mark.parametrize("tables, correct, stat, p, odds, lo, hi", R_2X2)
def test_cmh_2x2_equals_r_mantelhaen(tables, correct, stat, p, odds, lo, hi):
    r = cochran_mantel_haenszel(tables, correct=correct)
    assert r.test == "cmh" and r.df == 1
    assert r.statistic == pytest.approx(stat, rel=1e-9)
    assert r.pvalue == pytest.approx(p, rel=1e-9)
    assert (r.common_odds_ratio, r.ci_low, r.ci_high) == pytest.approx((odds, lo, hi), rel=1e-9)


@pytest.mark.parametrize("tables, stat, df, p", R_GENERAL)
def test_generalized_cmh_equals_r_mantelhaen(tables, stat, df, p):
    r = cochran_mantel_haenszel(tables)
    assert r.test == "cmh_general" and r.df == df
    assert r.statistic == pytest.approx(stat, rel=1e-9)
    assert r.pvalue == pytest.approx(p, rel=1e-9)
    assert np.isnan(r.common_odds_ratio)


@pytest.mark.parametrize("tables, correct, stat, p, odds, lo, hi", R_2X2)
def test_cmh_2x2_from_sums_of_groups_of_strata_equals_r(tables, correct, stat, p, odds, lo, hi):
    # centres holding several strata each send one sum; the sums travel flat (a secure summation)
    parts = [cmh_stratum_sums(t) for t in tables]
    first, rest = parts[0], parts[1:]
    for part in rest[:len(rest) // 2]:
        first = first + part
    second = rest[len(rest) // 2]
    for part in rest[len(rest) // 2 + 1:]:
        second = second + part
    total = CMHSums.from_vector(first.vector() + second.vector(), (2, 2))
    r = cochran_mantel_haenszel_from_sums(total, correct)
    assert (r.statistic, r.pvalue) == pytest.approx((stat, p), rel=1e-9)
    assert (r.common_odds_ratio, r.ci_low, r.ci_high) == pytest.approx((odds, lo, hi), rel=1e-9)


def test_cmh_2x2_equals_statsmodels_on_random_tables():
    from statsmodels.stats.contingency_tables import StratifiedTable
    rng = np.random.default_rng(7)
    for _ in range(30):
        tables = rng.integers(1, 15, size=(int(rng.integers(2, 6)), 2, 2))
        st = StratifiedTable(np.moveaxis(tables.astype(float), 0, -1))
        r = cochran_mantel_haenszel(tables, correct=False)
        assert r.statistic == pytest.approx(st.test_null_odds(correction=False).statistic, rel=1e-10)
        assert r.common_odds_ratio == pytest.approx(st.oddsratio_pooled, rel=1e-10)
        assert (r.ci_low, r.ci_high) == pytest.approx(st.oddsratio_pooled_confint(), rel=1e-10)


def test_cmh_leaves_out_a_level_empty_in_every_stratum():
    # RABBITS with a third, empty column: the general test on the two non-empty columns is
    # R's uncorrected 2 x 2 x K statistic
    widened = [[row + [0] for row in t] for t in RABBITS]
    r = cochran_mantel_haenszel(widened)
    assert r.df == 1 and "left out" in r.note
    assert r.statistic == pytest.approx(R_2X2[3][2], rel=1e-9)


def test_cmh_of_tables_without_any_count_is_no_test():
    """A variable nobody at any centre has recorded: every stratum's table is empty, so there are no
    degrees of freedom (found by a run where a page's threshold left every centre's table out)."""
    for shape in ((2, 2), (2, 3)):
        size = len(cmh_stratum_sums(np.ones(shape, dtype=int)).vector())
        r = cochran_mantel_haenszel_from_sums(CMHSums.from_vector(np.zeros(size), shape))
        assert r.df == 0 and r.pvalue != r.pvalue and "no test" in r.note


def test_cmh_sums_refuse_a_wrong_length():
    with pytest.raises(ValueError, match="do not hold"):
        CMHSums.from_vector(np.zeros(10), (2, 2))


def test_cmh_does_not_depend_on_the_order_of_strata():
    a = cochran_mantel_haenszel(R_GENERAL[0][0])
    b = cochran_mantel_haenszel(R_GENERAL[0][0][::-1])
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)


def test_cmh_refuses_bad_tables():
    with pytest.raises(ValueError, match="three-dimensional"):
        cochran_mantel_haenszel([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="fewer than two observations"):
        cochran_mantel_haenszel([[[1, 0], [0, 0]], [[3, 4], [5, 6]]])
    with pytest.raises(ValueError, match="non-negative integer"):
        cochran_mantel_haenszel([[[1, -1], [2, 3]], [[3, 4], [5, 6]]])


def test_results_pickle():
    r = cochran_mantel_haenszel(UCB)
    assert isinstance(r, CMHResult) and pickle.loads(pickle.dumps(r)) == r
    v = van_elteren([1, 2, 3, 4], ["a", "b", "a", "b"], [1, 1, 1, 1])
    assert pickle.loads(pickle.dumps(v)) == v
    general = cochran_mantel_haenszel(R_GENERAL[1][0])
    assert {r.test, v.test, general.test} <= set(TESTS)


# ------------------------------------------------------------------------------------------
# van Elteren
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def strata_data():
    return pd.read_csv(DATA / "van_elteren.csv")


def test_van_elteren_one_stratum_is_the_wilcoxon_test_of_r(strata_data):
    one = strata_data[strata_data["stratum"] == strata_data["stratum"].iloc[0]]
    r = van_elteren(one["value"], one["group"], one["stratum"])
    assert r.pvalue == pytest.approx(0.19075026091, rel=1e-9)
    s = stratum_rank_sum(one["value"], one["group"] == "A")
    n1 = s.n1
    assert s.rank_sum - n1 * (n1 + 1) / 2 == 34   # R's W


def test_van_elteren_equals_the_modified_ridit_cmh_of_r(strata_data):
    d = strata_data
    r = van_elteren(d["value"], d["group"], d["stratum"])
    assert r.test == "van_elteren" and r.n_strata == 4
    assert r.statistic == pytest.approx(1.63711046157, rel=1e-9)
    assert r.pvalue == pytest.approx(0.101607391068, rel=1e-9)
    flipped = van_elteren(d["value"], d["group"], d["stratum"], group1="B")
    assert flipped.statistic == pytest.approx(-r.statistic, rel=1e-12)
    assert flipped.pvalue == pytest.approx(r.pvalue, rel=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_van_elteren_from_centre_summaries_equals_the_pooled_test(seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 80)
    values = rng.integers(0, 8, size=n).astype(float)      # heavy ties
    values[rng.random(n) < 0.1] = np.nan                    # missing values left out
    groups = rng.choice(["x", "y"], size=n)
    strata = rng.choice(["c1", "c2", "c3"], size=n, p=[0.6, 0.3, 0.1])
    pooled = van_elteren(values, groups, strata)
    summaries = [stratum_rank_sum(values[strata == s], groups[strata == s] == "x")
                 for s in ("c3", "c1", "c2")]
    assert all(isinstance(s, StratumRankSum) for s in summaries)
    combined = van_elteren_from_strata(summaries)
    assert combined.statistic == pytest.approx(pooled.statistic, rel=1e-12, abs=1e-12)
    assert combined.pvalue == pytest.approx(pooled.pvalue, rel=1e-12)
    as_json = json.loads(json.dumps([dataclasses.asdict(s) for s in summaries]))
    assert van_elteren_from_strata(as_json) == combined


def test_van_elteren_strata_with_one_group_carry_nothing():
    r = van_elteren([1, 2, 3, 4, 5, 6], ["a", "b", "a", "b", "a", "a"], [1, 1, 1, 1, 2, 2])
    assert r.n_strata == 1
    single = van_elteren([1, 2, 3, 4], ["a", "b", "a", "b"], [1, 1, 1, 1])
    assert r.statistic == pytest.approx(single.statistic)


def test_van_elteren_no_test_when_everything_is_tied():
    r = van_elteren([2, 2, 2, 2], ["a", "b", "a", "b"], [1, 1, 2, 2])
    assert np.isnan(r.pvalue) and "tied" in r.note


def test_van_elteren_refuses_more_than_two_groups():
    with pytest.raises(ValueError, match="two groups"):
        van_elteren([1, 2, 3], ["a", "b", "c"], [1, 1, 1])


def test_van_elteren_from_sums_of_groups_of_strata(strata_data):
    d = strata_data
    summaries = [stratum_rank_sum(g["value"], g["group"] == "A") for _, g in d.groupby("stratum")]
    # a stratum holding one group alone is summed too and changes nothing
    summaries.append(stratum_rank_sum([3.0, 4.0, 5.0], [True, True, True]))
    parts = [van_elteren_stratum_sums(s) for s in summaries]
    a, b = parts[0] + parts[1], parts[2] + parts[3] + parts[4]
    r = van_elteren_from_sums(VanElterenSums(a.weighted_sum + b.weighted_sum, a.expected + b.expected,
                                             a.variance + b.variance))
    assert r.statistic == pytest.approx(1.63711046157, rel=1e-9)
    assert r.pvalue == pytest.approx(0.101607391068, rel=1e-9)


def test_cmh_a_level_fixed_by_the_margins_in_every_stratum_carries_nothing():
    # the third level occurs only in a stratum with no patient of the first row: its cells equal
    # their expectation whatever happens, so the test is the one on the other two levels
    with_level = cochran_mantel_haenszel([[[3, 2, 0], [4, 1, 0]], [[0, 0, 0], [2, 3, 4]]])
    without = cochran_mantel_haenszel([[[3, 2], [4, 1]], [[0, 0], [2, 3]]], correct=False)
    assert with_level.df == 1 and "df = 1" in with_level.note
    assert with_level.statistic == pytest.approx(without.statistic, rel=1e-12)
    assert with_level.pvalue == pytest.approx(without.pvalue, rel=1e-12)


def test_van_elteren_reproduces_lehmanns_worked_example_as_sas_printed_it():
    """A published worked example: Lehmann's (1975, *Nonparametrics*, pp. 132-141) two treatments
    in four blocks of 2, 3, 3 and 6 values, as SAS printed van Elteren's test for it (PROC FREQ,
    CMH row-mean-score statistic with modified ridit scores, the test's 1 / (n_k + 1) weights and
    tie-corrected variance): chi-square 2.744 on 1 df, P = 0.098, 0.09765 to five places, quoted
    with the data in lehmann.do of the Stata package vanelteren (Coveney 2004). Data and printed
    values, with their sources: tests/stats/data/van_elteren_lehmann*.csv. Compared at the
    precision printed, for the pooled test and for the same test from block summaries."""
    d = pd.read_csv(DATA / "van_elteren_lehmann.csv", comment="#")
    printed = pd.read_csv(DATA / "van_elteren_lehmann_printed.csv", comment="#")
    pooled = van_elteren(d["value"], d["treatment"], d["block"])
    summaries = [stratum_rank_sum(b["value"], b["treatment"] == 1) for _, b in d.groupby("block")]
    from_blocks = van_elteren_from_strata(summaries)
    for r in (pooled, from_blocks):
        assert r.n_strata == 4
        ours = {"chi_square": r.statistic ** 2, "pvalue": r.pvalue}
        for quantity, value, decimals in printed.itertuples(index=False):
            assert round(ours[quantity], int(decimals)) == pytest.approx(value, abs=1e-12), quantity
