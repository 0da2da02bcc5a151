"""Descriptive statistics: SPSS's quartiles (one rule) and the median / IQR / range summary.

Quantiles follow SPSS's default definition, HAVERAGE, which is Hyndman & Fan's (1996) type 6
and numpy's ``method="weibull"``: the p-quantile of n sorted values sits at the 1-based position
h = (n + 1) p, interpolated linearly between the neighbouring order statistics and clamped to
the smallest / largest value outside [1, n]. :func:`quantile_position` is that rule;
:func:`quantiles` (plain arrays) and :class:`msc_sle.stats.batch.GroupedValues` (histograms and
sorted groups) both read their order statistics through it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import checks

__all__ = ["quantile_position", "quantile_from_order_statistics", "quantiles", "Summary",
           "summary"]


def quantile_position(n: int, q: float) -> tuple[int, float]:
    """Where the type-6 ``q``-quantile of ``n`` sorted values lies.

    Returns ``(index_low, fraction)``: the quantile is ``x[index_low] + fraction *
    (x[index_low + 1] - x[index_low])`` with 0-based order statistics ``x``; ``fraction`` is 0
    when the quantile is an order statistic itself (then ``x[index_low + 1]`` is not needed).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"a quantile needs at least one value, got n={n}")
    q = float(q)
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile level must lie in [0, 1], got {q!r}")
    h = (n + 1) * q
    if h <= 1:
        return 0, 0.0
    if h >= n:
        return n - 1, 0.0
    lo = math.floor(h)
    return lo - 1, h - lo


def quantile_from_order_statistics(get_kth: Callable[[int], float], n: int, q: float) -> float:
    """The type-6 ``q``-quantile of ``n`` values given ``get_kth(i)``, their i-th (0-based) order
    statistic; only the one or two order statistics needed are asked for."""
    i, frac = quantile_position(n, q)
    a = float(get_kth(i))
    if frac == 0.0:
        return a
    b = float(get_kth(i + 1))
    return a + frac * (b - a)


def quantiles(values, qs) -> np.ndarray:
    """Type-6 (SPSS HAVERAGE) quantiles of ``values`` at the levels ``qs``; NaN values are
    missing and left out; all NaN when nothing is left. Returns an array shaped like ``qs``."""
    x = np.sort(checks.sample(values, "values", min_size=0))
    levels = np.asarray(qs, dtype=float)
    if x.size == 0:
        return np.full(levels.shape, np.nan)
    out = [quantile_from_order_statistics(x.__getitem__, x.size, q) for q in levels.ravel()]
    return np.asarray(out, dtype=float).reshape(levels.shape)


@dataclass(frozen=True)
class Summary:
    """``n`` non-missing values, their median, quartiles (type 6) and range (NaN when n = 0)."""
    n: int
    median: float
    q1: float
    q3: float
    min: float
    max: float


def summary(values) -> Summary:
    """Median, first and third quartile (SPSS HAVERAGE, type 6), minimum and maximum of the
    non-missing ``values`` (NaN is missing)."""
    x = checks.sample(values, "values", min_size=0)
    if x.size == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    q1, med, q3 = quantiles(x, [0.25, 0.5, 0.75])
    return Summary(int(x.size), float(med), float(q1), float(q3), float(x.min()), float(x.max()))
