"""The vectorised path: every group of one variable at once, for registry-scale data sets.

:func:`group_values` sorts (or histograms) one numeric variable split by integer group codes in
a single pass: per-group counts, mid-rank sums and the tie term, and sorted access to each group.
When the values lie on a small grid (measurements are recorded at a fixed resolution:
years, 0.1 g, 2.5 mg) ranks, ties, quantiles and Hodges-Lehmann differences all come from one
``bincount`` histogram, so a million rows take about a second; otherwise from one sort.

The tests here read the rank sums instead of the raw values and give the same results as the
simple functions of :mod:`msc_sle.stats.tests` (scipy's ``mannwhitneyu`` and ``kruskal``) and
:mod:`msc_sle.stats.effects` (checked in ``tests/stats/test_stats_batch.py``): Mann-Whitney and
Kruskal-Wallis p from the rank sums with the tie correction, quantiles by the one type-6 rule of
:mod:`msc_sle.stats.descriptive`, Hodges-Lehmann by histogram convolution or k-th
pairwise-difference selection. They exist because ``bench/bench_compare.py`` shows the library
path too slow at 10^6 observations (scipy's tests would put the comparison engine over its 1.6 s
target; the simple Hodges-Lehmann runs out of memory on a million tied values): see the table
"One implementation per statistic" in ``docs/architecture.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from . import checks
from .pairwise import kth_pairwise_differences
from .descriptive import Summary, quantile_from_order_statistics
from .effects import hodges_lehmann_estimate, hodges_lehmann_ranks
from .results import Estimate, TestResult
from .tests import ALL_TIED_NOTE, mann_whitney

__all__ = ["GroupedValues", "group_values", "mann_whitney_grouped", "kruskal_grouped",
           "hodges_lehmann_grouped", "crosstab", "lattice", "kth_pairwise_differences"]

# Histogram convolution for Hodges-Lehmann up to this many grid cells squared.
_CONVOLVE_CELLS = 50_000_000


def lattice(x: np.ndarray):
    """Integers k and a scale s (1, 2, 4, 10 or 100) with x == k / s exactly, when the values lie
    on a grid of at most max(4 len(x), 65536) cells; else None."""
    x = np.asarray(x, dtype=float)
    if x.size == 0 or not np.isfinite(x).all():
        return None
    lo, hi = float(x.min()), float(x.max())
    for s in (1, 2, 4, 10, 100):
        if (hi - lo) * s > max(4 * x.size, 1 << 16):
            return None
        k = np.rint(x * s)
        if np.array_equal(k / s, x):
            return k.astype(np.int64), s
    return None


@dataclass(frozen=True, eq=False)
class GroupedValues:
    """One numeric variable split into ``k`` groups, as built by :func:`group_values`.

    ``n_total[g]``: rows in group g; ``n_valid[g]``: those with a value (not NaN);
    ``rank_sums[g]``: sum of the mid-ranks of group g among all valid values of the k groups;
    ``tie_term``: sum of t^3 - t over the tie groups of those values; ``on_grid``: whether the
    values are held as a histogram on a grid (else as sorted arrays).
    """
    k: int
    n_total: np.ndarray
    n_valid: np.ndarray
    rank_sums: np.ndarray
    tie_term: float
    _hist: np.ndarray | None = field(default=None, repr=False)
    _cum: np.ndarray | None = field(default=None, repr=False)
    _offset: int = field(default=0, repr=False)
    _scale: int = field(default=1, repr=False)
    _arrays: tuple = field(default=(), repr=False)

    @property
    def on_grid(self) -> bool:
        return self._hist is not None

    @property
    def n(self) -> int:
        """Valid values over all groups."""
        return int(self.n_valid.sum())

    def _check(self, g: int) -> int:
        if not 0 <= g < self.k:
            raise IndexError(f"group {g} out of range 0..{self.k - 1}")
        return int(g)

    def order_statistic(self, g: int, i: int) -> float:
        """The i-th (0-based) smallest value of group g."""
        g = self._check(g)
        if not 0 <= i < self.n_valid[g]:
            raise IndexError(f"order statistic {i} out of range for group {g} "
                             f"({int(self.n_valid[g])} values)")
        if self._hist is None:
            return float(self._arrays[g][i])
        return (int(np.searchsorted(self._cum[g], i, side="right")) + self._offset) / self._scale

    def quantile(self, g: int, q: float) -> float:
        """Type-6 (SPSS) q-quantile of group g (NaN for an empty group)."""
        g = self._check(g)
        m = int(self.n_valid[g])
        if m == 0:
            return math.nan
        return quantile_from_order_statistics(lambda i: self.order_statistic(g, i), m, q)

    def summary(self, g: int) -> Summary:
        """n, median, quartiles and range of group g, as :func:`msc_sle.stats.summary`."""
        g = self._check(g)
        m = int(self.n_valid[g])
        if m == 0:
            return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        return Summary(m, self.quantile(g, 0.5), self.quantile(g, 0.25), self.quantile(g, 0.75),
                       self.order_statistic(g, 0), self.order_statistic(g, m - 1))

    def values(self, g: int) -> np.ndarray:
        """The valid values of group g, sorted ascending."""
        g = self._check(g)
        if self._hist is None:
            return self._arrays[g]
        h = self._hist[g]
        return np.repeat((np.arange(h.size) + self._offset) / self._scale, h)


def group_values(values, group_codes, k: int) -> GroupedValues:
    """Split ``values`` (NaN = missing) by ``group_codes`` (0..k-1; -1 = in no group) and rank
    the valid values of the k groups together."""
    x_all = np.asarray(values, dtype=float)
    codes = np.asarray(group_codes)
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be a positive number of groups, got {k}")
    if x_all.ndim != 1 or codes.shape != x_all.shape:
        raise ValueError(f"values and group_codes must be 1-D of one length, got shapes "
                         f"{x_all.shape} and {codes.shape}")
    if codes.size and codes.dtype.kind not in "iu":
        raise ValueError(f"group_codes must be integers, got dtype {codes.dtype}")
    codes = codes.astype(np.int64)
    if codes.size and (codes.min() < -1 or codes.max() >= k):
        raise ValueError(f"group_codes must lie in -1..{k - 1} (-1: in no group)")
    in_group = codes >= 0
    valid = in_group & ~np.isnan(x_all)
    x = x_all[valid]
    gg = codes[valid]
    n_valid = np.bincount(gg, minlength=k)
    n_total = np.bincount(codes[in_group], minlength=k)
    lat = lattice(x)
    if lat is not None:
        ints, scale = lat
        base = int(ints.min())
        off = ints - base
        width = int(off.max()) + 1
        hist = np.bincount(gg * width + off, minlength=k * width).reshape(k, width)
        total = hist.sum(axis=0)
        cum = np.cumsum(total)
        avg_rank = cum - (total - 1) / 2.0          # mid-rank of each grid value
        rank_sums = hist @ avg_rank
        ties = float(np.sum(total.astype(float) ** 3 - total))
        return GroupedValues(k, n_total, n_valid, rank_sums, ties, _hist=hist,
                             _cum=np.cumsum(hist, axis=1), _offset=base, _scale=scale)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    gs = gg[order]
    n = xs.size
    if n:
        cuts = np.flatnonzero(xs[1:] != xs[:-1]) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [n]))
        t = (ends - starts).astype(float)
        ranks = np.repeat((starts + ends + 1) / 2.0, ends - starts)
        rank_sums = np.bincount(gs, weights=ranks, minlength=k)
        ties = float(np.sum(t ** 3 - t))
    else:
        rank_sums = np.zeros(k)
        ties = 0.0
    arrays = tuple(xs[gs == j] for j in range(k))
    for arr in arrays:
        arr.flags.writeable = False   # values(g) hands them out
    return GroupedValues(k, n_total, n_valid, rank_sums, ties, _arrays=arrays)


def _require(gv: GroupedValues, what: str, k: int | None = None):
    if k is not None and gv.k != k:
        raise ValueError(f"{what} compares {k} groups; these values have {gv.k}")
    for g in range(gv.k):
        if gv.n_valid[g] == 0:
            raise ValueError(f"group {g} has 0 non-missing value(s); at least 1 needed")


def _all_tied(gv: GroupedValues) -> bool:
    """Every valid value equal (groups checked non-empty)."""
    lows = [gv.order_statistic(g, 0) for g in range(gv.k)]
    highs = [gv.order_statistic(g, int(gv.n_valid[g]) - 1) for g in range(gv.k)]
    return min(lows) == max(highs)


def mann_whitney_grouped(gv: GroupedValues, *, method: str = "asymptotic",
                         n_resamples: int = 10_000, seed: int | None = None) -> TestResult:
    """:func:`msc_sle.stats.mann_whitney` of group 0 against group 1 (k must be 2).

    The asymptotic p (SPSS) is computed from the rank sums and tie term; the exact and
    permutation p hand the two groups' values to :func:`mann_whitney`.
    """
    _require(gv, "mann_whitney_grouped", 2)
    n1, n2 = int(gv.n_valid[0]), int(gv.n_valid[1])
    if method != "asymptotic":
        return mann_whitney(gv.values(0), gv.values(1), method=method, n_resamples=n_resamples,
                            seed=seed)
    if _all_tied(gv):
        return TestResult("mann_whitney", n1 * n2 / 2.0, math.nan, note=ALL_TIED_NOTE)
    n = n1 + n2
    u1 = float(gv.rank_sums[0] - n1 * (n1 + 1) / 2.0)
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - gv.tie_term / (n * (n - 1))))
    z = (u1 - n1 * n2 / 2.0) / sigma
    p = min(1.0, 2.0 * float(special.ndtr(-abs(z))))
    return TestResult("mann_whitney", u1, p, zstatistic=z)


def kruskal_grouped(gv: GroupedValues) -> TestResult:
    """:func:`msc_sle.stats.kruskal_wallis` of the k >= 2 groups, from the rank sums."""
    if gv.k < 2:
        raise ValueError(f"kruskal_grouped needs at least 2 groups, got {gv.k}")
    _require(gv, "kruskal_grouped")
    df = gv.k - 1
    if _all_tied(gv):
        return TestResult("kruskal", math.nan, math.nan, df=df, note=ALL_TIED_NOTE)
    n = float(gv.n)
    nv = gv.n_valid.astype(float)
    h = 12.0 / (n * (n + 1)) * float(np.sum(gv.rank_sums ** 2 / nv)) - 3.0 * (n + 1)
    h /= 1.0 - gv.tie_term / (n ** 3 - n)
    return TestResult("kruskal", h, float(special.chdtrc(df, h)), df=df)


def hodges_lehmann_grouped(gv: GroupedValues, confidence: float = 0.95) -> Estimate:
    """:func:`msc_sle.stats.hodges_lehmann` of group 0 relative to group 1 (k must be 2): by
    convolving the two histograms on a grid, else by k-th pairwise-difference selection."""
    _require(gv, "hodges_lehmann_grouped", 2)
    conf = checks.confidence(confidence)
    m, n = int(gv.n_valid[0]), int(gv.n_valid[1])
    mn = m * n
    mids, c = hodges_lehmann_ranks(m, n, conf)
    ks = mids + ([c, mn + 1 - c] if c >= 1 else [])
    if gv.on_grid:
        h1, h2 = gv._hist[0], gv._hist[1]
        nz = np.flatnonzero(h1 + h2)
        lo, hi = int(nz[0]), int(nz[-1]) + 1
        h1, h2 = h1[lo:hi], h2[lo:hi]
        width = hi - lo
        if width * width <= _CONVOLVE_CELLS:
            counts = np.convolve(h1, h2[::-1])  # index i <-> difference of i - (width-1) steps
            cum = np.cumsum(counts)
            vals = [(int(np.searchsorted(cum, kk, side="left")) - (width - 1)) / gv._scale
                    for kk in ks]
        else:
            vals = kth_pairwise_differences(gv.values(0), gv.values(1), ks)
    else:
        vals = kth_pairwise_differences(gv._arrays[0], gv._arrays[1], ks)
    return hodges_lehmann_estimate("Hodges-Lehmann shift", vals, mids, c, mn, conf)


def crosstab(group_codes, level_codes, k: int, n_levels: int) -> np.ndarray:
    """The k x n_levels table of counts of (group, level) code pairs; rows where either code is
    -1 (missing / in no group) are left out. One ``bincount``."""
    g = np.asarray(group_codes)
    lv = np.asarray(level_codes)
    k, n_levels = int(k), int(n_levels)
    if k < 1 or n_levels < 1:
        raise ValueError(f"k and n_levels must be positive, got {k} and {n_levels}")
    if g.ndim != 1 or g.shape != lv.shape:
        raise ValueError(f"group_codes and level_codes must be 1-D of one length, got shapes "
                         f"{g.shape} and {lv.shape}")
    if g.size and (g.dtype.kind not in "iu" or lv.dtype.kind not in "iu"):
        raise ValueError("group_codes and level_codes must be integers")
    g = g.astype(np.int64)
    lv = lv.astype(np.int64)
    if g.size and (g.min() < -1 or g.max() >= k):
        raise ValueError(f"group_codes must lie in -1..{k - 1}")
    if lv.size and (lv.min() < -1 or lv.max() >= n_levels):
        raise ValueError(f"level_codes must lie in -1..{n_levels - 1}")
    ok = (g >= 0) & (lv >= 0)
    return np.bincount(g[ok] * n_levels + lv[ok], minlength=k * n_levels).reshape(k, n_levels)
