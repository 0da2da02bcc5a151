"""The one type-6 quantile rule against numpy's "weibull" method (= Hyndman-Fan type 6 = SPSS)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msc_sle.stats import quantile_from_order_statistics, quantile_position, quantiles, summary

LEVELS = [0.0, 0.01, 0.1, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 0.9, 0.99, 1.0]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10, 69, 100, 1001])
def test_position_rule_is_numpy_weibull(n):
    # on x = 0, 1, ..., n-1 a quantile is its own (0-based, fractional) position
    x = np.arange(n, dtype=float)
    for q in LEVELS:
        i, frac = quantile_position(n, q)
        assert 0 <= i < n and 0 <= frac < 1
        assert i + frac == pytest.approx(np.quantile(x, q, method="weibull"), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6) | st.sampled_from([0.0, 1.5, 2.0]), min_size=1,
                max_size=60),
       st.lists(st.floats(0, 1), min_size=1, max_size=5))
def test_quantiles_are_numpy_weibull(values, qs):
    ref = np.quantile(np.array(values), qs, method="weibull")
    np.testing.assert_allclose(quantiles(values, qs), ref, rtol=1e-12, atol=1e-9)


def test_spss_quartiles_example():
    # type 6 on 1..10: Q1 at position 11/4 = 2.75, Q3 at 8.25 (SPSS HAVERAGE, R quantile type=6)
    assert quantiles(np.arange(1, 11), [0.25, 0.5, 0.75]).tolist() == [2.75, 5.5, 8.25]


def test_order_statistics_are_read_lazily():
    asked = []
    x = [10.0, 20.0, 30.0, 40.0]

    def kth(i):
        asked.append(i)
        return x[i]

    assert quantile_from_order_statistics(kth, 4, 0.5) == 25.0
    assert asked == [1, 2]
    asked.clear()
    assert quantile_from_order_statistics(kth, 4, 0.2) == 10.0  # h = 1: the minimum only
    assert asked == [0]


def test_summary_and_missing_values():
    s = summary([3.0, np.nan, 1.0, 2.0, 10.0])
    assert (s.n, s.min, s.max) == (4, 1.0, 10.0)
    assert (s.q1, s.median, s.q3) == tuple(np.quantile([1, 2, 3, 10], [0.25, 0.5, 0.75],
                                                       method="weibull"))
    empty = summary([np.nan])
    assert empty.n == 0 and math.isnan(empty.median)
    assert np.isnan(quantiles([], [0.5])).all()


def test_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        quantile_position(5, 1.5)
    with pytest.raises(ValueError, match="at least one value"):
        quantile_position(0, 0.5)
    with pytest.raises(ValueError, match="one-dimensional"):
        summary([[1, 2], [3, 4]])
