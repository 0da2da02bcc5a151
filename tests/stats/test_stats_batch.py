"""The vectorised path checked against the simple one, on random data with ties, missing values,
empty groups, grid and non-grid values (property-based, hypothesis)."""
from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from msc_sle.stats import (crosstab, group_values, hodges_lehmann, hodges_lehmann_grouped,
                           kruskal_grouped, kruskal_wallis, mann_whitney, mann_whitney_grouped,
                           summary)
from msc_sle.stats import batch

KINDS = ("integers", "halves", "tenths", "hundredths", "floats", "tied floats", "wide grid")


def _values(kind, n, rng):
    if kind == "integers":
        return rng.integers(-5, 6, n).astype(float)
    if kind == "halves":
        return rng.integers(0, 20, n) / 2
    if kind == "tenths":
        return rng.integers(0, 50, n) / 10
    if kind == "hundredths":
        return rng.integers(0, 300, n) / 100
    if kind == "floats":
        return rng.normal(size=n)
    if kind == "tied floats":
        return rng.choice(rng.normal(size=4), n)
    return rng.integers(0, 10**8, n).astype(float)   # on the integers, but too wide for a grid


@st.composite
def grouped_data(draw):
    k = draw(st.integers(1, 4))
    n = draw(st.integers(0, 40))
    kind = draw(st.sampled_from(KINDS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    v = _values(kind, n, rng)
    v[rng.random(n) < draw(st.sampled_from([0.0, 0.1, 0.5]))] = np.nan
    codes = rng.integers(-1, k, n)
    return v, codes, k, kind


def _groups(v, codes, k):
    return [v[(codes == g) & ~np.isnan(v)] for g in range(k)]


def _same_fields(a, b, rtol=1e-12, atol=1e-12):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, float) or isinstance(y, float):
            if math.isnan(x) or math.isnan(y):
                assert math.isnan(x) and math.isnan(y), f.name
            else:
                assert x == pytest.approx(y, rel=rtol, abs=atol), f.name
        else:
            assert x == y, f.name


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grouped_data())
def test_grouped_values_match_the_simple_path(data):
    v, codes, k, kind = data
    gv = group_values(v, codes, k)
    groups = _groups(v, codes, k)
    valid = np.concatenate(groups) if groups else np.array([])
    if kind not in ("floats", "tied floats", "wide grid") and valid.size:
        assert gv.on_grid
    for g in range(k):
        assert gv.n_total[g] == (codes == g).sum()
        assert gv.n_valid[g] == groups[g].size
        np.testing.assert_array_equal(gv.values(g), np.sort(groups[g]))
        # the same type-6 rule on both paths: identical summaries
        assert dataclasses.asdict(gv.summary(g)) == pytest.approx(
            dataclasses.asdict(summary(groups[g])), nan_ok=True, rel=0, abs=0)
    if valid.size:
        ranks = stats.rankdata(valid)
        bounds = np.cumsum([0] + [x.size for x in groups])
        np.testing.assert_allclose(gv.rank_sums, [ranks[bounds[g]:bounds[g + 1]].sum()
                                                  for g in range(k)], rtol=1e-12)
        _, t = np.unique(valid, return_counts=True)
        assert gv.tie_term == pytest.approx(float(np.sum(t.astype(float) ** 3 - t)), rel=1e-12)

    empty = any(x.size == 0 for x in groups)
    if k >= 2:
        if empty:
            with pytest.raises(ValueError, match="0 non-missing"):
                kruskal_grouped(gv)
            with pytest.raises(ValueError, match="0 non-missing"):
                kruskal_wallis(*groups)
        else:
            _same_fields(kruskal_grouped(gv), kruskal_wallis(*groups), rtol=1e-9)
    if k == 2:
        if empty:
            for fn in (mann_whitney_grouped, hodges_lehmann_grouped):
                with pytest.raises(ValueError, match="0 non-missing"):
                    fn(gv)
        else:
            _same_fields(mann_whitney_grouped(gv), mann_whitney(*groups), rtol=1e-9, atol=1e-9)
            # grid differences are multiples of the grid step, the simple path's are float
            # subtractions: equal up to rounding
            _same_fields(hodges_lehmann_grouped(gv), hodges_lehmann(*groups))
            _same_fields(hodges_lehmann_grouped(gv, 0.8), hodges_lehmann(*groups, 0.8))
    else:
        with pytest.raises(ValueError, match="compares 2 groups"):
            mann_whitney_grouped(gv)


def test_hodges_lehmann_grid_without_convolution(monkeypatch):
    rng = np.random.default_rng(3)
    v = rng.integers(0, 40, 300) / 4
    codes = rng.integers(0, 2, 300)
    gv = group_values(v, codes, 2)
    assert gv.on_grid
    via_convolution = hodges_lehmann_grouped(gv)
    monkeypatch.setattr(batch, "_CONVOLVE_CELLS", 0)
    assert hodges_lehmann_grouped(gv) == via_convolution
    assert via_convolution == hodges_lehmann(v[codes == 0], v[codes == 1])


@pytest.mark.parametrize("kind", ["tenths", "floats", "tied floats"])
def test_large_groups_match_the_simple_path(kind):
    # 2 x 2500 values: 6.25 million pairwise differences, beyond the simple path's direct
    # enumeration, so Hodges-Lehmann compares convolution (grid) with selection
    rng = np.random.default_rng(11)
    n = 6000
    v = _values(kind, n, rng) + np.where(rng.random(n) < 0.5, 0.0, 1.0)
    v[rng.random(n) < 0.05] = np.nan
    codes = np.where(rng.random(n) < 0.5, 0, 1)
    codes[rng.random(n) < 0.05] = -1
    gv = group_values(v, codes, 2)
    groups = _groups(v, codes, 2)
    assert groups[0].size * groups[1].size > 2_000_000
    _same_fields(mann_whitney_grouped(gv), mann_whitney(*groups), rtol=1e-9)
    _same_fields(hodges_lehmann_grouped(gv), hodges_lehmann(*groups))
    for g in range(2):
        assert gv.summary(g) == summary(groups[g])


def test_grouped_values_pickle_and_do_not_hand_out_their_storage():
    import pickle

    for v in (np.array([0.5, 1.5, 2.0, 2.0]), np.array([0.123, 1.5, 2.0, 2.0])):
        gv = group_values(v, np.array([0, 1, 1, 0]), 2)
        back = pickle.loads(pickle.dumps(gv))
        assert back.summary(0) == gv.summary(0) and back.tie_term == gv.tie_term
        before = gv.values(0).copy()
        try:
            gv.values(0)[0] = 99.0   # a fresh array (grid) or a read-only view (sorted)
        except ValueError:
            pass
        np.testing.assert_array_equal(gv.values(0), before)


def test_permutation_methods_pass_through():
    v = np.array([1, 2, 2, 3, 5, 2, 4, 4, 6, 7, 7], dtype=float)
    codes = np.array([0] * 5 + [1] * 6)
    gv = group_values(v, codes, 2)
    assert mann_whitney_grouped(gv, method="permutation") == \
        mann_whitney(v[:5], v[5:], method="permutation")


def test_crosstab_counts_pairs():
    rng = np.random.default_rng(0)
    g = rng.integers(-1, 3, 500)
    lv = rng.integers(-1, 4, 500)
    table = crosstab(g, lv, 3, 4)
    counts = collections.Counter(zip(g.tolist(), lv.tolist()))
    assert table.tolist() == [[counts[(i, j)] for j in range(4)] for i in range(3)]
    assert crosstab(np.array([], int), np.array([], int), 2, 2).tolist() == [[0, 0], [0, 0]]


def test_bad_input():
    with pytest.raises(ValueError, match="one length"):
        group_values([1.0, 2.0], [0], 1)
    with pytest.raises(ValueError, match=r"-1..1"):
        group_values([1.0, 2.0], [0, 2], 2)
    with pytest.raises(ValueError, match="integers"):
        group_values([1.0, 2.0], [0.0, 1.0], 2)
    with pytest.raises(ValueError, match=r"level_codes must lie in -1..1"):
        crosstab([0, 1], [0, 5], 2, 2)
    with pytest.raises(ValueError, match="at least 2 groups"):
        kruskal_grouped(group_values([1.0, 2.0], [0, 0], 1))
    gv = group_values([1.0, 2.0, 3.0], [0, 1, 1], 2)
    with pytest.raises(IndexError):
        gv.order_statistic(0, 1)
    with pytest.raises(IndexError):
        gv.values(2)


@pytest.mark.slow
@pytest.mark.parametrize("grid", [True, False])
def test_a_million_rows_equal_scipy(grid):
    """At registry scale, where the grouped path exists (its speed: bench/bench_compare.py), its
    p-values are scipy's mannwhitneyu and kruskal on the same million values."""
    rng = np.random.default_rng(1)
    n = 1_000_000
    codes = rng.integers(0, 2, n)
    # a small shift in group 1 keeps p away from 0 and 1
    v = (rng.integers(0, 900, n) + codes) / 10 if grid else rng.gamma(2.0, 10.0, n) + 0.01 * codes
    gv = group_values(v, codes, 2)
    assert gv.on_grid == grid
    x, y = v[codes == 0], v[codes == 1]
    ref = stats.mannwhitneyu(x, y, use_continuity=False, method="asymptotic")
    got = mann_whitney_grouped(gv)
    assert (got.statistic, got.pvalue) == (pytest.approx(ref.statistic, rel=1e-12), pytest.approx(ref.pvalue, rel=1e-9))
    assert kruskal_grouped(gv).pvalue == pytest.approx(stats.kruskal(x, y).pvalue, rel=1e-9)
